"""Which ASGI middlewares need to know: has the answer started? After ``http.response.start`` nothing else can be
sent, so an error must propagate instead of being turned into a JSON answer."""

from __future__ import annotations

from starlette.types import Message, Send


class NotingSend:
    """Wraps ``send``; ``started`` turns true once the response has started."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)
