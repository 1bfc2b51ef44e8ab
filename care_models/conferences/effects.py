"""What decisions change once the conference is over, applied once each.

:func:`apply_effects` takes every recorded decision not yet applied, of conferences
held on or before ``today``, and:

- ``approve``: the case's plan becomes active (a draft is activated; a case without
  one gets a new version), its review six months on;
- ``link_service`` (and ``change_plan`` with a service): the active plan gets the
  service with its provider, cadence and amount, from ``today``; the case becomes
  ``service_linked``. An amended decision updates the service it made;
- ``close_case``: the case and its plan close; the client moves to the after-care
  tier (risk tier ``closed``: a visit every six months, as the planner's demand
  rules give it), unless another case of theirs is still open;
- ``refer_tier2``: the case goes on the next tier-2 agenda (now, as a late item,
  when that agenda is already frozen; otherwise its next build lists it);
- ``defer``: nothing (the need stays open and comes back).

Before anything is applied, a gate checks the decisions waiting
(:func:`effect_problems`): a linkage complete with provider, service and cadence,
each decision with its reason and recorder, and no case both closed and given a
service or a tier-2 referral; a problem stops the step with the records named and
nothing applied.

Then each referral of an affected case tells its hospital (a new Task version, sent
by ``hospital_callbacks``): ``in-progress`` with businessStatus "plan approved" once
a plan is approved or a service linked, "services started" once a visit of a linked
service is done, ``completed`` when the case closes. The result says whether care
plans changed (the planner's Asset) and whether Task versions were added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from care_models.conferences.agenda import add_late_item
from care_models.errors import ValidationError
from care_models.referrals.store import set_status
from care_models.schema import (
    AgendaItem,
    CarePlan,
    Case,
    Client,
    Conference,
    Decision,
    PlannedService,
    Referral,
    Visit,
)
from care_models.visits.model import SKILLS_BY_SERVICE

REVIEW_AFTER = dt.timedelta(days=180)
PLAN_APPROVED = "plan approved"
SERVICES_STARTED = "services started"
SERVICE_MINUTES = 45


@dataclass
class EffectsResult:
    applied: int = 0
    plans_activated: int = 0
    services_linked: int = 0
    cases_closed: int = 0
    referred_tier2: int = 0
    tasks: dict[str, int] = field(default_factory=dict)  # business status -> Tasks moved

    @property
    def care_plans_changed(self) -> bool:
        return bool(self.plans_activated or self.services_linked or self.cases_closed)

    @property
    def task_versions(self) -> int:
        return sum(self.tasks.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "decisions_applied": self.applied,
            "plans_activated": self.plans_activated,
            "services_linked": self.services_linked,
            "cases_closed": self.cases_closed,
            "referred_tier2": self.referred_tier2,
            "task_moves": dict(sorted(self.tasks.items())),
            "care_plans_changed": self.care_plans_changed,
            "task_versions": self.task_versions,
        }


def _active_plan(session: Session, case: Case, today: dt.date, result: EffectsResult) -> CarePlan:
    plans = session.scalars(
        select(CarePlan).where(CarePlan.case_id == case.id).order_by(CarePlan.version.desc())
    ).all()
    active = next((p for p in plans if p.status == "active"), None)
    if active is not None:
        return active
    draft = next((p for p in plans if p.status in ("draft", "approved")), None)
    latest = session.scalar(
        select(func.max(CarePlan.version)).where(CarePlan.client_id == case.client_id)
    )
    plan = draft or CarePlan(
        client_id=case.client_id,
        case_id=case.id,
        version=(latest or 0) + 1,  # versions count per client, across their cases
        valid_from=today,
    )
    plan.status, plan.approved_on, plan.review_due = "active", today, today + REVIEW_AFTER
    session.add(plan)
    session.flush()
    result.plans_activated += 1
    return plan


def _link(session: Session, plan: CarePlan, decision: Decision, today: dt.date) -> PlannedService:
    assert decision.service_type is not None and decision.cadence is not None
    # one service of a type per plan (and mode): a new linkage of the same type
    # replaces its provider and cadence, and resumes it if it had ended
    service = session.scalar(
        select(PlannedService).where(
            PlannedService.care_plan_id == plan.id,
            PlannedService.service_type == decision.service_type,
            PlannedService.mode == "visit",
        )
    )
    if service is not None:
        service.provider_id, service.end_date = decision.provider_id, None
    if service is None:
        service = PlannedService(
            care_plan_id=plan.id,
            service_type=decision.service_type,
            required_skill=SKILLS_BY_SERVICE.get(decision.service_type, "social_worker"),
            provider_id=decision.provider_id,
            start_date=today,
            mode="visit",
            duration_min=SERVICE_MINUTES,
        )
        session.add(service)
    service.cadence = decision.cadence
    service.contacts_per_period = (
        decision.amount if decision.amount and decision.cadence != "package" else 1
    )
    session.flush()
    return service


def _refer(session: Session, case: Case, after: dt.date, result: EffectsResult) -> None:
    following = session.scalars(
        select(Conference)
        .where(
            Conference.tier == 2, Conference.status == "scheduled", Conference.scheduled_on > after
        )
        .order_by(Conference.scheduled_on)
    ).first()
    result.referred_tier2 += 1
    if following is not None and following.agenda_status == "frozen":
        add_late_item(session, following.id, case.id, "escalated", "1단계 회의에서 회부 (동결 후)")


def _apply(
    session: Session,
    decision: Decision,
    case: Case,
    held_on: dt.date,
    today: dt.date,
    result: EffectsResult,
) -> None:
    kind = decision.decision
    if kind in ("approve", "change_plan", "link_service"):
        plan = _active_plan(session, case, today, result)
        if kind == "approve" and plan.review_due and plan.review_due <= held_on + REVIEW_AFTER:
            plan.review_due = max(plan.review_due, today + REVIEW_AFTER)
        if decision.service_type and decision.cadence:
            _link(session, plan, decision, today)
            result.services_linked += 1
            case.status = "service_linked"
        elif case.status == "open":
            case.status = "case_managed"
    elif kind == "close_case" and case.status != "closed":
        case.status, case.closed_on = "closed", today
        for plan in session.scalars(
            select(CarePlan).where(CarePlan.case_id == case.id, CarePlan.status == "active")
        ):
            plan.status, plan.valid_to = "closed", today
        client = session.get(Client, case.client_id)
        if client is not None and not _other_open_case(session, case):
            client.risk_tier = "closed"  # after-care: a visit every six months
        result.cases_closed += 1
    elif kind == "refer_tier2":
        _refer(session, case, held_on, result)


def _other_open_case(session: Session, case: Case) -> bool:
    """Whether the client has another case still open (then their care goes on as it is)."""
    return (
        session.scalar(
            select(Case.id).where(
                Case.client_id == case.client_id, Case.id != case.id, Case.status != "closed"
            )
        )
        is not None
    )


def _move_task(session: Session, case: Case, now: dt.datetime, result: EffectsResult) -> None:
    if case.referral_id is None:
        return
    referral = session.get(Referral, case.referral_id)
    if referral is None or referral.status in ("rejected", "cancelled", "completed"):
        return
    moved = None
    if case.status == "closed":
        if set_status(session, referral, "completed", "사례 종결", now=now):
            moved = "completed"
    else:
        started = session.scalar(
            select(Visit.id)
            .join(PlannedService, PlannedService.id == Visit.planned_service_id)
            .join(CarePlan, CarePlan.id == PlannedService.care_plan_id)
            .where(CarePlan.case_id == case.id, Visit.status == "done")
        )
        approved = session.scalar(
            select(CarePlan.id).where(CarePlan.case_id == case.id, CarePlan.status == "active")
        )
        business = SERVICES_STARTED if started else PLAN_APPROVED if approved else None
        if (
            business
            and referral.business_status != business
            and set_status(
                session, referral, "in-progress", None, now=now, business_status=business
            )
        ):
            moved = business
    if moved:
        result.tasks[moved] = result.tasks.get(moved, 0) + 1


def effect_problems(rows: list[tuple[Decision, int]]) -> list[str]:
    """The gate before effects: each decision complete, a case's decisions consistent."""
    problems = []
    by_case: dict[int, set[str]] = {}
    for decision, case_id in rows:
        by_case.setdefault(case_id, set()).add(decision.decision)
        if decision.decision == "link_service" and not (
            decision.provider_id and decision.service_type and decision.cadence
        ):
            problems.append(
                f"decision {decision.id}: a linkage needs its provider, service and cadence"
            )
        if not decision.reason or not decision.recorded_by:
            problems.append(f"decision {decision.id}: needs its reason and who recorded it")
    for case_id, kinds in sorted(by_case.items()):
        if "close_case" in kinds and kinds & {"link_service", "refer_tier2"}:
            problems.append(f"case {case_id}: closed and given a service or a referral at once")
    return problems


