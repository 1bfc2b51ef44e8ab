"""The care deadlines at their boundaries, on business days and across a holiday."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.deadlines import (
    answer_due,
    check_deadlines,
    first_visit_due,
    watch_deadlines,
)
from care_models.schema import (
    Client,
    Conference,
    EscalationStep,
    Incident,
    OperationalAlert,
    Organisation,
    Referral,
    ReferralStatusEvent,
    Visit,
)
from care_models.workdays import SEOUL

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def kst(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), SEOUL).astimezone(dt.UTC)


FRI, MON = dt.date(2026, 12, 4), dt.date(2026, 12, 7)
XMAS_EVE = dt.date(2026, 12, 24)  # Thursday; the 25th is a public holiday


def test_the_deadlines_arithmetic_on_business_days_and_across_a_holiday(
    database_url: str,
) -> None:
    assert answer_due(kst(FRI, 15)) == kst(MON, 15)  # over the weekend
    assert answer_due(kst(XMAS_EVE, 10)) == kst(dt.date(2026, 12, 28), 10)  # over Christmas
    assert first_visit_due(FRI) == dt.date(2026, 12, 8)
    assert first_visit_due(dt.date(2026, 12, 23)) == dt.date(2026, 12, 28)


def _referral(session: Session, n: int, received: dt.datetime, **fields: object) -> Referral:
    hospital = session.scalar(select(Organisation.id).where(Organisation.kind == "hospital"))
    referral = Referral(
        hospital_id=hospital,
        identifier_system="urn:test",
        identifier_value=f"R{n}",
        raw_payload_enc="x",
        payload_sha256="0" * 64,
        received_at=received,
        **fields,
    )
    session.add(referral)
    session.flush()
    return referral


def _answer(session: Session, referral: Referral, at: dt.datetime) -> None:
    referral.status = "accepted"
    session.add(
        ReferralStatusEvent(referral_id=referral.id, version=2, status="accepted", changed_at=at)
    )


def test_a_referral_answered_at_the_deadline_is_on_time_a_minute_later_is_late(
    county_engine: Engine,
) -> None:
    with Session(county_engine, expire_on_commit=False) as session, session.begin():
        on_time = _referral(session, 1, kst(FRI, 15))
        _answer(session, on_time, kst(MON, 15))
        late = _referral(session, 2, kst(FRI, 15))
        _answer(session, late, kst(MON, 15, 1))
        waiting = _referral(session, 3, kst(XMAS_EVE, 10))
        session.flush()
        at_deadline = check_deadlines(session, kst(dt.date(2026, 12, 28), 10))
        after = check_deadlines(session, kst(dt.date(2026, 12, 28), 10, 0, 1))
    found = {(b.rule, b.entity_id, b.state) for b in at_deadline}
    assert ("referral_answer", late.id, "late") in found
    assert not any(b.entity_id == on_time.id for b in at_deadline if b.rule == "referral_answer")
    assert ("referral_answer", waiting.id, "overdue") not in found  # Christmas does not count
    assert ("referral_answer", waiting.id, "overdue") in {
        (b.rule, b.entity_id, b.state) for b in after
    }


def test_first_visits_after_the_second_business_day_are_late_or_overdue(
    county_engine: Engine,
) -> None:
    with Session(county_engine, expire_on_commit=False) as session, session.begin():
        client = session.scalar(select(Client.id))
        assert client is not None
        booked: dict[str, Referral] = {}
        for n, (name, visit_day) in enumerate(
            [("in_time", dt.date(2026, 12, 28)), ("late", dt.date(2026, 12, 29)), ("none", None)]
        ):
            referral = _referral(
                session, 10 + n, kst(dt.date(2026, 12, 21), 9),
                status="accepted", discharge_date=dt.date(2026, 12, 23),
            )  # fmt: skip
            booked[name] = referral
            if visit_day is not None:
                session.add(
                    Visit(
                        natural_key=f"referral:{referral.id}:first_assessment",
                        client_id=client, service_type="first_assessment",
                        purpose="초기 방문", visit_date=visit_day, status="booked",
                    )
                )  # fmt: skip
        session.flush()
        before_end = check_deadlines(session, kst(dt.date(2026, 12, 28), 23, 59))
        after_end = check_deadlines(session, kst(dt.date(2026, 12, 29), 0, 0, 1))
    rules = [b for b in before_end if b.rule == "first_visit"]
    assert {(b.entity, b.state) for b in rules} == {("visit", "late")}  # booked for the 29th
    overdue = [b for b in after_end if b.rule == "first_visit" and b.state == "overdue"]
    assert [(b.entity, b.entity_id) for b in overdue] == [("referral", booked["none"].id)]


def test_the_day2_visit_is_due_at_noon_and_the_watchdog_raises_and_resolves(
    county_engine: Engine,
) -> None:
    day2 = dt.date(2026, 12, 8)
    with Session(county_engine, expire_on_commit=False) as session, session.begin():
        client = session.scalar(select(Client.id))
        incident = Incident(client_id=client, kind="no_activity", opened_at=kst(MON, 9))
        session.add(incident)
        session.flush()
        step = EscalationStep(incident_id=incident.id, step="day2_home_visit", due_at=kst(day2, 12))
        session.add(step)
        session.flush()
        assert not [b for b in check_deadlines(session, kst(day2, 12)) if b.rule == "day2_visit"]
        watched = watch_deadlines(session, kst(day2, 12, 0, 1))
        assert watched["by_rule"]["day2_visit"] == {"overdue": 1, "late": 0}  # type: ignore[index]
        alert = session.scalars(
            select(OperationalAlert).where(OperationalAlert.kind == "deadline_day2_visit")
        ).one()
        assert alert.entity_id == str(step.id) and alert.resolved_at is None
        assert "12:00" in (alert.detail or "") and "2일차" in (alert.detail or "")
        step.status, step.done_at = "done", kst(day2, 12, 30)
        session.flush()
        again = watch_deadlines(session, kst(day2, 13))
        assert again["by_rule"]["day2_visit"] == {"overdue": 0, "late": 1}  # type: ignore[index]
        assert again["resolved"] == 1 and alert.resolved_at is not None


def test_an_agenda_is_frozen_two_business_days_before_its_conference(
    county_engine: Engine,
) -> None:
    with Session(county_engine, expire_on_commit=False) as session, session.begin():
        monday = Conference(
            tier=2, scheduled_on=dt.date(2026, 12, 28), slot_key="t2-x", uid="x@test",
            rule_date=dt.date(2026, 12, 28),
        )  # fmt: skip
        session.add(monday)
        session.flush()
        # two business days before Monday 28 December, over Christmas: Wednesday the 23rd
        on_time = check_deadlines(session, kst(dt.date(2026, 12, 24), 0))
        overdue = check_deadlines(session, kst(dt.date(2026, 12, 24), 0, 0, 1))
        monday.agenda_status, monday.agenda_frozen_at = "frozen", kst(dt.date(2026, 12, 24), 9)
        session.flush()
        late = check_deadlines(session, kst(dt.date(2026, 12, 26), 9))
    assert not [b for b in on_time if b.rule == "agenda_freeze"]
    assert [(b.entity_id, b.state) for b in overdue if b.rule == "agenda_freeze"] == [
        (monday.id, "overdue")
    ]
    assert [(b.entity_id, b.state) for b in late if b.rule == "agenda_freeze"] == [
        (monday.id, "late")
    ]
