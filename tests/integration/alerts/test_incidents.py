"""Alerts merged per person: one open incident per client, whatever the device."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.alerts.incidents import incident_alerts, merge_alerts
from care_models.schema import Alert, ClientAbsence, Device, Incident, Organisation
from care_models.workdays import SEOUL
from tests.support.alerts import device_name, seed_rows

DAY = dt.date(2026, 12, 2)


def seoul(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SEOUL).astimezone(dt.UTC)


def add_alert(session: Session, vendor: str, n: int, kind: str, at: dt.datetime) -> int:
    device = session.scalar(select(Device).where(Device.external_id == device_name(vendor, n)))
    assert device is not None
    vendor_id = session.scalar(select(Organisation.id).where(Organisation.code == vendor))
    alert = Alert(
        vendor_id=vendor_id,
        external_id=f"{vendor}-{kind}-{n}-{at:%H%M}",
        device_id=device.id,
        client_id=device.client_id,
        kind=kind,
        occurred_at=at,
        passed_to_119=kind in ("fire", "gas"),
    )
    session.add(alert)
    session.flush()
    return alert.id


def test_three_silences_of_one_person_from_three_vendors_make_one_incident(
    engine: Engine,
) -> None:
    seed_rows(engine)
    with Session(engine) as session, session.begin():
        plug = add_alert(session, "V-PLUG", 1, "no_activity", seoul(8))
        call = add_alert(session, "V-AICALL", 1, "missed_call", seoul(10))
        gateway = add_alert(session, "V-SENSOR", 1, "no_activity", seoul(11))
        other = add_alert(session, "V-PLUG", 2, "power_no_change", seoul(9))
        result = merge_alerts(session, None, now=seoul(12))
    assert result.merged == 4 and len(result.incidents_opened()) == 2
    with Session(engine) as session:
        incidents = session.scalars(select(Incident).order_by(Incident.opened_at)).all()
        assert len(incidents) == 2
        first = incidents[0]
        assert first.status == "open" and not first.critical
        assert first.kind == "no_activity"
        assert first.opened_at.replace(tzinfo=first.opened_at.tzinfo or dt.UTC) == seoul(8)
        assert [a.id for a in incident_alerts(session, first.id)] == [
            plug,
            call,
            gateway,
        ]
        assert [a.id for a in incident_alerts(session, incidents[1].id)] == [other]


def test_merging_again_changes_nothing_and_a_later_alert_joins(engine: Engine) -> None:
    seed_rows(engine)
    with Session(engine) as session, session.begin():
        add_alert(session, "V-PLUG", 1, "no_activity", seoul(8))
        merge_alerts(session, None, now=seoul(9))
    with Session(engine) as session, session.begin():
        again = merge_alerts(session, None, now=seoul(9))
        late = add_alert(session, "V-SPEAKER", 1, "sos", seoul(20))
        early_run = merge_alerts(session, [late], now=seoul(19))  # not yet seen at 19:00
        joined = merge_alerts(session, [late], now=seoul(21))
    assert again.merged == 0 and early_run.merged == 0
    assert joined.merged == 1 and joined.opened == [] and len(joined.joined) == 1
    with Session(engine) as session:
        (incident,) = session.scalars(select(Incident)).all()
        assert incident.critical  # the SOS word made the open incident critical
        assert len(incident_alerts(session, incident.id)) == 2


def test_absence_maintenance_and_device_health_open_nothing(engine: Engine) -> None:
    seed_rows(engine)
    with Session(engine) as session, session.begin():
        client_id = session.scalar(
            select(Device.client_id).where(Device.external_id == device_name("V-PLUG", 1))
        )
        session.add(
            ClientAbsence(
                client_id=client_id,
                starts_at=seoul(0),
                until=seoul(0, day=DAY.replace(day=5)),
                reason="hospital",
            )
        )
        away = add_alert(session, "V-PLUG", 1, "no_activity", seoul(8))
        device = session.scalar(
            select(Device).where(Device.external_id == device_name("V-AICALL", 2))
        )
        assert device is not None
        device.maintenance_until = seoul(18)
        serviced = add_alert(session, "V-AICALL", 2, "missed_call", seoul(10))
        battery = add_alert(session, "V-SENSOR", 3, "low_battery", seoul(10))
        fire = add_alert(session, "V-SENSOR", 2, "fire", seoul(19))
        result = merge_alerts(session, None, now=seoul(20))
    assert (result.suppressed, result.device_health, result.merged) == (2, 1, 1)
    with Session(engine) as session:
        rows = {a.id: a for a in session.scalars(select(Alert))}
        assert rows[away].suppression_reason == "client_hospital"
        assert rows[serviced].suppression_reason == "device_maintenance"
        assert rows[battery].incident_id is None and not rows[battery].suppressed
        (incident,) = session.scalars(select(Incident)).all()
        assert incident.critical and rows[fire].passed_to_119
        assert rows[fire].incident_id == incident.id
