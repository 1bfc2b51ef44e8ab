"""The pledge page for staff: the year's figures, and what only people can enter.

- ``GET /staff/pledges[?year=Y]``: each program's indicators with target, actual,
  achievement and source, and the set's 완료율 and 목표달성도;
- ``POST /staff/pledges/actuals``: a reported actual (program, indicator, period,
  value, evidence), entered under the signed-in coordinator's code;
- ``POST /staff/pledges/executions``: a budget line's execution.

Both go through the pledge gate (:mod:`care_models.pledges.actuals`): a refusal
names the field and the rule, never the value, and writes nothing.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from care_api.app import CareState, state_of
from care_api.staff import SignedIn, page, read_form, security_headers
from care_models.db import transaction
from care_models.errors import NotFoundError, ValidationError
from care_models.pledges.actuals import record_execution, report_actual
from care_models.pledges.documents import SOURCE_LABELS, num, pct
from care_models.pledges.report import pledge_report
from care_models.workdays import seoul_today

router = APIRouter(prefix="/staff", include_in_schema=False)


def _page(
    care: CareState,
    staff_code: str,
    year: int,
    *,
    error: str | None = None,
    message: str | None = None,
    status: int = 200,
    root: str = "",  # from the page's URL back to /staff/
) -> HTMLResponse:
    with care.factory()() as session:
        report = pledge_report(session, year)
    return page(
        "pledges.html",
        status=status,
        title="공약 이행",
        root=root,
        page="pledges",
        staff_code=staff_code,
        year=year,
        report=report,
        num=num,
        pct=pct,
        sources=list(SOURCE_LABELS.items()),
        error=error,
        message=message,
    )


@router.get("/pledges")
async def pledge_page(request: Request, staff: SignedIn, year: int | None = None) -> HTMLResponse:
    chosen = year or seoul_today().year
    done = request.query_params.get("recorded")
    message = "기록했습니다." if done == "1" else None
    return await run_in_threadpool(_page, state_of(request), staff.code, chosen, message=message)


def _decimal(text: str, field: str) -> Decimal:
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise ValidationError(field, "must be a number") from None


def _actual(care: CareState, form: dict[str, str], staff_code: str) -> None:
    with transaction(care.factory()) as session:
        report_actual(
            session,
            form.get("program", ""),
            form.get("indicator", ""),
            form.get("period", ""),
            _decimal(form.get("value", ""), "value"),
            entered_by=f"staff:{staff_code}",
            evidence=form.get("evidence", ""),
        )


def _execution(care: CareState, form: dict[str, str], _staff_code: str) -> None:
    with transaction(care.factory()) as session:
        record_execution(
            session,
            form.get("program", ""),
            form.get("source", ""),
            form.get("period", ""),
            _decimal(form.get("amount", ""), "amount"),
        )


async def _record(request: Request, staff_code: str, action: object) -> Response:
    care = state_of(request)
    form = await read_form(request)
    try:
        await run_in_threadpool(action, care, form, staff_code)  # type: ignore[arg-type]
    except (ValidationError, NotFoundError) as error:
        return await run_in_threadpool(
            _page, care, staff_code, seoul_today().year, error=str(error), status=422, root="../"
        )
    return RedirectResponse("../pledges?recorded=1", status_code=303, headers=security_headers())


@router.post("/pledges/actuals")
async def enter_actual(request: Request, staff: SignedIn) -> Response:
    return await _record(request, staff.code, _actual)


@router.post("/pledges/executions")
async def enter_execution(request: Request, staff: SignedIn) -> Response:
    return await _record(request, staff.code, _execution)
