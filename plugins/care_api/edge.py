"""What answers around the care API's routes: the catch-all, parameter errors, charsets.

:class:`CatchAll` is the one place that answers an error nobody expected; the others
turn what a client sent wrong into an Issue that names the element, never its value.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from care_models.fhir.bundle import Issue, operation_outcome
from care_models.fhir.limits import ELEMENT_NAME

log = logging.getLogger(__name__)
UNEXPECTED = Issue("exception", "request", "an unexpected error occurred; it has been logged")


def charset_of(content_type: str) -> str | None:
    """The charset parameter of a Content-Type, lower case; None when there is none."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def parameter_issue(error: Any) -> Issue:
    """A request-validation error as an Issue: the parameter's name, never its value."""
    names = [str(p) for p in error.get("loc", ()) if isinstance(p, str)]
    name = names[-1] if names and ELEMENT_NAME.fullmatch(names[-1].lstrip("_")) else "request"
    return Issue("invalid", name, f"is not valid ({error.get('type', 'invalid')})")


class CatchAll:
    """Every unexpected error: an OperationOutcome 500 and one log line, nothing more.

    Outside Starlette's error middleware, so the exception does not travel on to the
    server (which would log its traceback, where a database error quotes parameters).
    The log line names the error's type and the route's template, never the URL or
    the body: both are client input.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except ClientDisconnect:  # the client left mid-request: nobody to answer, no fault
            return
        except Exception as error:  # the one place that answers what nobody expected
            route = getattr(scope.get("route"), "path", "?")
            log.error("unexpected %s answering %s %s", type(error).__name__, scope["method"], route)
            if not started:
                answer = JSONResponse(
                    operation_outcome([UNEXPECTED]),
                    status_code=500,
                    media_type="application/fhir+json",
                )
                await answer(scope, receive, send)
