"""Agendas: who is listed where, triage, carry-over, freezing, late items, quorum."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from care_models.conferences.agenda import (
    add_late_item,
    agenda_problems,
    build_agenda,
    conferences_due,
    freeze_day,
    missing_disciplines,
)
from care_models.conferences.invitations import seat_participants
from care_models.conferences.schedule import ensure_schedule
from care_models.errors import ValidationError
from care_models.schema import (
    AgendaItem,
    Case,
    Client,
    Conference,
    EscalationStep,
    Incident,
    Need,
    Town,
)

TODAY = dt.date(2026, 12, 1)  # a Tuesday: the first tier-1 conferences are today


def conference(session: Session, tier: int, town: str | None, nth: int = 0) -> Conference:
    query = select(Conference).where(Conference.tier == tier)
    if town is not None:
        town_id = session.scalar(select(Town.id).where(Town.code == town))
        query = query.where(Conference.town_id == town_id)
    found = session.scalars(query.order_by(Conference.scheduled_on)).all()
    return found[nth]


def items(session: Session, conference_id: int) -> list[AgendaItem]:
    return list(
        session.scalars(
            select(AgendaItem)
            .where(AgendaItem.conference_id == conference_id)
            .order_by(AgendaItem.position)
        )
    )


def new_case(
    session: Session, town: str, categories: tuple[str, ...], high_risk: bool = False
) -> Case:
    """A case from intake: needs, no plan."""
    town_id = session.scalar(select(Town.id).where(Town.code == town))
    client = session.scalars(
        select(Client).where(Client.town_id == town_id).order_by(Client.id.desc())
    ).first()
    assert client is not None and town_id is not None
    case = Case(
        client_id=client.id, town_id=town_id, status="open", high_risk=high_risk, opened_on=TODAY
    )
    session.add(case)
    session.flush()
    for n, category in enumerate(categories):
        session.add(Need(case_id=case.id, category=category, code=f"need-{n}", identified_on=TODAY))
    session.flush()
    return case


@pytest.fixture
def county(county_engine: Engine) -> Engine:
    with Session(county_engine) as session, session.begin():
        ensure_schedule(session, TODAY)
    return county_engine


def test_a_tier1_agenda_lists_each_case_once_triaged_and_freezes_two_business_days_before(
    county: Engine,
) -> None:
    with Session(county) as session, session.begin():
        next_week = conference(session, 1, "JC-01", 1)
        simple = new_case(session, "JC-01", ("health_medical",))
        complex_ = new_case(session, "JC-01", ("housing", "care_ltc"))
        risky = new_case(session, "JC-01", ("safety_other",), high_risk=True)
        freeze = freeze_day(session, next_week)
        assert freeze == next_week.scheduled_on - dt.timedelta(days=4)  # Tue -> the Friday before
        early = build_agenda(session, next_week.id, freeze - dt.timedelta(days=1))
        assert not early.frozen and next_week.agenda_status == "open"
        listed = {i.case_id: i for i in items(session, next_week.id)}
        assert listed[simple.id].kind == "new_plan" and listed[simple.id].discussion == "standard"
        assert listed[complex_.id].discussion == "full"
        assert risky.id not in listed  # high-risk cases go to tier 2
        assert len(listed) == len(items(session, next_week.id))  # once per case
        again = build_agenda(session, next_week.id, freeze - dt.timedelta(days=1))
        assert (again.added, again.dropped) == (0, 0)
        frozen = build_agenda(session, next_week.id, freeze)
        assert frozen.frozen and next_week.agenda_status == "frozen"
        assert conferences_due(session, freeze) == sorted(
            c.id
            for c in session.scalars(
                select(Conference).where(
                    Conference.agenda_status == "open", Conference.status == "scheduled"
                )
            )
            if c.scheduled_on >= freeze and freeze_day(session, c) <= freeze
        )
        # frozen: a new routine case waits for the next agenda; an urgent one goes in late
        later = new_case(session, "JC-01", ("daily_living",))
        assert build_agenda(session, next_week.id, freeze).added == 0
        assert later.id not in {i.case_id for i in items(session, next_week.id)}
        with pytest.raises(ValidationError, match="kind"):
            add_late_item(session, next_week.id, later.id, "new_plan", "급함")
        late = add_late_item(session, next_week.id, later.id, "high_risk", "낙상 후 혼자 지냄")
        assert late.late and items(session, next_week.id)[-1].id == late.id
        positions = [i.position for i in items(session, next_week.id)]
        assert positions == list(range(1, len(positions) + 1))


def test_undiscussed_items_carry_over_to_the_next_conference_with_their_history(
    county: Engine,
) -> None:
    with Session(county) as session, session.begin():
        first, second = conference(session, 1, "JC-01", 0), conference(session, 1, "JC-01", 1)
        build_agenda(session, first.id, first.scheduled_on)
        earlier = items(session, first.id)
        assert earlier
        discussed, skipped = earlier[0], earlier[1:]
        discussed.status = "discussed"
        session.execute(
            Need.__table__.update()
            .where(Need.case_id == discussed.case_id)
            .values(status="decided")
        )
        for item in skipped:
            item.status = "not_discussed"
        first.status = "held"
        build_agenda(session, second.id, freeze_day(session, second))
        carried = {i.case_id: i for i in items(session, second.id) if i.kind == "carried_over"}
        assert set(carried) == {i.case_id for i in skipped}
        assert all(carried[i.case_id].carried_from_id == i.id for i in skipped)
        assert discussed.case_id not in carried


def test_tier2_takes_high_risk_cases_and_open_alert_escalations(county: Engine) -> None:
    with Session(county) as session, session.begin():
        meeting = conference(session, 2, None, 0)
        risky = new_case(session, "JC-02", ("safety_other",), high_risk=True)
        alerting = session.scalars(
            select(Case).where(Case.status != "closed", ~Case.high_risk)
        ).first()
        assert alerting is not None
        incident = Incident(
            client_id=alerting.client_id,
            kind="no_activity",
            opened_at=dt.datetime(2026, 11, 30, tzinfo=dt.UTC),
        )
        session.add(incident)
        session.flush()
        session.add(
            EscalationStep(
                incident_id=incident.id,
                step="day2_home_visit",
                due_at=dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC),
            )
        )
        session.flush()
        build_agenda(session, meeting.id, meeting.scheduled_on - dt.timedelta(days=7))
        listed = {i.case_id: i.kind for i in items(session, meeting.id)}
        assert listed[risky.id] == "high_risk" and listed[alerting.id] == "alert_escalation"
        assert set(listed.values()) <= {
            "high_risk",
            "alert_escalation",
            "escalated",
            "carried_over",
        }
        tier1 = conference(session, 1, None, 0)
        assert (
            session.scalar(
                select(func.count())
                .select_from(AgendaItem)
                .where(AgendaItem.case_id == alerting.id, AgendaItem.conference_id == tier1.id)
            )
            == 0
        )


def test_the_gate_names_a_closed_case_and_a_need_without_category(county: Engine) -> None:
    with Session(county) as session, session.begin():
        meeting = conference(session, 1, "JC-01", 1)
        build_agenda(session, meeting.id, meeting.scheduled_on - dt.timedelta(days=10))
        assert agenda_problems(session, meeting.id) == []
        first = items(session, meeting.id)[0]
        closed = session.get(Case, first.case_id)
        assert closed is not None
        closed.status = "closed"  # closed after it was listed
        problems = agenda_problems(session, meeting.id)
        assert problems == [f"case {first.case_id}: closed (rule: open cases only)"]


def test_quorum_names_the_disciplines_nobody_covers(county: Engine) -> None:
    with Session(county) as session, session.begin():
        meeting = conference(session, 1, "JC-01", 1)
        new_case(session, "JC-01", ("housing", "health_medical"))
        build_agenda(session, meeting.id, meeting.scheduled_on - dt.timedelta(days=10))
        before = missing_disciplines(session, meeting.id)
        assert {"integrated_care", "housing", "health_medical"} <= set(before)
        seat_participants(session, meeting.id)
        assert missing_disciplines(session, meeting.id) == []


def test_a_case_closed_since_is_not_carried_over(county: Engine) -> None:
    with Session(county) as session, session.begin():
        first, second = conference(session, 1, "JC-01", 0), conference(session, 1, "JC-01", 1)
        build_agenda(session, first.id, first.scheduled_on)
        skipped = items(session, first.id)[0]
        skipped.status = "not_discussed"
        first.status = "held"
        case = session.get(Case, skipped.case_id)
        assert case is not None
        case.status = "closed"
        result = build_agenda(session, second.id, freeze_day(session, second))
        assert result.frozen
        assert skipped.case_id not in {i.case_id for i in items(session, second.id)}
