"""FastAPI app of the care API, built by :func:`create_app`.

Airflow does not protect plugin routes, so this app authenticates on its own: one
bearer token per hospital, stored only as a keyed hash. It also limits request size
and rate. Every error is a FHIR OperationOutcome naming the element and the rule.
Nothing connects to a database until the first request.

The parsing edge (README, "Discharge referrals"): token first, then media type and
size, then strict UTF-8 and bounded JSON (``care_models.fhir.limits``), all in a
bounded validation pool (``care_api.validation``) that answers 503 when full. Task
ids are ASCII digits of bounded length, search parameters are checked, and
``care_api.edge.CatchAll`` answers anything unexpected with one OperationOutcome and one log
line. A changed resubmission is a 409 (why: ``care_models.referrals.store``).

Speed: a valid token is remembered (by its keyed hash, never in clear) for
``TOKEN_CACHE_SECONDS``, or until it expires if sooner, so most requests authenticate
without the database; a revoked token therefore stops working within that time. Each
request makes at most one hop to the thread pool, where its database work runs.

Guessing: failed logins are counted per client address in the shared limit store,
and an address over ``CARE_API_AUTH_FAILURES_PER_MINUTE`` gets a 429 before its token
is looked at (no database work). Behind a proxy the address is the one the server
takes from the proxy's ``X-Forwarded-For`` (uvicorn's ``--forwarded-allow-ips``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, defer, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from care_api.edge import CatchAll, charset_of, parameter_issue
from care_api.headers import SecurityHeaders
from care_api.ratelimit import LimitUnavailable, RateLimiter
from care_api.validation import ValidationPool
from care_api.writer import Store, WriterPerLoop
from care_models.config import Settings, load_settings
from care_models.db import engine_from_settings, session_factory
from care_models.errors import OverloadedError, StorageError
from care_models.fhir.bundle import BundleRejected, InputLimits, Issue, operation_outcome
from care_models.fhir.capability import capability_statement as fhir_capability
from care_models.fhir.capability import searchable
from care_models.fhir.limits import FORBIDDEN
from care_models.privacy import Vault
from care_models.referrals.store import (
    Incoming,
    find_tasks,
    hospital_for_token,
    record_rejection,
    store_referrals,
    task_resource,
    validate_profiled_referral,
    validate_referral,
)
from care_models.schema import Organisation, Referral
from care_models.tokens import utcnow
from care_models.workdays import seoul_today

FHIR_JSON = "application/fhir+json"
TOKEN_CACHE_SECONDS = 60.0
log = logging.getLogger(__name__)
ACCEPTED_TYPES = ("application/fhir+json", "application/json")
# A Task id is a database key: ASCII digits ("²".isdigit() is True), within a BIGINT.
TASK_ID = re.compile(r"[0-9]{1,18}")
COUNT = re.compile(r"[0-9]{1,4}")
RETRY_AFTER_SECONDS = 2
# A referral Bundle is 3 to 8 KiB; up to this size its profile check takes well under a
# millisecond, so it runs on the event loop (larger Bundles go to the validation pool).
ON_LOOP_MAX_BYTES = 64 * 1024


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        expression: str,
        rule: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status, self.headers = status, headers or {}
        self.issue = Issue(code, expression, rule)
        super().__init__(rule)


@dataclass
class CareState:
    """What the routes share; the engine and keys are created on first use."""

    settings: Settings
    engine: Engine | None = None
    vault: Vault | None = None
    limiter: RateLimiter = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _factory: sessionmaker[Session] | None = None
    # Wakes the intake workflow (inside Airflow: an asset event); None when run alone.
    on_referral_received: Callable[[int], None] | None = None
    # token hash -> (hospital, monotonic expiry); valid tokens only, so a new one works at once
    _tokens: dict[str, tuple[Organisation, float]] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic  # of the token cache
    _writers: WriterPerLoop | None = None
    _validation: ValidationPool | None = None

    def validation(self) -> ValidationPool:
        with self._lock:
            if self._validation is None:
                self._validation = ValidationPool(
                    self.settings.api_validation_workers, self.settings.api_validation_queue
                )
            return self._validation

    @property
    def limits(self) -> InputLimits:
        return InputLimits.from_settings(self.settings)

    def cached_hospital(self, token: str) -> Organisation | None:
        """The remembered answer for a token, without the database: for the event loop."""
        if self.vault is None:
            return None
        hit = self._tokens.get(self.vault.token_hash(token))
        return hit[0] if hit is not None and hit[1] > self.clock() else None

    def hospital_for(self, token: str) -> Organisation | None:
        """The hospital of a bearer token, from the database; a valid one is remembered
        for TOKEN_CACHE_SECONDS, or until the token expires if that is sooner."""
        with self.factory()() as session:
            found = hospital_for_token(session, self.keys(), token)
        if found is None:
            return None
        hospital, token_expires = found
        remaining = min(TOKEN_CACHE_SECONDS, (token_expires - utcnow()).total_seconds())
        self._tokens[self.keys().token_hash(token)] = (hospital, self.clock() + remaining)
        return hospital

    def writers(self) -> WriterPerLoop:
        with self._lock:
            if self._writers is None:
                self._writers = WriterPerLoop(self._writer_store)
            return self._writers

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings)

    def factory(self) -> sessionmaker[Session]:
        with self._lock:
            if self._factory is None:
                self.engine = self.engine or engine_from_settings(self.settings)
                self._factory = session_factory(self.engine)
            return self._factory

    def _writer_store(self) -> tuple[Store, bool]:
        """How the writers store, and whether off the loop (not SQLite: see writer.py)."""
        factory = self.factory()  # creates the engine if none was given
        assert self.engine is not None
        return partial(store_referrals, factory, self.keys()), self.engine.dialect.name != "sqlite"

    def keys(self) -> Vault:
        with self._lock:
            if self.vault is None:
                self.vault = Vault.from_settings(self.settings)
            return self.vault


def fhir_response(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def outcome_response(
    status: int, issues: list[Issue], headers: dict[str, str] | None = None
) -> JSONResponse:
    return fhir_response(operation_outcome(issues), status, headers)


def state_of(request: Request) -> CareState:
    care: CareState = request.app.state.care
    return care


bearer_scheme = HTTPBearer(auto_error=False)  # errors are OperationOutcomes, raised here
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    token = credentials.credentials.strip() if credentials is not None else ""
    return token or None


async def authenticated_hospital(request: Request, credentials: Bearer) -> Organisation:
    """The hospital whose bearer token this is; 401 otherwise, 429 when over its rate
    or when its address failed to log in too often (checked before any lookup)."""
    care = state_of(request)
    token = bearer_token(credentials)
    if token is None:
        raise ApiError(
            401,
            "login",
            "Authorization",
            "a bearer token is required",
            {"WWW-Authenticate": "Bearer"},
        )
    address = client_address(request)
    body_bytes = declared_body_bytes(request, care.settings)
    hospital = care.cached_hospital(token)
    if hospital is not None:  # the address's failed logins are checked with the counts
        return _admitted(care, hospital, body_bytes, address)
    refuse_blocked_address(care, address, "Authorization")
    hospital = await run_in_threadpool(care.hospital_for, token)
    if hospital is None:
        count_failed_login(care, address)
    return _admitted(care, hospital, body_bytes)


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def declared_body_bytes(request: Request, settings: Settings) -> int:
    """The body size the request declares (capped: a larger body is a 413 anyway)."""
    declared = request.headers.get("content-length", "")
    if not declared.isascii() or not declared.isdigit():
        return 0
    return min(int(declared), settings.api_max_body_bytes)


def _limit_store_down() -> ApiError:
    log.error("the rate-limit store cannot be reached (CARE_RATE_LIMIT_STORAGE)")
    return ApiError(
        503, "transient", "Authorization", "the service is busy; try again", {"Retry-After": "5"}
    )


def refuse_blocked_address(care: CareState, address: str, expression: str) -> None:
    """429 for an address over its failed logins, before any token is looked up."""
    try:
        if not care.limiter.login_blocked(address):
            return
    except LimitUnavailable:
        raise _limit_store_down() from None
    raise _blocked_address(care, address, expression)


def _blocked_address(care: CareState, address: str, expression: str) -> ApiError:
    try:
        wait = care.limiter.login_retry_after_seconds(address)
    except LimitUnavailable:
        return _limit_store_down()
    return ApiError(
        429,
        "throttled",
        expression,
        f"more than {care.settings.api_auth_failures_per_minute} failed logins a minute "
        "from this address",
        {"Retry-After": str(wait)},
    )


def count_failed_login(care: CareState, address: str) -> None:
    try:
        care.limiter.login_failed(address)
    except LimitUnavailable:
        raise _limit_store_down() from None


def _admitted(
    care: CareState, hospital: Organisation | None, body_bytes: int = 0, address: str | None = None
) -> Organisation:
    """The hospital, counted against its limits; ``address`` checked for failed logins."""
    if hospital is None:
        raise ApiError(
            401,
            "login",
            "Authorization",
            "the bearer token is not valid",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    limiter = care.limiter
    try:
        refused = limiter.admit(hospital.code, body_bytes, address)
        if refused is None:
            return hospital
        if refused is limiter.failures and address is not None:
            raise _blocked_address(care, address, "Authorization")
        wait = str(limiter.retry_after_seconds(refused, hospital.code))
    except LimitUnavailable:
        raise _limit_store_down() from None
    if refused is limiter.bytes:
        rule = f"more than {care.settings.api_bytes_per_minute} bytes a minute"
        raise ApiError(429, "throttled", "Bundle", rule, {"Retry-After": wait})
    rule = f"more than {care.settings.api_rate_per_minute} requests a minute"
    raise ApiError(429, "throttled", "Authorization", rule, {"Retry-After": wait})


def charge_body_bytes(care: CareState, hospital: Organisation, size: int) -> None:
    """Count ``size`` body bytes against the hospital's byte rate; 429 when over it."""
    limiter = care.limiter
    try:
        if limiter.allow_bytes(hospital.code, size):
            return
        wait = limiter.retry_after_seconds(limiter.bytes, hospital.code)
    except LimitUnavailable:
        raise _limit_store_down() from None
    raise ApiError(
        429,
        "throttled",
        "Bundle",
        f"more than {care.settings.api_bytes_per_minute} bytes a minute",
        {"Retry-After": str(wait)},
    )


