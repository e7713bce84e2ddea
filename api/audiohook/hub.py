"""The process-wide live state: live calls, the shared live transcriber and the feed subscribers.

Created on first use (``get_hub(app)``) so that a service nobody taps pays nothing. Events come from
the WebSocket loop and from the transcriber's thread; :meth:`LiveHub.publish` hands each one to the
subscribers' asyncio queues thread-safely. A subscriber's queue is bounded: a slow reader loses its
oldest events (and is told how many), never the service's memory.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from qa_engine.live import LiveTranscriber

logger = logging.getLogger(__name__)
FEED_QUEUE = 1000


@dataclass
class LiveCallInfo:
    """What the feed shows about a live call (and who may see it)."""

    session_id: str
    conversation_id: str
    agent: str
    team: str | None
    language: str
    started_at: float = field(default_factory=time.time)
    state: str = "active"
    call_pk: str | None = None  # the stored call, once finalised
    transcript: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "conversation_id": self.conversation_id, "agent": self.agent,
                "team": self.team, "language": self.language, "state": self.state, "call_id": self.call_pk,
                "started_at": self.started_at, "transcript": self.transcript[-50:], "alerts": self.alerts}


Visible = Callable[[LiveCallInfo], bool]
#: Sends a server-initiated ``pause`` or ``resume`` on a live session; False when the session is not open.
Control = Callable[[str], bool]


@dataclass
class Subscriber:
    queue: asyncio.Queue[dict[str, Any]]
    loop: asyncio.AbstractEventLoop
    visible: Visible
    dropped: int = 0


class LiveHub:
    """Live calls by session id, the transcriber, and the feed's subscribers."""

    def __init__(self, transcriber: LiveTranscriber) -> None:
        self.transcriber = transcriber
        self.calls: dict[str, LiveCallInfo] = {}
        self.controls: dict[str, Control] = {}  # by session id; called on the event loop only
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def visible_calls(self, visible: Visible) -> list[LiveCallInfo]:
        with self._lock:
            return [c for c in self.calls.values() if visible(c)]

    def subscribe(self, visible: Visible) -> Subscriber:
        sub = Subscriber(asyncio.Queue(FEED_QUEUE), asyncio.get_running_loop(), visible)
        with self._lock:
            self._subscribers.append(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            if sub in self._subscribers:
                self._subscribers.remove(sub)

    def add(self, info: LiveCallInfo) -> None:
        with self._lock:
            self.calls[info.session_id] = info
        self.publish(info, {"type": "call_started", "call": info.session_id, "info": info.summary()})

    def remove(self, session_id: str) -> None:
        with self._lock:
            self.calls.pop(session_id, None)

    def publish(self, info: LiveCallInfo, event: dict[str, Any]) -> None:
        """Record ``event`` on the call and send it to every subscriber who may see the call (any thread)."""
        with self._lock:
            if event["type"] == "transcript":
                info.transcript.append(event["utterance"])
                del info.transcript[:-500]
            elif event["type"] == "alert":
                info.alerts.append(event["alert"])
            subscribers = [s for s in self._subscribers if s.visible(info)]
        for sub in subscribers:
            try:
                sub.loop.call_soon_threadsafe(_offer, sub, event)
            except RuntimeError:  # the subscriber's loop is gone
                self.unsubscribe(sub)


def _offer(sub: Subscriber, event: dict[str, Any]) -> None:
    if sub.queue.full():
        sub.queue.get_nowait()
        sub.dropped += 1
    sub.queue.put_nowait(event)


_hub_lock = threading.Lock()


def get_hub(app: FastAPI) -> LiveHub:
    """The app's hub, built on first use; live ASR uses the service's (shared, lazily loaded) speech model.

    The stored call is scored later by the worker with the full pipeline (word timestamps included).
    """
    with _hub_lock:
        hub: LiveHub | None = getattr(app.state, "live_hub", None)
        if hub is None:
            pipelines = app.state.pipelines
            # Live transcripts need utterance times, not word times: skipping Whisper's word alignment saves
            # time. Greedy decoding only, except a failed long utterance's second chance when the transcriber
            # is idle (temperature fallback takes seconds); the final scoring at close decodes everything again.
            hub = LiveHub(LiveTranscriber(
                lambda: pipelines.get().recognizer.with_options(word_timestamps=False, fallback=False),
                second_chance=lambda: pipelines.get().recognizer.with_options(word_timestamps=False)))
            app.state.live_hub = hub
        return hub
