"""FastAPI app of the care API, built by :func:`create_app`.

Airflow does not protect plugin routes, so this app authenticates on its own: one
bearer token per hospital, stored only as a keyed hash. It also limits request size
and rate. Every error is a FHIR OperationOutcome naming the element and the rule.
Nothing connects to a database until the first request.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from care_api.ratelimit import RateLimiter
from care_models.config import Settings, load_settings
from care_models.db import engine_from_settings, session_factory
from care_models.fhir import BundleRejected, Issue, operation_outcome
from care_models.privacy import Vault
from care_models.referrals import (
    find_tasks,
    hospital_for_token,
    record_rejection,
    submit_referral,
    task_resource,
)
from care_models.schema import Organisation, Referral
from care_models.workdays import seoul_today

FHIR_JSON = "application/fhir+json"
log = logging.getLogger(__name__)
ACCEPTED_TYPES = ("application/fhir+json", "application/json")


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

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.api_rate_per_minute)

    def factory(self) -> sessionmaker[Session]:
        with self._lock:
            if self._factory is None:
                self.engine = self.engine or engine_from_settings(self.settings)
                self._factory = session_factory(self.engine)
            return self._factory

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


def authenticated_hospital(request: Request) -> Organisation:
    """The hospital whose bearer token this is; 401 otherwise, 429 when over its rate."""
    care = state_of(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "login",
            "Authorization",
            "a bearer token is required",
            {"WWW-Authenticate": "Bearer"},
        )
    with care.factory()() as session:
        hospital = hospital_for_token(session, care.keys(), token.strip())
    if hospital is None:
        raise ApiError(
            401,
            "login",
            "Authorization",
            "the bearer token is not valid",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if not care.limiter.allow(hospital.code):
        raise ApiError(
            429,
            "throttled",
            "Authorization",
            f"more than {care.settings.api_rate_per_minute} requests a minute",
            {"Retry-After": str(care.limiter.retry_after_seconds())},
        )
    return hospital


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
    app = FastAPI(
        title="Care API (지역사회 통합돌봄)",
        version="1.0",
        description="FHIR R4 discharge referrals for partner hospitals.",
    )
    app.state.care = CareState(
        settings or load_settings(),
        engine=engine,
        vault=vault,
        on_referral_received=on_referral_received,
    )

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return outcome_response(exc.status, [exc.issue], exc.headers)

    @app.post("/fhir/Bundle")
    async def submit_bundle(request: Request) -> Response:
        care = state_of(request)
        body = await read_limited_body(request, care.settings.api_max_body_bytes)
        hospital = await run_in_threadpool(authenticated_hospital, request)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in ACCEPTED_TYPES:
            raise ApiError(
                415,
                "not-supported",
                "Content-Type",
                f"send {FHIR_JSON}, not {media_type or 'nothing'}",
            )
        return await run_in_threadpool(_submit, care, hospital, body, str(request.base_url))

    @app.get("/fhir/Task/{task_id}")
    def read_task(task_id: str, request: Request, hospital: Hospital) -> Response:
        care = state_of(request)
        with care.factory()() as session:
            referral = session.get(Referral, int(task_id)) if task_id.isdigit() else None
        if referral is None or referral.hospital_id != hospital.id:
            raise ApiError(404, "not-found", "Task.id", f"Task/{task_id} is not known")
        return fhir_response(
            task_resource(referral), headers={"ETag": f'W/"{referral.task_version}"'}
        )

    @app.get("/fhir/Task")
    def search_tasks(
        request: Request,
        hospital: Hospital,
        identifier: str | None = None,
        _lastUpdated: str | None = None,
        _count: int = 100,
    ) -> Response:
        updated_after = None
        if _lastUpdated:
            if not _lastUpdated.startswith("gt"):
                raise ApiError(
                    400, "not-supported", "_lastUpdated", "only the gt prefix is supported"
                )
            updated_after = _parse_instant(_lastUpdated[2:], "_lastUpdated")
        care = state_of(request)
        with care.factory()() as session:
            found = find_tasks(
                session,
                hospital,
                identifier=identifier,
                updated_after=updated_after,
                limit=max(1, min(_count, 500)),
            )
        return fhir_response(_search_bundle(found, f"{request.base_url}fhir/"))

    @app.get("/fhir/metadata")
    def capability_statement() -> Response:
        return fhir_response(
            {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "kind": "instance",
                "fhirVersion": "4.0.1",
                "format": ["json"],
                "rest": [
                    {
                        "mode": "server",
                        "resource": [
                            {"type": "Bundle", "interaction": [{"code": "create"}]},
                            {
                                "type": "Task",
                                "interaction": [{"code": "read"}, {"code": "search-type"}],
                                "searchParam": [
                                    {"name": "identifier", "type": "token"},
                                    {"name": "_lastUpdated", "type": "date"},
                                ],
                            },
                        ],
                    }
                ],
            }
        )

    @app.get("/feeds/visits/{staff_code}.ics", include_in_schema=False)
    def visit_calendar(staff_code: str, request: Request, token: str = "") -> Response:
        """A coordinator's own visits as an iCalendar feed (calendar apps send no headers,
        so the token may come as ``?token=``); other coordinators' feeds are refused."""
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        secret = bearer.strip() if scheme.lower() == "bearer" else token
        care = state_of(request)
        body = _calendar(care, staff_code, secret)
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"Cache-Control": "private, no-store"},
        )

    try:
        from care_api.web import router as web_router
    except ImportError:  # the web page is optional for API-only deployments
        pass
    else:
        app.include_router(web_router)
    return app


def _calendar(care: CareState, staff_code: str, secret: str) -> bytes:
    from sqlalchemy import select

    from care_models.schema import Staff, Visit
    from care_models.visits.publish import ics_feed

    vault = care.keys()
    with care.factory()() as session, session.begin():
        staff = session.scalars(
            select(Staff).where(Staff.code == staff_code, Staff.active.is_(True))
        ).one_or_none()
        if staff is None or not secret or staff.feed_token_hash != vault.token_hash(secret):
            raise ApiError(
                401,
                "login",
                "token",
                "the calendar token is not valid",
                {"WWW-Authenticate": "Bearer"},
            )
        since = seoul_today() - dt.timedelta(days=7)
        visits = list(
            session.scalars(
                select(Visit).where(
                    Visit.staff_id == staff.id,
                    Visit.visit_date >= since,
                    Visit.status.in_(("planned", "booked")),
                )
            )
        )
        return ics_feed(
            session,
            vault,
            staff_code,
            visits,
            actor=staff_code,
            purpose=f"calendar feed for {staff_code}",
        )


def _submit(care: CareState, hospital: Organisation, body: bytes, base_url: str) -> Response:
    factory, vault = care.factory(), care.keys()
    try:
        submission = submit_referral(factory, vault, hospital, body, today=seoul_today())
    except BundleRejected as rejected:
        record_rejection(factory, hospital.code, rejected.issues)
        return outcome_response(rejected.status, rejected.issues)
    referral = submission.referral
    if submission.created and care.on_referral_received is not None:
        try:
            care.on_referral_received(referral.id)
        except Exception:  # the 15-minute schedule picks the referral up anyway
            log.exception("could not signal the intake workflow for Task %s", referral.id)
    headers = {
        "Location": f"{base_url}fhir/Task/{referral.id}/_history/{referral.task_version}",
        "ETag": f'W/"{referral.task_version}"',
    }
    return fhir_response(task_resource(referral), submission.status_code, headers)