async def read_limited_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too-costly", "Bundle", f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too-costly", "Bundle", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_instant(value: str, parameter: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "invalid", parameter, "must be a FHIR instant or date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _search_bundle(referrals: list[Referral], base: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(referrals),
        "entry": [
            {
                "fullUrl": f"{base}Task/{r.id}",
                "resource": task_resource(r),
                "search": {"mode": "match"},
            }
            for r in referrals
        ],
    }


Hospital = Annotated[Organisation, Depends(authenticated_hospital)]


def create_app(
    *,
    settings: Settings | None = None,
    engine: Engine | None = None,
    vault: Vault | None = None,
    on_referral_received: Callable[[int], None] | None = None,
) -> FastAPI:
    """Build the care API. Without arguments it uses the environment's configuration."""
    settings = settings or load_settings()
    # Production publishes no interactive documentation or schema: a map of every route
    # and parameter helps nobody but someone probing the API.
    documented = not settings.production
    app = FastAPI(
        title="Care API (지역사회 통합돌봄)",
        version="1.0",
        description="FHIR R4 discharge referrals for partner hospitals.",
        docs_url="/docs" if documented else None,
        redoc_url="/redoc" if documented else None,
        openapi_url="/openapi.json" if documented else None,
    )
    app.state.care = CareState(
        settings,
        engine=engine,
        vault=vault,
        on_referral_received=on_referral_received,
    )
    # The last added is the outermost: the security headers reach CatchAll's 500s too.
    app.add_middleware(CatchAll)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return outcome_response(exc.status, [exc.issue], exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return outcome_response(400, [parameter_issue(error) for error in exc.errors()[:5]])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "processing")
        rule = "no such resource or operation" if exc.status_code == 404 else "not supported"
        headers = dict(exc.headers) if exc.headers else None
        return outcome_response(exc.status_code, [Issue(code, "request", rule)], headers)

    @app.post("/fhir/Bundle")
    async def submit_bundle(request: Request, credentials: Bearer) -> Response:
        # The token first, from the header: nobody without one makes us read a body.
        hospital = await authenticated_hospital(request, credentials)
        care = state_of(request)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in ACCEPTED_TYPES:
            raise ApiError(415, "not-supported", "Content-Type", f"send {FHIR_JSON}")
        charset = charset_of(request.headers.get("content-type", ""))
        if charset not in (None, "utf-8", "utf8"):
            raise ApiError(415, "not-supported", "Content-Type", "the charset must be utf-8")
        body = await read_limited_body(request, care.settings.api_max_body_bytes)
        if "content-length" not in request.headers:  # chunked: counted once read
            charge_body_bytes(care, hospital, len(body))
        return await _submit(care, hospital, body, str(request.base_url))

    @app.get("/fhir/Task/{task_id}")
    async def read_task(task_id: str, request: Request, hospital: Hospital) -> Response:
        # In the loop's thread, like the writer (see care_api.writer: a thread pool costs
        # GIL hand-overs that dwarf a one-row read by primary key).
        referral = _own_referral(state_of(request), hospital, task_id)
        if referral is None:
            raise ApiError(404, "not-found", "Task.id", "no such Task of this hospital")
        return fhir_response(
            task_resource(referral), headers={"ETag": f'W/"{referral.task_version}"'}
        )

    @app.get("/fhir/Task")
    def search_tasks(
        request: Request,
        hospital: Hospital,
        identifier: str | None = None,
        _lastUpdated: str | None = None,
        _count: str | None = None,
    ) -> Response:
        care = state_of(request)
        identifier = _search_text(identifier, "identifier", 2 * care.limits.identifier_chars + 1)
        updated_after = _updated_after(_search_text(_lastUpdated, "_lastUpdated", 40))
        if _count is not None and not COUNT.fullmatch(_count):
            raise ApiError(400, "invalid", "_count", "must be a whole number from 1 to 500")
        limit = max(1, min(int(_count or 100), 500))
        with care.factory()() as session:
            found = find_tasks(
                session, hospital, identifier=identifier, updated_after=updated_after, limit=limit
            )
        return fhir_response(_search_bundle(found, f"{request.base_url}fhir/"))

    @app.get("/fhir/metadata")
    def capability_statement() -> Response:
        return fhir_response(
            fhir_capability(
                [
                    {"type": "Bundle", "interaction": [{"code": "create"}]},
                    searchable("Task", ("identifier", "token"), ("_lastUpdated", "date")),
                ]
            )
        )

    try:
        from care_api.web import router as web_router
    except ImportError:  # the web page is optional for API-only deployments
        pass
    else:
        app.include_router(web_router)
    from care_api.calendar_feed import router as calendar_router  # it imports this module
    from care_api.vendor_push import router as vendor_push_router  # so does this one

    app.include_router(calendar_router)
    app.include_router(vendor_push_router)
    try:  # the staff pages import this module too
        from care_api.conference_pages import router as conference_router
        from care_api.desk import router as desk_router
        from care_api.ops import router as ops_router
        from care_api.pledge_pages import router as pledge_router
        from care_api.staff import SignInRequired, sign_in_response
        from care_api.staff import router as staff_router
    except ImportError:  # templates not shipped: an API-only deployment
        pass
    else:
        app.include_router(staff_router)
        app.include_router(desk_router)
        app.include_router(conference_router)
        app.include_router(pledge_router)
        app.include_router(ops_router)
        app.add_exception_handler(SignInRequired, sign_in_response)  # type: ignore[arg-type]
    return app


