"""A tiny ASGI app for tests of the server itself (``care_api.serve --app``).

It reads the whole request body before it answers, as the care API's submit route
does, and answers with the body's length: a client that sends its body slowly keeps
it waiting, which is what the server's read deadline must cut short.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


async def _body_length(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def body_length_app() -> ASGIApp:
    """The factory ``care_api.serve --app tests.support.asgi:body_length_app`` calls."""
    return _body_length
