"""A year of conferences for the synthetic county, made by the real code day by day.

:func:`simulate_conferences` walks the days from ``start`` to ``end`` and on each one
does what the county does, with the functions the workflow runs: keep the schedule
(:func:`ensure_schedule`), seat and freeze the agendas due
(:func:`prepare`-like: :func:`build_agenda` on the freeze day), hold the day's
conferences and record their decisions (:func:`record_decisions`, as a chair would,
in the proportions the seeds report), and apply the effects (:func:`apply_effects`).
New cases arrive from intake every week, with one to three needs. Deterministic for
a seed; idempotent per day (a day whose conferences are already held is skipped).

The proportions (per need at a discussed item): plan approved 45%, service linked
33%, plan changed 5%, closed 4%, referred to tier 2 3% (tier 1 only), deferred 3.5%;
4% of the items are not reached and carry over. That makes about 96.5% of needs
decided, as Jincheon reported (1,750 of 1,814 in 2023). Services linked (or resumed)
in the simulated year run for twelve weeks (their end date), so the year's history
does not pile up on today's visit demand.

A case whose care plan has reached its end (:func:`plan_ended`: the plan's validity
is over, or it linked services and none of them runs any more) is closed when it
next comes up, as the team closes it: every need of the item is decided
``close_case`` ("plan ended, after-care"), and the effects close the case and its
plan and move the client to the after-care tier (a visit every six months).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from care_models.conferences.agenda import build_agenda, freeze_day
from care_models.conferences.decisions import DecisionInput, record_decisions
from care_models.conferences.effects import apply_effects
from care_models.conferences.invitations import seat_participants
from care_models.conferences.schedule import ensure_schedule
from care_models.schema import (
    AgendaItem,
    CarePlan,
    Case,
    Client,
    Conference,
    ConferenceParticipant,
    Decision,
    Need,
    Organisation,
    PlannedService,
    Staff,
)
from care_models.workdays import SEOUL

CHOICES = (
    ("approve", 0.45),
    ("link_service", 0.33),
    ("change_plan", 0.05),
    ("close_case", 0.04),
    ("refer_tier2", 0.03),
    ("defer", 0.035),
)
NOT_REACHED = 0.04
ATTENDANCE = 0.9
SERVICE_WEEKS = 12
NEW_CASES_PER_WEEK = 2  # per 450 clients: the history scales with the county
REVIEW_EVERY = dt.timedelta(days=180)
SERVICE_FOR = {  # need category -> the service a linkage gives
    "health_medical": ("home_nursing", "weekly"),
    "care_ltc": ("monitoring", "twice_monthly"),
    "daily_living": ("nutrition", "monthly"),
    "housing": ("escort", "once"),
    "safety_other": ("monitoring", "weekly"),
}
NEED_CODES = {
    "health_medical": "chronic_care",
    "care_ltc": "daily_care",
    "housing": "repair",
    "daily_living": "meals",
    "safety_other": "check_in",
}
REASONS = {
    "approve": "계획대로 진행",
    "link_service": "서비스 연계 필요",
    "change_plan": "상태 변화로 계획 조정",
    "close_case": "목표 달성, 사후관리로 전환",
    "plan_ended": "계획 종료, 사후관리로 전환",
    "refer_tier2": "읍·면 자원으로 해결 어려움",
    "defer": "추가 정보 필요",
}


@dataclass
class History:
    days: int = 0
    conferences_held: int = 0
    items: int = 0
    decisions: int = 0
    new_cases: int = 0
    cases_closed: int = 0
    by_decision: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "days": self.days,
            "conferences_held": self.conferences_held,
            "agenda_items": self.items,
            "decisions": self.decisions,
            "new_cases": self.new_cases,
            "cases_closed": self.cases_closed,
            "by_decision": dict(sorted(self.by_decision.items())),
        }


def _draw(rng: random.Random, tier: int) -> str:
    choices = [(d, w) for d, w in CHOICES if tier == 1 or d != "refer_tier2"]
    total = sum(w for _, w in choices)
    pick = rng.random() * total
    for decision, weight in choices:
        pick -= weight
        if pick <= 0:
            return decision
    return choices[-1][0]


def _providers(session: Session) -> dict[str, str]:
    """A provider for each service type it offers (the first by code)."""
    found: dict[str, str] = {}
    for org in session.scalars(
        select(Organisation).where(Organisation.kind == "provider").order_by(Organisation.code)
    ):
        for service in org.services or []:
            found.setdefault(service, org.code)
    return found


def _new_cases(session: Session, rng: random.Random, day: dt.date, history: History) -> None:
    with_case = select(Case.client_id)
    candidates = session.scalars(
        select(Client.id)
        .where(Client.id.not_in(with_case), Client.risk_tier != "closed")
        .order_by(Client.id)
    ).all()
    clients = session.scalar(select(func.count()).select_from(Client)) or 0
    wanted = max(1, round(NEW_CASES_PER_WEEK * clients / 450))
    for client_id in rng.sample(list(candidates), k=min(wanted, len(candidates))):
        client = session.get(Client, client_id)
        assert client is not None
        case = Case(
            client_id=client_id,
            town_id=client.town_id,
            status="open",
            opened_on=day,
            high_risk=rng.random() < 0.1,
        )
        session.add(case)
        session.flush()
        for category in rng.sample(sorted(SERVICE_FOR), k=rng.randint(1, 3)):
            session.add(
                Need(
                    case_id=case.id, category=category, code=NEED_CODES[category], identified_on=day
                )
            )
        history.new_cases += 1
    session.flush()


def plan_ended(session: Session, case_id: int, day: dt.date) -> bool:
    """Whether the case's active care plan has reached its end by ``day``: its validity
    is over, or it linked services and every one of them has ended (nothing of the
    plan is still delivered). A plan without services (case management by the risk
    tier's monitoring) runs until a conference closes it."""
    plan = session.scalars(
        select(CarePlan)
        .where(CarePlan.case_id == case_id, CarePlan.status == "active")
        .order_by(CarePlan.version.desc())
    ).first()
    if plan is None:
        return False
    if plan.valid_to is not None and plan.valid_to < day:
        return True
    ends = session.scalars(
        select(PlannedService.end_date).where(PlannedService.care_plan_id == plan.id)
    ).all()
    return bool(ends) and all(end is not None and end < day for end in ends)


def _hold(
    session: Session,
    conference: Conference,
    rng: random.Random,
    chair: str,
    providers: dict[str, str],
    history: History,
) -> None:
    conference.status = "held"
    for participant in session.scalars(
        select(ConferenceParticipant).where(ConferenceParticipant.conference_id == conference.id)
    ):
        participant.attended = rng.random() < ATTENDANCE
    items = session.scalars(
        select(AgendaItem)
        .where(AgendaItem.conference_id == conference.id)
        .order_by(AgendaItem.position)
    ).all()
    now = dt.datetime.combine(conference.scheduled_on, dt.time(17), tzinfo=SEOUL).astimezone(dt.UTC)
    for item in items:
        history.items += 1
        if rng.random() < NOT_REACHED:
            item.status = "not_discussed"
            continue
        # a discussed case gets a decision for each of its needs (a review confirms or
        # changes what was decided before): the measure counts every need discussed
        needs = session.execute(
            select(Need.id, Need.category).where(Need.case_id == item.case_id).order_by(Need.id)
        ).all()
        decisions = []
        ended = plan_ended(session, item.case_id, conference.scheduled_on)
        for need_id, category in needs:
            decision = _draw(rng, conference.tier)
            if ended:  # the plan has run its course: the team closes the case
                decisions.append(DecisionInput(need_id, "close_case", REASONS["plan_ended"]))
                continue
            service, cadence = SERVICE_FOR.get(category, ("monitoring", "monthly"))
            linked = decision == "link_service" and service in providers
            decisions.append(
                DecisionInput(
                    need_id=need_id,
                    decision=decision if decision != "link_service" or linked else "approve",
                    reason=REASONS[decision],
                    provider_code=providers[service] if linked else None,
                    service_type=service if linked else None,
                    cadence=cadence if linked else None,
                    amount=1 if linked else None,
                )
            )
        if not decisions:
            item.status = "discussed"
            continue
        if {d.decision for d in decisions} & {"link_service", "refer_tier2"}:
            # a case given a service or a referral is not closed at the same time
            decisions = [
                DecisionInput(d.need_id, "approve", REASONS["approve"])
                if d.decision == "close_case"
                else d
                for d in decisions
            ]
        written = record_decisions(
            session, conference.id, item.case_id, decisions, staff_code=chair, now=now
        )
        history.decisions += len(written)
        for row in written:
            history.by_decision[row.decision] = history.by_decision.get(row.decision, 0) + 1


def _open_ended(session: Session) -> set[int]:
    """The planned services without an end date."""
    return set(session.scalars(select(PlannedService.id).where(PlannedService.end_date.is_(None))))


def _bound_services(session: Session, day: dt.date, open_ended_before: set[int]) -> None:
    """Services the simulated conferences linked today run for SERVICE_WEEKS weeks: new
    ones, and those a linkage resumed (their end date cleared, their start kept). The
    loaded county's own services (open-ended: the programme of today) are left alone."""
    for service in session.scalars(select(PlannedService).where(PlannedService.end_date.is_(None))):
        if service.id not in open_ended_before:
            service.end_date = day + dt.timedelta(weeks=SERVICE_WEEKS)


def _rewind_reviews(session: Session, start: dt.date) -> None:
    """The plans' six-monthly reviews as they fell from ``start``: the loaded county
    dates them from today, a history needs them from the year's first day."""
    for plan in session.scalars(
        select(CarePlan).where(CarePlan.status == "active", CarePlan.approved_on < start)
    ):
        assert plan.approved_on is not None
        review = plan.approved_on + REVIEW_EVERY
        while review < start:
            review += REVIEW_EVERY
        plan.review_due = review
    session.flush()


def simulate_conferences(
    session: Session, start: dt.date, end: dt.date, seed: int = 2023
) -> History:
    """The county's conferences from ``start`` to ``end`` (see the module)."""
    rng = random.Random(seed)
    history = History()
    chair = session.scalar(select(Staff.code).where(Staff.active).order_by(Staff.code))
    if chair is None:
        return history
    providers = _providers(session)
    _rewind_reviews(session, start)
    day = start
    while day <= end:
        history.days += 1
        if day.weekday() == 0 or day == start:
            ensure_schedule(session, day, weeks=3)
            _new_cases(session, rng, day, history)
        todays = session.scalars(
            select(Conference).where(
                Conference.status == "scheduled",
                Conference.scheduled_on <= day + dt.timedelta(days=7),
            )
        ).all()
        for conference in todays:
            if conference.agenda_status == "open" and freeze_day(session, conference) <= day:
                seat_participants(session, conference.id)
                build_agenda(session, conference.id, day)
        for conference in todays:
            if conference.scheduled_on == day:
                if conference.agenda_status == "open":
                    seat_participants(session, conference.id)
                    build_agenda(session, conference.id, freeze_day(session, conference))
                _hold(session, conference, rng, chair, providers, history)
                history.conferences_held += 1
        now = dt.datetime.combine(day, dt.time(18), tzinfo=SEOUL).astimezone(dt.UTC)
        open_ended = _open_ended(session)
        history.cases_closed += apply_effects(session, day, now).cases_closed
        _bound_services(session, day, open_ended)
        session.flush()
        day += dt.timedelta(days=1)
    return history


def decision_rate(session: Session) -> tuple[int, int]:
    """(needs on discussed items, decisions other than defer): the seeds' decision rate."""
    decided = session.scalar(
        select(func.count()).select_from(Decision).where(Decision.decision != "defer")
    )
    needs = session.scalar(select(func.count()).select_from(Decision))
    return int(needs or 0), int(decided or 0)


__all__ = ["History", "decision_rate", "plan_ended", "simulate_conferences"]
