"""The monthly device-alert measures, from sql/alerts/, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.alerts.measures import alert_measures, month, monthly_measures
from care_models.schema import Alert, Client, Device, EscalationStep, Incident, Organisation
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


def device(session: Session, vendor: str, n: int, client: str, installed: dt.date) -> None:
    """One more active device of ``vendor`` for the client with code ``client``."""
    vendor_row = session.scalar(select(Organisation).where(Organisation.code == vendor))
    client_id = session.scalar(select(Client.id).where(Client.code == client))
    assert vendor_row is not None and vendor_row.device_type and client_id is not None
    session.add(
        Device(
            vendor_id=vendor_row.id,
            external_id=device_name(vendor, n),
            client_id=client_id,
            device_type=vendor_row.device_type,
            installed_on=installed,
            status="active",
        )
    )
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
        # the first instant of November counts; a false alarm is closed but nobody reached
        word = add(session, "V-SPEAKER", 1, "sos", seoul(1, 0))
        incident(
            session,
            word,
            seoul(1, 0) + dt.timedelta(minutes=20),
            "false_alarm",
            ("critical_notify", "day1_call"),
        )
        # opened in October, reached in November: closed (and reached) in November only
        late = add(session, "V-AICALL", 1, "missed_call", seoul(30, 20, 10))
        incident(
            session, late, seoul(2, 8), "person_reached", ("day1_call", "day2_home_visit")
        )  # 3,600 minutes
        # households: a second device in a monitored household counts once; a device
        # installed on the last day counts, one installed on the day after does not
        device(session, "V-SENSOR", 50, "C00001", dt.date(2026, 1, 5))
        device(session, "V-SPEAKER", 51, "C00004", dt.date(2026, 11, 30))
        device(session, "V-PLUG", 52, "C00004", dt.date(2026, 12, 1))
    with Session(engine) as session:
        figures = alert_measures(session, *NOVEMBER)
        assert monthly_measures(session, 2026, 11) == figures
    by_kind = {
        (r["kind"], r["vendor_code"]): (r["alerts"], r["suppressed"]) for r in figures.alerts
    }
    assert by_kind == {
        ("emergency_button", "V-SENSOR"): (1, 0),
        ("fire", "V-SENSOR"): (1, 0),
        ("missed_call", "V-AICALL"): (1, 0),
        ("no_activity", "V-PLUG"): (2, 1),
        ("sos", "V-SPEAKER"): (1, 0),
    }
    assert (figures.incidents_opened, figures.incidents_closed) == (4, 5)
    assert figures.incidents_by_step == {
        "critical_notify": 2,
        "day1_call": 4,
        "day1_text_message": 1,
        "day2_home_visit": 1,
    }
    # reached after 30, 60, 1,620 and 3,600 minutes (not the false alarm's 20)
    assert figures.reached == 4 and figures.median_minutes_to_reach == 840.0
    assert (figures.emergency_calls, figures.passed_to_119) == (3, 1)
    # seed_rows: three active devices of each vendor type, each in its own household
    # (a fourth household has only removed devices); plus the devices added above
    assert figures.households_by_device_type == {
        "ai_call": 3,
        "ai_speaker": 4,
        "emergency_sensor": 3,
        "smart_plug": 3,
    }
