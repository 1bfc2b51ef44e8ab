"""The conference pages for staff, and the decisions API (minutes typed afterwards).

- ``GET /staff/conferences``: the next conferences, their agenda state and size, and
  the disciplines nobody covers.
- ``GET /staff/conferences/{id}``: the chair's copy (names: each read audited under
  the signed-in coordinator) with a decision form per case: one decision per need.
- ``POST /staff/conferences/{id}/cases/{case_id}/decisions``: the form's decisions,
  recorded all or nothing (:func:`care_models.conferences.decisions.record_decisions`);
  a refusal names the field and the rule and writes nothing.
- ``POST /staff/api/conferences/{id}/decisions``: the same as JSON for scripts
  (bearer staff token with ``X-Care-Staff``): ``{"case_id": 1, "amend": false,
  "decisions": [{"need_id": 2, "decision": "link_service", "reason": "...",
  "provider_code": "P-NURSING", "service_type": "home_nursing", "cadence": "weekly",
  "amount": 1}]}``; 201 with the decision ids, 422 naming the field.
- ``GET /staff/conferences/{id}/agenda.pdf[?copy=chair]``: the printable agenda, the
  external copy unless the chair's is asked for.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from care_api.app import ApiError, CareState, read_limited_body, state_of
from care_api.staff import SignedIn, page, read_form, same_origin, security_headers
from care_models import vocab
from care_models.conferences.agenda import missing_disciplines
from care_models.conferences.decisions import DecisionInput, record_decisions
from care_models.conferences.documents import (
    build_agenda_document,
    render_agenda_pdf,
)
from care_models.db import transaction
from care_models.errors import NotFoundError, ValidationError
from care_models.rendering.labels import CADENCE_LABELS, DECISION_LABELS, SERVICE_LABELS
from care_models.schema import AgendaItem, Conference, Decision, Organisation, Town
from care_models.tokens import utcnow
from care_models.workdays import seoul_today

router = APIRouter(prefix="/staff", include_in_schema=False)
MAX_JSON_BYTES = 65_536
FORM_DECISIONS = ("approve", "change_plan", "link_service", "refer_tier2", "close_case", "defer")


def _upcoming(care: CareState) -> list[dict[str, Any]]:
    today = seoul_today()
    with care.factory()() as session:
        towns = dict(session.execute(select(Town.id, Town.name)).all())
        rows = session.scalars(
            select(Conference)
            .where(Conference.scheduled_on >= today - dt.timedelta(days=14))
            .order_by(Conference.scheduled_on, Conference.tier, Conference.id)
            .limit(60)
        ).all()
        result = []
        for c in rows:
            items = session.scalars(
                select(AgendaItem.id).where(AgendaItem.conference_id == c.id)
            ).all()
            result.append(
                {
                    "id": c.id,
                    "date": c.scheduled_on.isoformat(),
                    "tier": c.tier,
                    "town": towns.get(c.town_id, "군 전체") if c.town_id else "군 전체",
                    "status": c.status,
                    "agenda": c.agenda_status,
                    "items": len(items),
                    "moved": c.move_reason,
                    "missing": missing_disciplines(session, c.id) if items else [],
                }
            )
        return result


@router.get("/conferences")
async def conference_list(request: Request, staff: SignedIn) -> HTMLResponse:
    rows = await run_in_threadpool(_upcoming, state_of(request))
    return page(
        "conferences.html",
        title="사례회의",
        root="",
        page="conferences",
        staff_code=staff.code,
        rows=rows,
    )


def _chair_page(
    care: CareState,
    conference_id: int,
    staff_code: str,
    error: str | None,
    status: int,
    root: str = "../",  # from the page's URL back to /staff/
) -> HTMLResponse:
    with transaction(care.factory()) as session:
        agenda = build_agenda_document(
            session, conference_id, vault=care.keys(), actor=f"staff:{staff_code}"
        )
        decided = {
            need_id: (decision, reason)
            for need_id, decision, reason in session.execute(
                select(Decision.need_id, Decision.decision, Decision.reason)
                .join(AgendaItem, AgendaItem.id == Decision.agenda_item_id)
                .where(AgendaItem.conference_id == conference_id)
            )
        }
        providers = [
            (o.code, o.name, list(o.services or []))
            for o in session.scalars(
                select(Organisation)
                .where(Organisation.kind == "provider")
                .order_by(Organisation.code)
            )
        ]
    return page(
        "conference.html",
        status=status,
        title=agenda.title,
        root=root,
        page="conferences",
        staff_code=staff_code,
        agenda=agenda,
        decided=decided,
        decisions=[(d, DECISION_LABELS[d]) for d in FORM_DECISIONS],
        decision_labels=DECISION_LABELS,
        providers=providers,
        services=[(s, SERVICE_LABELS.get(s, s)) for s in vocab.SERVICE_TYPES],
        cadences=[(c, CADENCE_LABELS.get(c, c)) for c in vocab.CADENCES],
        error=error,
        message=None,
    )


@router.get("/conferences/{conference_id}")
async def conference_page(conference_id: int, request: Request, staff: SignedIn) -> HTMLResponse:
    try:
        return await run_in_threadpool(
            _chair_page, state_of(request), conference_id, staff.code, None, 200
        )
    except NotFoundError:
        raise ApiError(404, "not-found", "conference", "no such conference") from None


def _form_decisions(form: dict[str, str]) -> tuple[list[DecisionInput], bool]:
    """One decision per need the form filled in; needs left blank stay open."""
    decided = []
    for key, value in form.items():
        if not key.startswith("decision_") or not value:
            continue
        suffix = key.removeprefix("decision_")
        if not suffix.isdigit():
            raise ValidationError("need_id", "must be a number")

        def field(name: str, suffix: str = suffix) -> str | None:
            return form.get(f"{name}_{suffix}") or None

        amount = field("amount")
        if amount is not None and not amount.isdigit():
            raise ValidationError(f"amount_{suffix}", "must be a whole number")
        decided.append(
            DecisionInput(
                need_id=int(suffix),
                decision=value,
                reason=field("reason") or "",
                provider_code=field("provider"),
                service_type=field("service"),
                cadence=field("cadence"),
                amount=int(amount) if amount else None,
            )
        )
    return decided, form.get("amend") == "on"


def _record(
    care: CareState,
    conference_id: int,
    case_id: int,
    decided: list[DecisionInput],
    staff_code: str,
    amend: bool,
) -> list[int]:
    with transaction(care.factory()) as session:
        rows = record_decisions(
            session,
            conference_id,
            case_id,
            decided,
            staff_code=staff_code,
            now=utcnow(),
            amend=amend,
        )
        return [row.id for row in rows]


@router.post("/conferences/{conference_id}/cases/{case_id}/decisions")
async def decide_by_form(
    conference_id: int, case_id: int, request: Request, staff: SignedIn
) -> Response:
    care = state_of(request)
    form = await read_form(request)
    try:
        decided, amend = _form_decisions(form)
        await run_in_threadpool(_record, care, conference_id, case_id, decided, staff.code, amend)
    except (ValidationError, NotFoundError) as error:
        return await run_in_threadpool(
            _chair_page,
            care,
            conference_id,
            staff.code,
            f"사례-{case_id:06d}: {error}",
            422,
            "../../../../",  # answered at .../conferences/{id}/cases/{case}/decisions
        )
    return RedirectResponse(
        f"../../../{conference_id}#case-{case_id}", status_code=303, headers=security_headers()
    )


@router.post("/api/conferences/{conference_id}/decisions")
async def decide_by_api(conference_id: int, request: Request, staff: SignedIn) -> JSONResponse:
    same_origin(request)
    body = await read_limited_body(request, MAX_JSON_BYTES)
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict) or not isinstance(payload.get("decisions"), list):
            raise ValidationError("decisions", "must be a list")
        case_id = payload.get("case_id")
        if not isinstance(case_id, int):
            raise ValidationError("case_id", "must be a number")
        decided = [_api_decision(i, d) for i, d in enumerate(payload["decisions"])]
        ids = await run_in_threadpool(
            _record,
            state_of(request),
            conference_id,
            case_id,
            decided,
            staff.code,
            payload.get("amend") is True,
        )
    except json.JSONDecodeError:
        return JSONResponse(
            {"field": "body", "rule": "must be JSON"}, status_code=400, headers=security_headers()
        )
    except NotFoundError:
        return JSONResponse(
            {"field": "conference_id", "rule": "no such conference"}, status_code=404
        )
    except ValidationError as error:
        return JSONResponse(
            {"field": error.field, "rule": error.rule}, status_code=422, headers=security_headers()
        )
    return JSONResponse({"decision_ids": ids}, status_code=201, headers=security_headers())


def _api_decision(index: int, raw: object) -> DecisionInput:
    if not isinstance(raw, dict):
        raise ValidationError(f"decisions[{index}]", "must be an object")
    allowed = set(DecisionInput.__dataclass_fields__)
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ValidationError(f"decisions[{index}]", "has fields that are not decision fields")
    types = {"need_id": int, "amount": int}
    for name, value in raw.items():
        wanted = types.get(name, str)
        if value is not None and not isinstance(value, wanted):
            raise ValidationError(f"decisions[{index}].{name}", f"must be a {wanted.__name__}")
    if "need_id" not in raw or "decision" not in raw:
        raise ValidationError(f"decisions[{index}]", "needs need_id and decision")
    return DecisionInput(**{"reason": "", **raw})


def _pdf(care: CareState, conference_id: int, staff_code: str, chair: bool) -> bytes:
    with transaction(care.factory()) as session:
        if chair:
            agenda = build_agenda_document(
                session, conference_id, vault=care.keys(), actor=f"staff:{staff_code}"
            )
        else:
            agenda = build_agenda_document(session, conference_id)
    return render_agenda_pdf(agenda)


@router.get("/conferences/{conference_id}/agenda.pdf")
async def agenda_pdf(
    conference_id: int, request: Request, staff: SignedIn, copy: str = "external"
) -> Response:
    if copy not in ("external", "chair"):
        raise ApiError(400, "invalid", "copy", "must be external or chair")
    try:
        pdf = await run_in_threadpool(
            _pdf, state_of(request), conference_id, staff.code, copy == "chair"
        )
    except NotFoundError:
        raise ApiError(404, "not-found", "conference", "no such conference") from None
    name = f"agenda-{conference_id}-{copy}.pdf"
    headers = security_headers() | {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