def apply_effects(session: Session, today: dt.date, now: dt.datetime) -> EffectsResult:
    """Apply every recorded decision of conferences held by ``today``, once (see module)."""
    result = EffectsResult()
    rows = session.execute(
        select(Decision, AgendaItem.case_id, Conference.scheduled_on)
        .join(AgendaItem, AgendaItem.id == Decision.agenda_item_id)
        .join(Conference, Conference.id == AgendaItem.conference_id)
        .where(
            Decision.applied_at.is_(None),
            Decision.recorded_at.is_not(None),
            Conference.scheduled_on <= today,
        )
        .order_by(Conference.scheduled_on, Decision.id)
    ).all()
    problems = effect_problems([(d, case_id) for d, case_id, _ in rows])
    if problems:  # the gate before effects: nothing is applied half-way
        raise ValidationError("decisions", "; ".join(problems))
    touched: set[int] = set()
    for decision, case_id, held_on in rows:
        case = session.get(Case, case_id)
        if case is None:
            continue
        _apply(session, decision, case, held_on, today, result)
        decision.applied_at = now
        result.applied += 1
        touched.add(case_id)
    # services started since: cases whose referral still says "plan approved"
    waiting = session.scalars(
        select(Case.id)
        .join(Referral, Referral.id == Case.referral_id)
        .where(Referral.business_status == PLAN_APPROVED, Referral.status == "in-progress")
    )
    for case_id in sorted(touched | set(waiting)):
        case = session.get(Case, case_id)
        if case is not None:
            _move_task(session, case, now, result)
    session.flush()
    return result


__all__ = ["EffectsResult", "apply_effects"]
