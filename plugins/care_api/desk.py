"""The town desk's pages: open device-alert incidents, their next step, what was found.

- ``GET /staff/incidents[?town=CODE]``: open incidents per town (critical first), the
  next due step and whether it is overdue, with a form to record what a step found.
- ``GET /staff/incidents.csv[?town=CODE]``: the same list for Excel.
- ``POST /staff/incidents/{id}/outcome``: record a step's outcome as the signed-in
  coordinator (:func:`care_models.alerts.protocol.record_step_outcome`); a refused
  outcome names the field and writes nothing.
- ``GET /staff/incidents/{id}/police-report`` (``.pdf``): the printable missing-person
  report; each read is audited under the coordinator's code.

The list holds case codes, towns, kinds and times only; the police report is the one
page with a name and an address.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from care_api.app import ApiError, CareState, state_of
from care_api.staff import SignedIn, page, read_form, security_headers
from care_models.alerts import desk, police, protocol
from care_models.db import transaction
from care_models.errors import CareError, NotFoundError, ValidationError
from care_models.rendering.labels import (
    ALERT_KIND_LABELS,
    ESCALATION_STEP_LABELS,
    STEP_OUTCOME_LABELS,
)
from care_models.schema import Town
from care_models.tokens import utcnow

router = APIRouter(prefix="/staff", include_in_schema=False)


def _towns(care: CareState) -> list[tuple[str, str]]:
    with care.factory()() as session:
        rows = session.execute(select(Town.code, Town.name).order_by(Town.code))
        return [(code, name) for code, name in rows]


def _town(care: CareState, town: str | None) -> str | None:
    if not town:
        return None
    if town not in {code for code, _ in _towns(care)}:
        raise ApiError(400, "invalid", "town", "is not a town of the county")
    return town


def _incidents(care: CareState, town: str | None) -> list[desk.OpenIncident]:
    with care.factory()() as session:
        return desk.open_incidents(session, town, now=utcnow())


def _list_page(
    care: CareState,
    staff_code: str,
    town: str | None,
    *,
    message: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    rows = _incidents(care, town)
    per_town: dict[str, int] = {}
    for row in rows:
        per_town[row.town] = per_town.get(row.town, 0) + 1
    return page(
        "desk_incidents.html",
        status=status,
        title="안부 확인 사건",
        root="",
        page="incidents",
        staff_code=staff_code,
        rows=rows,
        towns=_towns(care),
        town=town or "",
        per_town=sorted(per_town.items()),
        query=urllib.parse.urlencode({"town": town}) if town else "",
        kinds=ALERT_KIND_LABELS,
        steps=ESCALATION_STEP_LABELS,
        outcomes=protocol.STEP_OUTCOMES,
        outcome_labels=STEP_OUTCOME_LABELS,
        message=message,
        error=error,
    )


@router.get("/incidents")
async def incident_list(request: Request, staff: SignedIn, town: str | None = None) -> Response:
    care = state_of(request)
    chosen = _town(care, town)
    done = request.query_params.get("recorded")
    message = f"사건 {done}: 기록했습니다." if done and done.isdigit() else None
    return await run_in_threadpool(_list_page, care, staff.code, chosen, message=message)


@router.get("/incidents.csv")
async def incident_csv(request: Request, staff: SignedIn, town: str | None = None) -> Response:
    care = state_of(request)
    chosen = _town(care, town)
    rows = await run_in_threadpool(_incidents, care, chosen)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    name = f"incidents-{chosen or 'all'}-{stamp}.csv"
    headers = security_headers() | {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(desk.incidents_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)


def _record(care: CareState, incident_id: int, step: str, outcome: str, staff_code: str) -> None:
    with transaction(care.factory()) as session:
        protocol.record_step_outcome(session, incident_id, step, outcome, staff_code, utcnow())


@router.post("/incidents/{incident_id}/outcome")
async def record_outcome(incident_id: int, request: Request, staff: SignedIn) -> Response:
    care = state_of(request)
    form = await read_form(request)
    town = form.get("town") or None
    try:
        await run_in_threadpool(
            _record, care, incident_id, form.get("step", ""), form.get("outcome", ""), staff.code
        )
    except (ValidationError, NotFoundError) as error:
        # the rule, never the value; nothing was written (one transaction)
        return await run_in_threadpool(
            _list_page, care, staff.code, _town(care, town), error=str(error), status=422
        )
    query = urllib.parse.urlencode({"recorded": incident_id} | ({"town": town} if town else {}))
    return RedirectResponse(f"../../incidents?{query}", status_code=303, headers=security_headers())


def _report(care: CareState, incident_id: int, staff_code: str) -> police.PoliceReport:
    with transaction(care.factory()) as session:
        return police.build_police_report(
            session, care.keys(), incident_id, actor=f"staff:{staff_code}", now=utcnow()
        )


async def _police_report(
    request: Request, incident_id: int, staff_code: str
) -> police.PoliceReport:
    try:
        return await run_in_threadpool(_report, state_of(request), incident_id, staff_code)
    except NotFoundError:
        raise ApiError(404, "not-found", "incident", "no such incident") from None
    except CareError as error:
        raise ApiError(409, "business-rule", "incident", str(error)) from None


@router.get("/incidents/{incident_id}/police-report")
async def police_report_html(incident_id: int, request: Request, staff: SignedIn) -> Response:
    report = await _police_report(request, incident_id, staff.code)
    html = police.render_police_report_html(report)
    return HTMLResponse(html, headers=security_headers() | {"Content-Security-Policy": _PRINT_CSP})


@router.get("/incidents/{incident_id}/police-report.pdf")
async def police_report_pdf(incident_id: int, request: Request, staff: SignedIn) -> Response:
    report = await _police_report(request, incident_id, staff.code)
    pdf = await run_in_threadpool(police.render_police_report_pdf, report)
    name = f"police-report-{incident_id}.pdf"
    headers = security_headers() | {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


# The printable report carries its own inline style and nothing else.
_PRINT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
)
