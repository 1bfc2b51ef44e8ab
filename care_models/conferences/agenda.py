"""A conference's agenda: built two business days before, then frozen.

**Which cases.** A tier-1 conference takes its town's open cases; tier 2 takes the
county's hardest. Each case is listed once, under the first kind that applies:

=================  ====  =====================================================
kind               tier  when
=================  ====  =====================================================
escalated          2     a tier-1 decision referred one of its needs to tier 2
alert_escalation   2     its client's device-alert incident reached the day-2
                         visit, or is critical, and is still open
high_risk          2     a high-risk case (safety, violence, mental health) that
                         is due for any of the kinds below
carried_over       same  listed at the last conference of the same tier (and
                         town) and not discussed, or left with undecided needs;
                         it keeps a link to that item, so its history shows
pending            same  a need's latest decision was "defer"
new_plan           1     from intake, with needs and no approved or active plan
review             1     its active plan's review falls due by the conference
=================  ====  =====================================================

**Triage.** Every item is a *full discussion* except two that are a *standard plan:
listed, not discussed*: a new plan whose needs are in one category other than
housing and safety, and a review with no need identified since the plan was
approved. The conference may still pick any item up.

**Freezing.** :func:`build_agenda` may run any day before: it adds what now
qualifies and drops what no longer does. From the freeze day (two county business
days before the conference, :func:`freeze_day`) it builds once more, checks the gate
(:func:`agenda_problems`: every case exists and is open, every need has a
category, no case listed twice) and freezes. After that only urgent cases
(escalated, alert escalations, high-risk) may be added, marked late
(:func:`add_late_item`).

**Quorum.** The disciplines the agenda needs (one per need category on it, and the
integrated-care team that chairs) against the conference's participants:
:func:`missing_disciplines` names each one nobody covers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.alerts.protocol import county_business_day
from care_models.errors import NotFoundError, ValidationError
from care_models.schema import (
    AgendaItem,
    CarePlan,
    Case,
    Conference,
    ConferenceParticipant,
    Decision,
    EscalationStep,
    Incident,
    Need,
)

FREEZE_BUSINESS_DAYS = 2
KIND_ORDER = (
    "escalated",
    "alert_escalation",
    "high_risk",
    "carried_over",
    "pending",
    "new_plan",
    "review",
)
URGENT_KINDS = ("escalated", "alert_escalation", "high_risk")
TIER2_KINDS = ("escalated", "alert_escalation", "high_risk")
SIMPLE_CATEGORIES = ("health_medical", "care_ltc", "daily_living")
DISCIPLINE_OF_CATEGORY = {  # the need categories map one to one on the disciplines
    "health_medical": "health_medical",
    "care_ltc": "care_ltc",
    "housing": "housing",
    "daily_living": "daily_living",
    "safety_other": "safety_other",
}
CHAIR_DISCIPLINE = "integrated_care"
QUESTIONS = {
    "escalated": "1단계 회의에서 회부된 욕구: 2단계 조정·자원 연계 결정",
    "alert_escalation": "안부 확인 경보 후속: 안전 계획과 서비스 조정",
    "high_risk": "고위험 사례: 안전·보호 조치와 계획 결정",
    "carried_over": "지난 회의에서 다루지 못한 안건: 결정",
    "pending": "보류된 결정: 다시 결정",
    "new_plan": "새 사례: 돌봄 계획 승인",
    "review": "계획 재검토: 연장 또는 변경",
}


@dataclass
class AgendaResult:
    conference_id: int
    kinds: dict[str, int] = field(default_factory=dict)
    added: int = 0
    dropped: int = 0
    frozen: bool = False
    missing_disciplines: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "conference_id": self.conference_id,
            "items_by_kind": dict(sorted(self.kinds.items())),
            "added": self.added,
            "dropped": self.dropped,
            "frozen": self.frozen,
            "missing_disciplines": self.missing_disciplines,
        }


@dataclass(frozen=True)
class _Candidate:
    case_id: int
    kind: str
    reason: str
    carried_from_id: int | None = None


def freeze_day(session: Session, conference: Conference) -> dt.date:
    """Two county business days before the conference."""
    day, left = conference.scheduled_on, FREEZE_BUSINESS_DAYS
    while left:
        day -= dt.timedelta(days=1)
        if county_business_day(session, day):
            left -= 1
    return day


def _conference(session: Session, conference_id: int) -> Conference:
    conference = session.get(Conference, conference_id)
    if conference is None:
        raise NotFoundError(f"conference {conference_id} does not exist")
    return conference


def _previous(session: Session, conference: Conference) -> Conference | None:
    """The last conference of the same tier (and town) before this one, not cancelled."""
    query = select(Conference).where(
        Conference.tier == conference.tier,
        Conference.scheduled_on < conference.scheduled_on,
        Conference.status != "cancelled",
    )
    if conference.town_id is not None:
        query = query.where(Conference.town_id == conference.town_id)
    return session.scalars(query.order_by(Conference.scheduled_on.desc())).first()


def _open_cases(session: Session, conference: Conference) -> dict[int, Case]:
    query = select(Case).where(Case.status != "closed")
    if conference.tier == 1 and conference.town_id is not None:
        query = query.where(Case.town_id == conference.town_id)
    return {case.id: case for case in session.scalars(query)}


def _undecided(session: Session, case_id: int) -> bool:
    return (
        session.scalar(select(Need.id).where(Need.case_id == case_id, Need.status == "identified"))
        is not None
    )


def _carried(session: Session, conference: Conference) -> list[_Candidate]:
    previous = _previous(session, conference)
    if previous is None:
        return []
    result = []
    for item in session.scalars(
        select(AgendaItem)
        .where(AgendaItem.conference_id == previous.id)
        .order_by(AgendaItem.position)
    ):
        if item.status != "discussed" or _undecided(session, item.case_id):
            reason = f"{previous.scheduled_on} 회의에서 이월 ({item.kind})"
            result.append(_Candidate(item.case_id, "carried_over", reason, item.id))
    return result


def _deferred(session: Session, case_ids: list[int]) -> set[int]:
    """Those of ``case_ids`` with a need whose latest decision is ``defer``."""
    rows: list[Any] = []
    for start in range(0, len(case_ids), 500):
        rows += session.execute(
            select(AgendaItem.case_id, Decision.need_id, Decision.decision, Decision.id)
            .join(AgendaItem, AgendaItem.id == Decision.agenda_item_id)
            .where(AgendaItem.case_id.in_(case_ids[start : start + 500]))
        ).all()
    rows.sort(key=lambda row: row[3])  # oldest first: the last one read is the latest
    latest: dict[tuple[int, int | None], str] = {}
    for case_id, need_id, decision, _id in rows:
        latest[(case_id, need_id)] = decision
    return {case_id for (case_id, _need), decision in latest.items() if decision == "defer"}


def _escalated(session: Session) -> set[int]:
    """Cases a tier-1 decision referred to tier 2 that no tier-2 agenda has listed since."""
    referred = session.execute(
        select(AgendaItem.case_id, Decision.decided_on)
        .join(AgendaItem, AgendaItem.id == Decision.agenda_item_id)
        .where(Decision.decision == "refer_tier2")
    ).all()
    listed = session.execute(
        select(AgendaItem.case_id, Conference.scheduled_on)
        .join(Conference, Conference.id == AgendaItem.conference_id)
        .where(Conference.tier == 2)
    ).all()
    last_tier2: dict[int, dt.date] = {}
    for case_id, day in listed:
        last_tier2[case_id] = max(day, last_tier2.get(case_id, day))
    return {c for c, day in referred if last_tier2.get(c, dt.date.min) < day}


def _alerting_clients(session: Session) -> set[int]:
    """Clients whose open incident is critical or reached the day-2 visit."""
    day2 = select(EscalationStep.incident_id).where(EscalationStep.step == "day2_home_visit")
    return set(
        session.scalars(
            select(Incident.client_id).where(
                Incident.status == "open", Incident.critical | Incident.id.in_(day2)
            )
        )
    )


def _due(session: Session, conference: Conference, cases: dict[int, Case]) -> list[_Candidate]:
    """new_plan, review and pending candidates among ``cases`` (kinds of either tier)."""
    plans: dict[int, CarePlan] = {}
    for row in session.scalars(
        select(CarePlan).where(
            CarePlan.case_id.in_(cases), CarePlan.status.in_(("approved", "active"))
        )
    ):
        assert row.case_id is not None
        plans[row.case_id] = row
    with_needs = set(session.scalars(select(Need.case_id).where(Need.case_id.in_(cases))))
    deferred = _deferred(session, sorted(cases))
    found = []
    for case_id in sorted(cases):
        plan = plans.get(case_id)
        if case_id in deferred:
            found.append(_Candidate(case_id, "pending", "보류된 결정이 있음"))
        elif plan is None and case_id in with_needs:
            found.append(_Candidate(case_id, "new_plan", "승인된 계획 없음"))
        elif plan is not None and plan.review_due and plan.review_due <= conference.scheduled_on:
            found.append(_Candidate(case_id, "review", f"재검토 기한 {plan.review_due}"))
    return found


def _candidates(session: Session, conference: Conference) -> list[_Candidate]:
    if conference.tier == 1:
        cases = _open_cases(session, conference)
        urgent = {c.id for c in cases.values() if c.high_risk}
        alerting = _alerting_clients(session)
        urgent |= {c.id for c in cases.values() if c.client_id in alerting}
        pool = [*_carried(session, conference), *_due(session, conference, cases)]
        # open cases of the town only (a carried item's case may have closed since);
        # tier 2 takes the urgent ones
        return [c for c in pool if c.case_id in cases and c.case_id not in urgent]
    cases = _open_cases(session, conference)
    high = {cid: case for cid, case in cases.items() if case.high_risk}
    alerting = _alerting_clients(session)
    pool = [
        _Candidate(cid, "escalated", "1단계 회의에서 회부")
        for cid in _escalated(session)
        if cid in cases
    ]
    pool += [
        _Candidate(cid, "alert_escalation", "안부 확인 경보가 2일차 이상 진행 중")
        for cid, case in sorted(cases.items())
        if case.client_id in alerting
    ]
    pool += [_Candidate(c.case_id, "high_risk", c.reason) for c in _due(session, conference, high)]
    pool += [c for c in _carried(session, conference) if c.case_id in cases]
    return pool


def _one_per_case(candidates: list[_Candidate]) -> dict[int, _Candidate]:
    chosen: dict[int, _Candidate] = {}
    for candidate in sorted(candidates, key=lambda c: (KIND_ORDER.index(c.kind), c.case_id)):
        chosen.setdefault(candidate.case_id, candidate)
    return chosen


def triage(session: Session, case_id: int, kind: str) -> str:
    """``full`` or ``standard`` (the rule in the module docstring)."""
    needs = session.execute(
        select(Need.category, Need.identified_on).where(Need.case_id == case_id)
    ).all()
    categories = {category for category, _ in needs}
    if kind == "new_plan" and len(categories) == 1 and categories <= set(SIMPLE_CATEGORIES):
        return "standard"
    if kind == "review":
        plan = session.scalars(
            select(CarePlan).where(CarePlan.case_id == case_id, CarePlan.status == "active")
        ).first()
        approved = plan.approved_on if plan is not None else None
        if approved is not None and all(day <= approved for _, day in needs):
            return "standard"
    return "full"


def build_agenda(session: Session, conference_id: int, today: dt.date) -> AgendaResult:
    """(Re)build an open agenda; freeze it from its freeze day (see the module)."""
    conference = _conference(session, conference_id)
    result = AgendaResult(conference_id)
    if conference.status != "scheduled" or conference.agenda_status == "frozen":
        result.frozen = conference.agenda_status == "frozen"
        result.kinds = _kinds(session, conference_id)
        return result
    wanted = _one_per_case(_candidates(session, conference))
    existing = {
        item.case_id: item
        for item in session.scalars(
            select(AgendaItem).where(AgendaItem.conference_id == conference_id)
        )
    }
    for case_id, item in existing.items():
        keep = wanted.get(case_id)
        if keep is None or keep.kind != item.kind:
            session.delete(item)
            result.dropped += 1
    session.flush()
    for case_id, candidate in wanted.items():
        if case_id in existing and existing[case_id].kind == candidate.kind:
            continue
        session.add(
            AgendaItem(
                conference_id=conference_id,
                case_id=case_id,
                kind=candidate.kind,
                reason=candidate.reason,
                carried_from_id=candidate.carried_from_id,
                discussion=triage(session, case_id, candidate.kind),
                question=QUESTIONS[candidate.kind],
            )
        )
        result.added += 1
    session.flush()
    _number(session, conference_id)
    if today >= freeze_day(session, conference):
        problems = agenda_problems(session, conference_id)
        if problems:
            raise ValidationError(f"agenda of conference {conference_id}", "; ".join(problems))
        conference.agenda_status = "frozen"
        conference.agenda_frozen_at = dt.datetime.combine(today, dt.time(0), tzinfo=dt.UTC)
        result.frozen = True
    result.kinds = _kinds(session, conference_id)
    result.missing_disciplines = missing_disciplines(session, conference_id)
    return result


def _number(session: Session, conference_id: int) -> None:
    """Full discussions first, by kind, then the standard plans; late items last."""
    items = session.scalars(
        select(AgendaItem).where(AgendaItem.conference_id == conference_id)
    ).all()
    ordered = sorted(
        items,
        key=lambda i: (i.late, i.discussion != "full", KIND_ORDER.index(i.kind), i.case_id),
    )
    for position, item in enumerate(ordered, start=1):
        item.position = position


def _kinds(session: Session, conference_id: int) -> dict[str, int]:
    kinds = session.scalars(
        select(AgendaItem.kind).where(AgendaItem.conference_id == conference_id)
    )
    return dict(Counter(kinds))


def agenda_problems(session: Session, conference_id: int) -> list[str]:
    """The gate before freezing: the rule broken and the record, never a value."""
    problems = []
    items = session.scalars(
        select(AgendaItem).where(AgendaItem.conference_id == conference_id)
    ).all()
    seen = Counter(item.case_id for item in items)
    problems += [
        f"case {cid}: listed {n} times (rule: once per agenda)" for cid, n in seen.items() if n > 1
    ]
    for item in items:
        case = session.get(Case, item.case_id)
        if case is None:
            problems.append(f"agenda item {item.id}: its case does not exist")
        elif case.status == "closed":
            problems.append(f"case {case.id}: closed (rule: open cases only)")
        blank = session.scalar(
            select(Need.id).where(Need.case_id == item.case_id, Need.category.is_(None))
        )
        if blank is not None:
            problems.append(f"need {blank}: no category (rule: every need has one)")
    return problems


def add_late_item(
    session: Session, conference_id: int, case_id: int, kind: str, reason: str
) -> AgendaItem:
    """An urgent case added after the freeze, marked late."""
    conference = _conference(session, conference_id)
    if kind not in URGENT_KINDS:
        raise ValidationError(
            "kind", f"a late item must be urgent: one of {', '.join(URGENT_KINDS)}"
        )
    if conference.tier == 1 and kind in TIER2_KINDS and kind != "high_risk":
        raise ValidationError("kind", "escalations and alert escalations go to tier 2")
    case = session.get(Case, case_id)
    if case is None or case.status == "closed":
        raise ValidationError("case_id", "must be an open case")
    existing = session.scalar(
        select(AgendaItem).where(
            AgendaItem.conference_id == conference_id, AgendaItem.case_id == case_id
        )
    )
    if existing is not None:
        return existing
    item = AgendaItem(
        conference_id=conference_id,
        case_id=case_id,
        kind=kind,
        reason=reason,
        late=conference.agenda_status == "frozen",
        discussion="full",
        question=QUESTIONS[kind],
    )
    session.add(item)
    session.flush()
    _number(session, conference_id)
    return item


def missing_disciplines(session: Session, conference_id: int) -> list[str]:
    """Disciplines the agenda needs that no participant of the conference covers."""
    categories = set(
        session.scalars(
            select(Need.category)
            .join(AgendaItem, AgendaItem.case_id == Need.case_id)
            .where(AgendaItem.conference_id == conference_id)
        )
    )
    needed = {DISCIPLINE_OF_CATEGORY[c] for c in categories if c in DISCIPLINE_OF_CATEGORY}
    needed.add(CHAIR_DISCIPLINE)
    present = set(
        session.scalars(
            select(ConferenceParticipant.discipline).where(
                ConferenceParticipant.conference_id == conference_id
            )
        )
    )
    return sorted(needed - present)


def conferences_due(session: Session, today: dt.date) -> list[int]:
    """Scheduled conferences with an open agenda whose freeze day has come (or passed)."""
    rows = session.scalars(
        select(Conference)
        .where(
            Conference.status == "scheduled",
            Conference.agenda_status == "open",
            Conference.scheduled_on >= today,
        )
        .order_by(Conference.scheduled_on, Conference.id)
    ).all()
    return [row.id for row in rows if freeze_day(session, row) <= today]


__all__ = [
    "AgendaResult",
    "add_late_item",
    "agenda_problems",
    "build_agenda",
    "conferences_due",
    "freeze_day",
    "missing_disciplines",
    "triage",
]