def _own_referral(care: CareState, hospital: Organisation, task_id: str) -> Referral | None:
    """The hospital's own referral (its Task), without the stored Bundle; None otherwise."""
    if not TASK_ID.fullmatch(task_id):
        return None
    with care.factory()() as session:
        return session.scalars(
            select(Referral)
            .options(defer(Referral.raw_payload_enc))
            .where(Referral.id == int(task_id), Referral.hospital_id == hospital.id)
        ).one_or_none()


def _search_text(value: str | None, parameter: str, limit: int) -> str | None:
    """A search parameter within its length, without control characters (400 otherwise)."""
    if value is not None and (len(value) > limit or FORBIDDEN.search(value)):
        rule = f"must be at most {limit} characters, without control characters"
        raise ApiError(400, "invalid", parameter, rule)
    return value


def _updated_after(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    if not value.startswith("gt"):
        raise ApiError(400, "not-supported", "_lastUpdated", "only the gt prefix is supported")
    return _parse_instant(value[2:], "_lastUpdated")


async def _submit(care: CareState, hospital: Organisation, body: bytes, base_url: str) -> Response:
    """Validate, then let the process's writer store it with its neighbours.

    A Bundle of a referral's usual size in the referral profile's shape is validated
    here on the loop (a tenth of a millisecond); any other goes to the bounded pool,
    where the fhir.resources models may take their time without holding the loop.
    """
    limits, today = care.limits, seoul_today()
    try:
        record = (
            validate_profiled_referral(hospital, body, today=today, limits=limits)
            if len(body) <= ON_LOOP_MAX_BYTES
            else None
        )
        if record is None:
            record = await care.validation().run(
                partial(validate_referral, hospital, body, today=today, limits=limits)
            )
    except OverloadedError:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        rule = "every validator is busy; send it again shortly"
        return outcome_response(503, [Issue("transient", "Bundle", rule)], headers)
    except BundleRejected as rejected:
        await run_in_threadpool(record_rejection, care.factory(), hospital.code, rejected.issues)
        return outcome_response(rejected.status, rejected.issues)
    try:
        submission = await care.writers().current().submit(Incoming(hospital, body, record))
    except StorageError:
        headers = {"Retry-After": "60"}
        rule = "the referral could not be stored; send it again later"
        return outcome_response(503, [Issue("transient", "Bundle", rule)], headers)
    referral = submission.referral
    if submission.created and care.on_referral_received is not None:
        try:
            await run_in_threadpool(care.on_referral_received, referral.id)
        except Exception:  # the 15-minute schedule picks the referral up anyway
            log.exception("could not signal the intake workflow for Task %s", referral.id)
    location = f"{base_url}fhir/Task/{referral.id}/_history/{referral.task_version}"
    headers = {"Location": location, "ETag": f'W/"{referral.task_version}"'}
    if submission.conflict:
        return _conflict(referral, location)
    return fhir_response(task_resource(referral), submission.status_code, headers)


def _conflict(referral: Referral, location: str) -> JSONResponse:
    """409: the identifier is taken by different content (see care_models.referrals.store).

    An OperationOutcome like every other refusal, carrying the existing Task (contained)
    so the hospital sees what the county holds; Content-Location points at it.
    """
    rule = (
        "a referral with this identifier was received with different content; the change "
        "was not taken: call the county's coordinator or send a Task update"
    )
    outcome = operation_outcome(
        [Issue("conflict", "Bundle.entry.ofType(ServiceRequest).identifier", rule)]
    )
    outcome["contained"] = [task_resource(referral)]
    return fhir_response(outcome, 409, {"Content-Location": location})
