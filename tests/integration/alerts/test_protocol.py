"""The unreachable-person protocol: each step once, on the run's clock, to the day."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.alerts.incidents import merge_alerts
from care_models.alerts.protocol import close_incident, record_step_outcome, run_escalation
from care_models.errors import ValidationError
from care_models.schema import (
    Client,
    Device,
    DutyRoster,
    EscalationStep,
    Incident,
    Staff,
    Town,
    Visit,
)
from care_models.workdays import SEOUL
from tests.integration.alerts.test_incidents import add_alert
from tests.support.alerts import device_name, seed_rows

WEDNESDAY = dt.date(2026, 12, 2)
FRIDAY = dt.date(2026, 12, 4)


def seoul(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SEOUL).astimezone(dt.UTC)


def staff(session: Session, code: str, town_id: int) -> Staff:
    member = Staff(
        code=code,
        name="담당자",
        role="social_worker",
        skills=["social_worker"],
        office_town_id=town_id,
        work_start=dt.time(9),
        work_end=dt.time(18),
    )
    session.add(member)
    session.flush()
    return member


def silent_client(engine: Engine, opened: dt.datetime) -> tuple[int, int]:
    """A client of coordinator SW-1 whose plug fell silent at ``opened``; (client, incident)."""
    seed_rows(engine)
    with Session(engine) as session, session.begin():
        town_id = session.scalar(select(Town.id))
        coordinator = staff(session, "SW-1", town_id)
        duty = staff(session, "DUTY-1", town_id)
        session.add(DutyRoster(day=FRIDAY + dt.timedelta(days=1), staff_id=duty.id))
        client_id = session.scalar(
            select(Device.client_id).where(Device.external_id == device_name("V-PLUG", 1))
        )
        client = session.get(Client, client_id)
        assert client is not None
        client.usual_staff_id = coordinator.id
        add_alert(session, "V-PLUG", 1, "no_activity", opened)
        merge_alerts(session, None, now=opened)
        incident_id = session.scalar(select(Incident.id))
    assert client_id is not None and incident_id is not None
    return client_id, incident_id


def steps(engine: Engine, incident_id: int) -> dict[str, EscalationStep]:
    with Session(engine) as session:
        rows = session.scalars(
            select(EscalationStep).where(EscalationStep.incident_id == incident_id)
        )
        return {row.step: row for row in rows}


def escalate(engine: Engine, now: dt.datetime) -> dict[str, object]:
    with Session(engine) as session, session.begin():
        return run_escalation(session, now).as_dict()


def test_day1_call_then_sms_then_day2_visit_on_the_coordinators_route(engine: Engine) -> None:
    _client, incident_id = silent_client(engine, seoul(WEDNESDAY, 8))
    first = escalate(engine, seoul(WEDNESDAY, 8, 10))
    assert first["steps_created"] == {"day1_call": 1}
    assert escalate(engine, seoul(WEDNESDAY, 8, 20))["steps_created"] == {}  # once
    with Session(engine) as session, session.begin():
        record_step_outcome(
            session, incident_id, "day1_call", "no_answer", "SW-1", seoul(WEDNESDAY, 9)
        )
    assert escalate(engine, seoul(WEDNESDAY, 9, 10))["steps_created"] == {"day1_text_message": 1}
    # a run late on day 2 does the day-2 step once, on the coordinator's route, by noon
    late = escalate(engine, seoul(WEDNESDAY + dt.timedelta(days=1), 10, 30))
    assert late["steps_created"] == {"day2_home_visit": 1} and late["urgent_visits"]
    again = escalate(engine, seoul(WEDNESDAY + dt.timedelta(days=1), 10, 40))
    assert again["steps_created"] == {} and not again["urgent_visits"]
    day2 = steps(engine, incident_id)["day2_home_visit"]
    with Session(engine) as session:
        visit = session.get(Visit, day2.visit_id)
        assert visit is not None and visit.source == "alert"
        assert visit.visit_date == WEDNESDAY + dt.timedelta(days=1)
        assert session.get(Staff, visit.staff_id).code == "SW-1"  # type: ignore[union-attr]
        assert visit.start_at.replace(tzinfo=visit.start_at.tzinfo or dt.UTC) < seoul(
            visit.visit_date, 12
        )
    # nobody home on day 2: the police report is due; found by the police: closed
    with Session(engine) as session, session.begin():
        record_step_outcome(
            session,
            incident_id,
            "day2_home_visit",
            "not_found",
            "SW-1",
            seoul(WEDNESDAY + dt.timedelta(days=1), 11),
        )
    assert escalate(engine, seoul(WEDNESDAY + dt.timedelta(days=1), 11, 10))["steps_created"] == {
        "day2_police_report": 1
    }
    with Session(engine) as session, session.begin():
        record_step_outcome(
            session,
            incident_id,
            "day2_police_report",
            "found",
            "SW-1",
            seoul(WEDNESDAY + dt.timedelta(days=1), 15),
        )
        incident = session.get(Incident, incident_id)
        assert incident is not None
        assert (incident.status, incident.close_reason) == ("closed", "found_by_police")


def test_a_saturday_day2_visit_goes_to_the_duty_roster(engine: Engine) -> None:
    _client, incident_id = silent_client(engine, seoul(FRIDAY, 22))
    assert escalate(engine, seoul(FRIDAY + dt.timedelta(days=1), 7))["steps_created"] == {
        "day1_call": 1
    }  # before 08:00 on day 2 only day 1 is due
    result = escalate(engine, seoul(FRIDAY + dt.timedelta(days=1), 8, 5))
    assert result["steps_created"] == {"day2_home_visit": 1}
    day2 = steps(engine, incident_id)["day2_home_visit"]
    with Session(engine) as session:
        assert session.get(Staff, day2.staff_id).code == "DUTY-1"  # type: ignore[union-attr]


def test_reaching_the_person_closes_the_incident_and_cancels_what_was_due(
    engine: Engine,
) -> None:
    _client, incident_id = silent_client(engine, seoul(WEDNESDAY, 8))
    escalate(engine, seoul(WEDNESDAY, 8, 10))
    with Session(engine) as session, session.begin():
        with pytest.raises(ValidationError, match="outcome"):
            record_step_outcome(
                session, incident_id, "day1_call", "maybe", "SW-1", seoul(WEDNESDAY, 9)
            )
        record_step_outcome(
            session, incident_id, "day1_call", "reached", "SW-1", seoul(WEDNESDAY, 9)
        )
    assert escalate(engine, seoul(WEDNESDAY + dt.timedelta(days=1), 9))["steps_created"] == {}
    with Session(engine) as session, session.begin():
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.close_reason == "person_reached"
        assert (
            close_incident(
                session, incident_id, "false_alarm", "SW-1", None, seoul(WEDNESDAY, 10)
            ).close_reason
            == "person_reached"
        )


def test_the_desk_lists_open_incidents_and_records_outcomes_from_the_command_line(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from care_models.cli import main

    _client, incident_id = silent_client(engine, seoul(WEDNESDAY, 8))
    escalate(engine, seoul(WEDNESDAY, 8, 10))
    monkeypatch.setenv("CARE_DATABASE_URL", database_url)
    assert main(["incidents", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["incident_id"] == incident_id and listed["next_step"] == "day1_call"
    assert listed["alerts"] == 1 and listed["opened_at"] == "2026-12-02 08:00"
    assert (
        main(["incidents", "outcome", "--incident", str(incident_id), "--step", "day1_call"]) == 2
    )
    assert "--outcome" in capsys.readouterr().err  # names what is missing
    assert (
        main(
            [
                "incidents",
                "close",
                "--incident",
                str(incident_id),
                "--reason",
                "false_alarm",
                "--staff",
                "SW-1",
            ]
        )
        == 0
    )
    assert main(["incidents"]) == 0
    assert capsys.readouterr().out.strip().endswith("0 open incidents")


def test_a_run_days_late_books_the_day2_visit_for_its_own_day_not_the_past(
    engine: Engine,
) -> None:
    _client, incident_id = silent_client(engine, seoul(WEDNESDAY - dt.timedelta(days=7), 8))
    escalate(engine, seoul(WEDNESDAY, 9))  # a week late: day 1 and day 2 at once, once each
    day2 = steps(engine, incident_id)["day2_home_visit"]
    with Session(engine) as session:
        visit = session.get(Visit, day2.visit_id)
        assert visit is not None and visit.visit_date == WEDNESDAY
    assert day2.due_at.replace(tzinfo=day2.due_at.tzinfo or dt.UTC) < seoul(WEDNESDAY, 9)


def test_the_protocol_advances_from_the_command_line_as_of_any_time(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from care_models.cli import main

    silent_client(engine, seoul(FRIDAY, 22))
    monkeypatch.setenv("CARE_DATABASE_URL", database_url)
    assert main(["alerts", "escalate", "--at", "2026-12-04T23:00+09:00", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps_created"] == {"day1_call": 1}
    assert main(["alerts", "escalate", "--at", "2026-12-05T09:00+09:00"]) == 0
    out = capsys.readouterr().out
    assert "day2_home_visit 1" in out and "day-2 visits booked: 1" in out
    with pytest.raises(SystemExit) as refused:  # no offset: refused as bad arguments are
        main(["alerts", "escalate", "--at", "2026-12-05T09:00"])
    assert refused.value.code == 2
    assert "offset" in capsys.readouterr().err


def test_reaching_the_person_after_the_day2_visit_was_booked_cancels_the_visit(
    engine: Engine,
) -> None:
    _client, incident_id = silent_client(engine, seoul(WEDNESDAY, 8))
    escalate(engine, seoul(WEDNESDAY + dt.timedelta(days=1), 8, 5))
    day2 = steps(engine, incident_id)["day2_home_visit"]
    with Session(engine) as session, session.begin():
        record_step_outcome(
            session,
            incident_id,
            "day1_call",
            "reached",
            "SW-1",
            seoul(WEDNESDAY + dt.timedelta(days=1), 8, 30),
        )
    with Session(engine) as session:
        visit = session.get(Visit, day2.visit_id)
        assert visit is not None and visit.status == "cancelled"
    assert steps(engine, incident_id)["day2_home_visit"].status == "cancelled"


def test_an_outcome_recorded_in_seoul_time_is_stored_as_the_same_instant(engine: Engine) -> None:
    _client, incident_id = silent_client(engine, seoul(WEDNESDAY, 8))
    escalate(engine, seoul(WEDNESDAY, 8, 10))
    at = dt.datetime.combine(WEDNESDAY, dt.time(9, 30), tzinfo=SEOUL)
    with Session(engine) as session, session.begin():
        record_step_outcome(session, incident_id, "day1_call", "no_answer", "SW-1", at)
    done = steps(engine, incident_id)["day1_call"].done_at
    assert done is not None and done.replace(tzinfo=done.tzinfo or dt.UTC) == at


def test_a_holiday_day2_visit_goes_to_that_days_duty_worker(engine: Engine) -> None:
    christmas = dt.date(2026, 12, 25)  # a Friday and a public holiday
    _client, incident_id = silent_client(engine, seoul(christmas - dt.timedelta(days=1), 20))
    with Session(engine) as session, session.begin():
        town_id = session.scalar(select(Town.id))
        assert town_id is not None
        duty = staff(session, "DUTY-XMAS", town_id)
        session.add(DutyRoster(day=christmas, staff_id=duty.id))
    result = escalate(engine, seoul(christmas, 8, 5))
    assert result["steps_created"] == {"day1_call": 1, "day2_home_visit": 1}
    day2 = steps(engine, incident_id)["day2_home_visit"]
    with Session(engine) as session:
        assert session.get(Staff, day2.staff_id).code == "DUTY-XMAS"  # type: ignore[union-attr]
        visit = session.get(Visit, day2.visit_id)
        assert visit is not None and visit.visit_date == christmas
