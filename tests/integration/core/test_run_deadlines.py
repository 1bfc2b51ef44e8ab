"""A run that missed its Deadline Alert: one alert per run, the on-duty administrator texted."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.run_deadlines import on_duty_administrator, record_missed_run
from care_models.schema import DutyRoster, OperationalAlert, OutboundMessage, Staff

NOW = dt.datetime(2026, 12, 4, 1, tzinfo=dt.UTC)  # a Friday, 10:00 in Seoul


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_missed_run_is_recorded_once_and_texted_to_whoever_is_on_duty(
    county_engine: Engine,
) -> None:
    with Session(county_engine, expire_on_commit=False) as session, session.begin():
        weekday = on_duty_administrator(session, dt.date(2026, 12, 4))
        saturday = session.scalar(
            select(DutyRoster.staff_id).where(DutyRoster.day == dt.date(2026, 12, 5))
        )
        on_saturday = on_duty_administrator(session, dt.date(2026, 12, 5))
        assert weekday is not None and weekday.role in ("team_lead", "social_worker")
        assert on_saturday is not None and on_saturday.id == saturday
        for _ in range(2):  # the triggerer may call twice for one miss
            done = record_missed_run(session, "referral_intake", "manual__1", NOW, NOW)
        alerts = session.scalars(
            select(OperationalAlert).where(OperationalAlert.kind == "run_deadline_missed")
        ).all()
        texts = session.scalars(
            select(OutboundMessage).where(OutboundMessage.purpose == "run_deadline_missed")
        ).all()
        staff = session.get(Staff, texts[0].staff_id)
    assert len(alerts) == 1 and alerts[0].entity == "referral_intake"
    assert "10:00 KST" in (alerts[0].detail or "")
    assert len(texts) == 1 and staff is not None and staff.code == weekday.code
    assert done["texted"] == weekday.code


def test_the_triggerers_callback_answers_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from care_tasks import run_deadlines

    monkeypatch.setattr(
        run_deadlines,
        "_record",
        lambda context: {"dag_id": "d", "run_id": context["dag_run"]["dag_run_id"], "texted": None},
    )
    answer = asyncio.run(
        run_deadlines.run_deadline_missed(context={"dag_run": {"dag_run_id": "r"}})
    )
    assert answer == "deadline missed: d r; texted None"  # Airflow stores it as text


def test_the_deadline_is_the_interval_unless_a_drill_shortens_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from run_deadline_alerts import CALLBACK, in_dags_test, run_deadline

    monkeypatch.delenv("CARE_RUN_DEADLINE_SECONDS", raising=False)
    alert = run_deadline(dt.timedelta(minutes=15))
    assert alert is not None and alert.interval == dt.timedelta(minutes=15)
    assert CALLBACK == "care_tasks.run_deadlines.run_deadline_missed"
    monkeypatch.setenv("CARE_RUN_DEADLINE_SECONDS", "1")
    shortened = run_deadline(dt.timedelta(minutes=15))
    assert shortened is not None and shortened.interval == dt.timedelta(seconds=1)
    assert in_dags_test(["airflow", "dags", "test", "referral_intake"])
    assert not in_dags_test(["airflow", "dag-processor"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_closing_an_incident_resolves_its_unassigned_day2_visit(county_engine: Engine) -> None:
    from care_models.alerts.protocol import close_incident
    from care_models.operations import raise_alert
    from care_models.schema import Client, Incident

    with Session(county_engine, expire_on_commit=False) as session, session.begin():
        client = session.scalar(select(Client.id))
        staff = session.scalar(select(Staff.code).where(Staff.active.is_(True)))
        incident = Incident(client_id=client, kind="no_activity", opened_at=NOW)
        session.add(incident)
        session.flush()
        alert = raise_alert(
            session, workflow="device_alert_sync", kind="day2_visit_unassigned",
            entity="incident", entity_id=str(incident.id), detail="no coordinator free",
        )  # fmt: skip
        assert staff is not None
        close_incident(session, incident.id, "person_reached", staff, None, NOW)
    assert alert.resolved_at is not None
