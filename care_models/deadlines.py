"""The care deadlines, each with its rule and source, and the watchdog that checks them.

- ``referral_answer``: a referral answered (any status but received) within one
  business day of its arrival, at the same clock time (Friday 15:00 → Monday 15:00;
  across a holiday, the business day after it). Source: DOMAIN §1, a referral must
  be answered; the county's service standard.
- ``first_visit``: the first assessment visit on or before the second business day
  after discharge. Source: DOMAIN §1 (discharge to home); the intake's booking rule.
- ``day2_visit``: the day-2 protocol's home visit recorded by 12:00 on day 2. Source:
  DOMAIN §4, the Suyeong-gu protocol ("day 2 morning").
- ``agenda_freeze``: a conference's agenda frozen by the end of the day two county
  business days before it (closure days count as holidays). Source: the conference
  workflow's freeze rule (``conferences/agenda.py``).

A deadline is **overdue** when its time has passed and the thing is not done, and
**late** when it was done after its time. :func:`check_deadlines` lists both, for
items due in the last :data:`LOOKBACK` (an overdue item stays listed whatever its
age). :func:`watch_deadlines` is the watchdog task's body: one operational alert per
overdue item (resolved when it is done), so the administrators' page and
``python -m care_models summary`` show them. Codes and times only: never a name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from care_models.conferences.agenda import freeze_day
from care_models.operations import open_entity_ids, raise_alert, resolve_alerts
from care_models.schema import (
    Conference,
    EscalationStep,
    Referral,
    ReferralStatusEvent,
    Visit,
)
from care_models.workdays import SEOUL, add_business_days

LOOKBACK = dt.timedelta(days=30)


@dataclass(frozen=True)
class Rule:
    code: str
    text: str
    source: str


RULES = {
    rule.code: rule
    for rule in (
        Rule(
            "referral_answer",
            "의뢰는 접수 후 1영업일 안에 회신 (수락·보류·거절)",
            "DOMAIN §1 퇴원환자 연계의뢰: 의뢰에는 회신해야 함; 군 서비스 기준",
        ),
        Rule(
            "first_visit",
            "첫 방문은 퇴원 후 2영업일 안에",
            "DOMAIN §1; 접수 시 초기 방문 예약 규칙 (referrals/intake)",
        ),
        Rule(
            "day2_visit",
            "2일차 가정방문은 12:00까지 기록",
            "DOMAIN §4 수영구 안부 확인 절차: 2일차 오전 가정방문",
        ),
        Rule(
            "agenda_freeze",
            "회의 안건은 회의 2영업일 전까지 확정",
            "통합지원회의 안건 확정 규칙 (conferences/agenda, 군 휴무일 포함)",
        ),
    )
}


@dataclass(frozen=True)
class Breach:
    rule: str
    entity: str  # referral | visit | escalation_step | conference
    entity_id: int
    due_at: dt.datetime
    done_at: dt.datetime | None  # None: not done yet (overdue)

    @property
    def state(self) -> str:
        return "overdue" if self.done_at is None else "late"

    @property
    def overdue_by(self) -> dt.timedelta | None:
        return None if self.done_at is None else self.done_at - self.due_at


def _aware(stamp: dt.datetime) -> dt.datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _seoul_instant(day: dt.date, time: dt.time = dt.time(0)) -> dt.datetime:
    return dt.datetime.combine(day, time, SEOUL).astimezone(dt.UTC)


def answer_due(received_at: dt.datetime) -> dt.datetime:
    local = _aware(received_at).astimezone(SEOUL)
    day = add_business_days(local.date(), 1)
    return _seoul_instant(day, local.time().replace(tzinfo=None))


def first_visit_due(discharge: dt.date) -> dt.date:
    return add_business_days(discharge, 2)


def _referral_answers(session: Session, now: dt.datetime) -> list[Breach]:
    answered = (
        select(
            ReferralStatusEvent.referral_id,
            func.min(ReferralStatusEvent.changed_at).label("answered_at"),
        )
        .where(ReferralStatusEvent.status != "received")
        .group_by(ReferralStatusEvent.referral_id)
        .subquery()
    )
    rows = session.execute(
        select(Referral.id, Referral.received_at, Referral.status, answered.c.answered_at)
        .outerjoin(answered, answered.c.referral_id == Referral.id)
        .where(Referral.received_at >= now - LOOKBACK - dt.timedelta(days=7))
        .order_by(Referral.id)
    ).all()
    breaches = []
    for referral_id, received_at, status, answered_at in rows:
        due = answer_due(received_at)
        done = _aware(answered_at) if answered_at is not None else None
        if done is None and status != "received":
            continue  # answered before status events were kept
        if (done is None and now > due) or (done is not None and done > due):
            breaches.append(Breach("referral_answer", "referral", referral_id, due, done))
    return breaches


def _first_visits(session: Session, now: dt.datetime) -> list[Breach]:
    """Accepted referrals whose first visit is booked after the deadline (late), or that
    have none when the deadline has passed (overdue)."""
    today = now.astimezone(SEOUL).date()
    referrals = session.execute(
        select(Referral.id, Referral.discharge_date).where(
            Referral.status == "accepted",
            Referral.discharge_date.is_not(None),
            Referral.discharge_date >= today - LOOKBACK - dt.timedelta(days=7),
        )
    ).all()
    if not referrals:
        return []
    keys = {
        f"referral:{rid}:first_assessment": (int(rid), day)
        for rid, day in referrals
        if day is not None
    }
    visits = {
        key: (visit_id, visit_date)
        for key, visit_id, visit_date in session.execute(
            select(Visit.natural_key, Visit.id, Visit.visit_date).where(
                Visit.natural_key.in_(list(keys)), Visit.status != "cancelled"
            )
        )
    }
    breaches = []
    for key, (referral_id, discharge) in sorted(keys.items(), key=lambda kv: kv[1][0]):
        due = first_visit_due(discharge)
        end_of_due = _seoul_instant(due + dt.timedelta(days=1))
        if key in visits:
            visit_id, visit_date = visits[key]
            if visit_date > due:
                booked_day = _seoul_instant(visit_date)
                breaches.append(Breach("first_visit", "visit", visit_id, end_of_due, booked_day))
        elif now > end_of_due:
            breaches.append(Breach("first_visit", "referral", referral_id, end_of_due, None))
    return breaches


def _day2_visits(session: Session, now: dt.datetime) -> list[Breach]:
    steps = session.execute(
        select(EscalationStep.id, EscalationStep.due_at, EscalationStep.done_at)
        .where(
            EscalationStep.step == "day2_home_visit",
            EscalationStep.status != "cancelled",
            EscalationStep.due_at >= now - LOOKBACK,
        )
        .order_by(EscalationStep.id)
    ).all()
    breaches = []
    for step_id, due_at, done_at in steps:
        due, done = _aware(due_at), _aware(done_at) if done_at else None
        if (done is None and now > due) or (done is not None and done > due):
            breaches.append(Breach("day2_visit", "escalation_step", step_id, due, done))
    return breaches


def _agenda_freezes(session: Session, now: dt.datetime) -> list[Breach]:
    today = now.astimezone(SEOUL).date()
    conferences = session.scalars(
        select(Conference)
        .where(
            Conference.status != "cancelled",
            Conference.scheduled_on >= today - LOOKBACK,
            Conference.scheduled_on <= today + dt.timedelta(days=14),
        )
        .order_by(Conference.id)
    ).all()
    breaches = []
    for conference in conferences:
        due = _seoul_instant(freeze_day(session, conference) + dt.timedelta(days=1))
        frozen = _aware(conference.agenda_frozen_at) if conference.agenda_frozen_at else None
        if (frozen is None and now > due) or (frozen is not None and frozen > due):
            breaches.append(Breach("agenda_freeze", "conference", conference.id, due, frozen))
    return breaches


def check_deadlines(session: Session, now: dt.datetime) -> list[Breach]:
    """Every deadline missed or missed and then met, as of ``now`` (the run's time)."""
    now = _aware(now)
    found = (
        _referral_answers(session, now)
        + _first_visits(session, now)
        + _day2_visits(session, now)
        + _agenda_freezes(session, now)
    )
    return sorted(found, key=lambda b: (b.rule, b.due_at, b.entity_id))


ALERT_KIND = "deadline_{rule}"


def watch_deadlines(session: Session, now: dt.datetime) -> dict[str, object]:
    """The watchdog: an operational alert per overdue item, resolved once it is done."""
    breaches = check_deadlines(session, now)
    overdue = {(b.rule, b.entity, str(b.entity_id)): b for b in breaches if b.done_at is None}
    for (rule, entity, entity_id), breach in overdue.items():
        due = breach.due_at.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M")
        raise_alert(
            session,
            workflow="care_deadlines",
            kind=ALERT_KIND.format(rule=rule),
            entity=entity,
            entity_id=entity_id,
            detail=f"{RULES[rule].text}: {entity} {entity_id}, due {due} KST",
        )
    resolved = 0
    for rule in RULES:
        kind = ALERT_KIND.format(rule=rule)
        for entity in ("referral", "visit", "escalation_step", "conference"):
            for entity_id in open_entity_ids(session, (kind,), entity):
                if (rule, entity, entity_id) not in overdue:
                    resolved += resolve_alerts(session, (kind,), entity, entity_id)
    session.flush()
    by_rule: dict[str, dict[str, int]] = {r: {"overdue": 0, "late": 0} for r in RULES}
    for breach in breaches:
        by_rule[breach.rule][breach.state] += 1
    return {"as_of": now.isoformat(), "by_rule": by_rule, "resolved": resolved}


__all__ = [
    "RULES",
    "Breach",
    "Rule",
    "answer_due",
    "check_deadlines",
    "first_visit_due",
    "watch_deadlines",
]
