"""The monthly device-alert measures, from sql/alerts/, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.alerts.measures import alert_measures, month
from care_models.schema import Alert, Device, EscalationStep, Incident, Organisation
from care_models.workdays import SEOUL
from tests.support.alerts import device_name, seed_rows

NOVEMBER = month(2026, 11)


def seoul(day: int, hour: int, month_number: int = 11) -> dt.datetime:
    return dt.datetime(2026, month_number, day, hour, tzinfo=SEOUL).astimezone(dt.UTC)


def add(
    session: Session, vendor: str, n: int, kind: str, at: dt.datetime, **extra: object
) -> Alert:
    device = session.scalar(select(Device).where(Device.external_id == device_name(vendor, n)))
    vendor_id = session.scalar(select(Organisation.id).where(Organisation.code == vendor))
    assert device is not None and vendor_id is not None
    alert = Alert(
        vendor_id=vendor_id,
        external_id=f"{vendor}-{kind}-{at.isoformat()}",
        device_id=device.id,
        client_id=device.client_id,
        kind=kind,
        occurred_at=at,
        **extra,
    )
    session.add(alert)
    session.flush()
    return alert


def incident(
    session: Session,
    alert: Alert,
    closed: dt.datetime | None,
    reason: str | None,
    steps: tuple[str, ...],
) -> None:
    row = Incident(
        client_id=alert.client_id,
        kind=alert.kind,
        opened_at=alert.occurred_at,
        status="closed" if closed else "open",
        closed_at=closed,
        close_reason=reason,
    )
    session.add(row)
    session.flush()
    alert.incident_id = row.id
    for step in steps:
        session.add(EscalationStep(incident_id=row.id, step=step, due_at=alert.occurred_at))
    session.flush()


def test_a_month_of_alert_measures(engine: Engine) -> None:
    seed_rows(engine)
    with Session(engine) as session, session.begin():
        silent = add(session, "V-PLUG", 1, "no_activity", seoul(3, 8))
        incident(session, silent, seoul(3, 9), "person_reached", ("day1_call",))  # 60 minutes
        missed = add(session, "V-AICALL", 2, "missed_call", seoul(10, 10))
        incident(
            session,
            missed,
            seoul(11, 13),
            "whereabouts_known",
            ("day1_call", "day1_text_message", "day2_home_visit"),
        )  # 27 h
        sos = add(session, "V-SENSOR", 3, "emergency_button", seoul(20, 22))
        incident(
            session,
            sos,
            seoul(20, 22) + dt.timedelta(minutes=30),
            "person_reached",
            ("critical_notify", "day1_call"),
        )
        add(session, "V-SENSOR", 1, "fire", seoul(21, 3), passed_to_119=True)
        add(
            session,
            "V-PLUG",
            2,
            "no_activity",
            seoul(25, 9),
            suppressed=True,
            suppression_reason="client_hospital",
        )
        # outside November (Seoul): the last night of October and the first of December
        early = add(session, "V-PLUG", 3, "no_activity", seoul(31, 23, 10))
        incident(session, early, None, None, ("day1_call",))
        add(session, "V-SENSOR", 2, "gas", seoul(1, 0, 12), passed_to_119=True)
    with Session(engine) as session:
        figures = alert_measures(session, *NOVEMBER)
    by_kind = {
        (r["kind"], r["vendor_code"]): (r["alerts"], r["suppressed"]) for r in figures.alerts
    }
    assert by_kind == {
        ("emergency_button", "V-SENSOR"): (1, 0),
        ("fire", "V-SENSOR"): (1, 0),
        ("missed_call", "V-AICALL"): (1, 0),
        ("no_activity", "V-PLUG"): (2, 1),
    }
    assert (figures.incidents_opened, figures.incidents_closed) == (3, 3)
    assert figures.incidents_by_step == {
        "critical_notify": 1,
        "day1_call": 3,
        "day1_text_message": 1,
        "day2_home_visit": 1,
    }
    assert figures.reached == 3 and figures.median_minutes_to_reach == 60.0
    assert (figures.emergency_calls, figures.passed_to_119) == (2, 1)
    # seed_rows: three active devices of each vendor type, each in its own household
    assert figures.households_by_device_type == {
        "ai_call": 3,
        "ai_speaker": 3,
        "emergency_sensor": 3,
        "smart_plug": 3,
    }
