"""Security headers on every care API response, as a pure ASGI middleware.

A response that set a header itself keeps it (the calendar's ``private, no-store``,
the web page's nonce Content-Security-Policy, its script's ``no-cache``); every other
response gets the defaults below. The restrictive policy goes on everything but HTML:
the web page brings its own, and development's interactive documentation needs
scripts. HSTS belongs to the TLS proxy (``deploy/nginx/nginx.conf``): only it knows
the connection is HTTPS. Pure ASGI rather than ``BaseHTTPMiddleware``, which would
cost every request an extra task and queue.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULTS = (
    # Personal data must not stay in a browser's or an intermediary's cache.
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_defaults(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_defaults(headers: MutableHeaders) -> None:
    for name, value in DEFAULTS:
        headers.setdefault(name, value)
    if not headers.get("content-type", "").startswith("text/html"):
        headers.setdefault("content-security-policy", API_POLICY)
