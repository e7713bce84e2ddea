"""Security headers on every HTTP response (HTML and JSON), and what a request says about itself behind proxies.

* ``Content-Security-Policy``: scripts, styles, media and connections from this origin only; no inline script
  (the UI's pages carry their start-up data in a ``<script type="application/json">`` block, which is not run),
  no plugins, no ``<base>``, forms post only here, and ``frame-ancestors 'none'``. The API docs page
  (``/api/v1/docs``, Swagger UI from jsDelivr with an inline start-up script) gets a policy that allows those.
* ``X-Frame-Options: DENY`` (older browsers), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
  ``Cross-Origin-Opener-Policy: same-origin``, a ``Permissions-Policy`` that turns off camera, microphone and
  geolocation;
* ``Strict-Transport-Security`` only on responses to HTTPS requests (directly, or via a trusted proxy).

A header a route set itself is kept. :func:`is_https` and :func:`client_ip` believe ``X-Forwarded-Proto`` and
``X-Forwarded-For`` only when the connection comes from an address in the ``trusted_proxies`` setting.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa_engine.app.settings import Settings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
#: FastAPI's Swagger UI page: its script and styles come from jsDelivr, and it starts with an inline script.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DOCS_PREFIX = "/api/v1/docs"
HSTS = "max-age=31536000"
HEADERS = (("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
           ("Cross-Origin-Opener-Policy", "same-origin"),
           ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"))

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(host: str | None, networks: Sequence[Network]) -> bool:
    address = _address(host) if host and networks else None
    return address is not None and any(address in net for net in networks)


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def scope_is_https(scope: Scope, networks: Sequence[Network]) -> bool:
    """True for a TLS request: the server's own scheme, or ``X-Forwarded-Proto`` from a trusted proxy."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    if not _trusted(_peer(scope), networks):
        return False
    forwarded = Headers(scope=scope).get("x-forwarded-proto", "")
    return forwarded.split(",")[-1].strip().lower() in ("https", "wss")


def scope_client_ip(scope: Scope, networks: Sequence[Network]) -> str | None:
    """The client's address: the peer, or (when the peer is a trusted proxy) the nearest untrusted address in
    ``X-Forwarded-For``, read from the right (the left part is whatever the client wrote)."""
    peer = _peer(scope)
    if not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in Headers(scope=scope).get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if _address(hop) is None:
            return peer  # a malformed chain: fall back to the proxy itself
        if not _trusted(hop, networks):
            return str(_address(hop))
    return str(_address(hops[0])) if hops else peer


def _networks(connection: HTTPConnection) -> Sequence[Network]:
    settings: Settings = connection.app.state.settings
    return settings.trusted_proxy_networks


def is_https(connection: HTTPConnection) -> bool:
    return scope_is_https(connection.scope, _networks(connection))


def client_ip(connection: HTTPConnection) -> str | None:
    return scope_client_ip(connection.scope, _networks(connection))


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response (streamed ones too)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.networks = settings.trusted_proxy_networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope_is_https(scope, self.networks)
        csp = DOCS_CSP if str(scope.get("path", "")).startswith(DOCS_PREFIX) else CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", csp)
                for name, value in HEADERS:
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    """Add the middleware (call it after the other middleware, so it wraps their answers too)."""
    app.add_middleware(SecurityHeaders, settings=app.state.settings)


__all__ = ["CSP", "SecurityHeaders", "client_ip", "install", "is_https", "scope_client_ip", "scope_is_https"]
