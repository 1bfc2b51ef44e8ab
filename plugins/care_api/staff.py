"""Staff sign-in for the care API's staff pages (the town desk, the conference chair).

Airflow does not protect plugin routes, so the staff pages check their own:

- A coordinator signs in at ``/staff/login`` with their staff code and their staff
  token (``python -m care_models token issue --staff CODE``: the same tokens as the
  calendar feed). The token is checked against its keyed hash on every request, so a
  revoked token stops at once.
- The browser keeps ``<code>.<token>`` in an HttpOnly, ``SameSite=Strict`` cookie
  scoped to the staff pages (``Secure`` over HTTPS), for one working day; JavaScript
  never sees it, and another site's form never sends it.
- Scripts and spreadsheets send ``Authorization: Bearer <token>`` with
  ``X-Care-Staff: <code>`` instead.
- A form POST must come from this origin (``Origin``, when the browser sends it) as
  well: a second fence against cross-site requests.
- Failed sign-ins count against the address like failed hospital logins (429 when
  over), and nothing tells whether the code or the token was wrong.

The pages are server-rendered Korean HTML with no script, under a strict
Content-Security-Policy, and hold no personal data unless a page says it reads it
(and audits the read).
"""

from __future__ import annotations

import secrets
import urllib.parse
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool

from care_api.app import (
    ApiError,
    CareState,
    client_address,
    count_failed_login,
    outcome_response,
    read_limited_body,
    refuse_blocked_address,
    state_of,
)
from care_api.web import TEMPLATES_DIR, _security_headers
from care_models.fhir.bundle import Issue
from care_models.schema import Staff
from care_models.tokens import staff_for_token

COOKIE = "care_staff"
COOKIE_SECONDS = 10 * 3600  # one working day
STAFF_HEADER = "X-Care-Staff"
MAX_FORM_BYTES = 16_384
STAFF_CSP = (
    "default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

router = APIRouter(prefix="/staff", include_in_schema=False)


class SignInRequired(Exception):
    """No valid staff credentials: pages send the browser to the sign-in page."""

    def __init__(self, wants_html: bool) -> None:
        self.wants_html = wants_html
        super().__init__("staff sign-in required")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def security_headers(nonce: str | None = None) -> dict[str, str]:
    return _security_headers(nonce, STAFF_CSP)


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A staff page; ``context`` needs ``title`` and ``root`` (the path back to /staff/)."""
    nonce = secrets.token_urlsafe(16)
    html = environment().get_template(template).render(nonce=nonce, **context)
    return HTMLResponse(html, status_code=status, headers=security_headers(nonce))


def _credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return request.headers.get(STAFF_HEADER, "").strip(), header[7:].strip()
    code, _, token = request.cookies.get(COOKIE, "").partition(".")
    return code, token


def _check(care: CareState, code: str, token: str) -> Staff | None:
    with care.factory()() as session:
        staff = staff_for_token(session, care.keys(), code, token)
        if staff is not None:
            session.expunge(staff)
        return staff


async def signed_in_staff(request: Request) -> Staff:
    """The signed-in coordinator; SignInRequired otherwise (429 when the address is over)."""
    care = state_of(request)
    code, token = _credentials(request)
    wants_html = "authorization" not in request.headers
    if not code or not token:
        raise SignInRequired(wants_html)
    address = client_address(request)
    refuse_blocked_address(care, address, "token")
    staff = await run_in_threadpool(_check, care, code, token)
    if staff is None:
        count_failed_login(care, address)
        raise SignInRequired(wants_html)
    return staff


SignedIn = Annotated[Staff, Depends(signed_in_staff)]


def same_origin(request: Request) -> None:
    """Refuse a form POST from another site (403).

    Browsers say where a request comes from in ``Sec-Fetch-Site``; the pages' own
    ``Referrer-Policy: no-referrer`` makes them send ``Origin: null``, so ``Origin``
    decides only for a browser without Fetch Metadata."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site in ("same-origin", "none"):
            return
        raise ApiError(
            403, "forbidden", "Sec-Fetch-Site", "a staff form must be sent from this site"
        )
    origin = request.headers.get("origin")
    if origin is None:  # not a browser, or an old one: the SameSite cookie still holds
        return
    # the host only: behind the TLS proxy the scheme seen here is not the browser's
    if urllib.parse.urlsplit(origin).netloc != request.headers.get("host", ""):
        raise ApiError(403, "forbidden", "Origin", "a staff form must be sent from this site")


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded form, within :data:`MAX_FORM_BYTES`; the last value of each field."""
    same_origin(request)
    body = await read_limited_body(request, MAX_FORM_BYTES)
    try:
        pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise ApiError(400, "invalid", "form", "the form must be UTF-8") from None
    return {key: value for key, value in pairs}


def _cookie_path(request: Request) -> str:
    return f"{request.scope.get('root_path', '').rstrip('/')}/staff"


def _login_page(error: bool = False, status: int = 200) -> HTMLResponse:
    return page("staff_login.html", status=status, title="직원 로그인", root="", error=error)


@router.get("/login")
def login_form() -> HTMLResponse:
    return _login_page()


@router.post("/login")
async def login(request: Request) -> Response:
    care = state_of(request)
    form = await read_form(request)
    code, token = form.get("staff_code", "").strip(), form.get("token", "").strip()
    address = client_address(request)
    refuse_blocked_address(care, address, "token")
    staff = await run_in_threadpool(_check, care, code, token) if code and token else None
    if staff is None:
        count_failed_login(care, address)
        return _login_page(error=True, status=401)
    response = RedirectResponse("incidents", status_code=303, headers=security_headers())
    response.set_cookie(
        COOKIE,
        f"{staff.code}.{token}",
        max_age=COOKIE_SECONDS,
        path=_cookie_path(request),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    same_origin(request)
    response = RedirectResponse("login", status_code=303, headers=security_headers())
    response.delete_cookie(COOKIE, path=_cookie_path(request), httponly=True, samesite="strict")
    return response


def sign_in_response(request: Request, exc: SignInRequired) -> Response:
    """Pages go to the sign-in page; scripts get a 401."""
    if exc.wants_html and request.method == "GET":
        login_url = f"{request.scope.get('root_path', '').rstrip('/')}/staff/login"
        return RedirectResponse(login_url, status_code=303, headers=security_headers())
    issue = Issue("login", "token", "staff sign-in required: a staff code and a live staff token")
    return outcome_response(401, [issue], {"WWW-Authenticate": "Bearer"})
