"""Device health: offline past twice the heartbeat interval, never reported, low battery."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.alerts.health import check_devices, device_problems
from care_models.alerts.incidents import merge_alerts
from care_models.cli import main
from care_models.schema import Client, Device, Incident, OperationalAlert
from tests.support.alerts import NOW, device_name, seed_rows


def test_offline_never_reported_and_low_battery_devices_are_listed(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_rows(engine)
    with Session(engine) as session, session.begin():
        for device in session.scalars(select(Device)):
            device.last_heartbeat_at = NOW - dt.timedelta(minutes=30)  # all healthy ...
        plug = session.scalar(select(Device).where(Device.external_id == device_name("V-PLUG", 1)))
        gateway = session.scalar(
            select(Device).where(Device.external_id == device_name("V-SENSOR", 2))
        )
        call = session.scalar(
            select(Device).where(Device.external_id == device_name("V-AICALL", 3))
        )
        assert plug is not None and gateway is not None and call is not None
        plug.last_heartbeat_at = NOW - dt.timedelta(hours=3)  # ... but this one: 2 x 60 min
        gateway.battery_pct = 12
        call.last_heartbeat_at = None  # installed in January, never heard from
    with Session(engine) as session:
        problems = {(p.device, p.problem) for p in device_problems(session, NOW)}
    assert problems == {
        (device_name("V-PLUG", 1), "offline"),
        (device_name("V-SENSOR", 2), "low_battery"),
        (device_name("V-AICALL", 3), "never_reported"),
    }
    monkeypatch.setenv("CARE_DATABASE_URL", database_url)
    assert main(["devices", "health", "--at", NOW.isoformat(), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 3 and all("name" not in row for row in listed)
    assert main(["devices", "health", "--at", NOW.isoformat()]) == 0
    assert capsys.readouterr().out.strip().endswith("3 device problems")


def _healthy(session: Session) -> None:
    for device in session.scalars(select(Device)):
        device.last_heartbeat_at = NOW - dt.timedelta(minutes=30)


def _device(session: Session, vendor: str, number: int) -> Device:
    device = session.scalar(select(Device).where(Device.external_id == device_name(vendor, number)))
    assert device is not None
    return device


def test_device_problems_become_maintenance_tasks_resolved_when_gone(engine: Engine) -> None:
    seed_rows(engine)
    with Session(engine) as session, session.begin():
        _healthy(session)
        _device(session, "V-SENSOR", 2).battery_pct = 12
        first = check_devices(session, NOW).as_dict()
        again = check_devices(session, NOW).as_dict()  # refreshed, not doubled
        tasks = session.scalars(
            select(OperationalAlert).where(OperationalAlert.kind == "device_maintenance")
        ).all()
        assert [(t.entity_id, t.resolved_at) for t in tasks] == [
            (f"V-SENSOR:{device_name('V-SENSOR', 2)}", None)
        ]
        assert "배터리 부족" in (tasks[0].detail or "") and "V-SENSOR" in (tasks[0].detail or "")
        _device(session, "V-SENSOR", 2).battery_pct = 90  # the vendor changed it
        fixed = check_devices(session, NOW).as_dict()
        assert tasks[0].resolved_at is not None
    assert first["maintenance_open"] == again["maintenance_open"] == 1
    assert fixed == {"maintenance_open": 0, "maintenance_resolved": 1, "silent_device_alerts": []}


def test_a_high_risk_clients_device_silent_for_a_day_opens_an_incident_once(
    engine: Engine,
) -> None:
    seed_rows(engine)
    with Session(engine) as session, session.begin():
        _healthy(session)
        silent = _device(session, "V-PLUG", 1)
        silent.last_heartbeat_at = NOW - dt.timedelta(hours=30)
        _device(session, "V-PLUG", 2).last_heartbeat_at = NOW - dt.timedelta(hours=25)  # < 26 h
        _device(session, "V-AICALL", 3).last_heartbeat_at = None  # never installed right
        client = session.get(Client, silent.client_id)
        assert client is not None
        client.risk_tier = "at_risk"
        for other in session.scalars(select(Client).where(Client.id != client.id)):
            other.risk_tier = "at_risk"
        raised = check_devices(session, NOW).as_dict()["silent_device_alerts"]
        assert raised == [f"V-PLUG:{device_name('V-PLUG', 1)}"]
        assert check_devices(session, NOW).as_dict()["silent_device_alerts"] == []  # once
        merged = merge_alerts(session, None, now=NOW)
        (incident,) = session.scalars(select(Incident)).all()
        assert merged.incidents_opened() == [incident.id] and incident.client_id == client.id
        assert incident.kind == "silent_device"
        # it opened when the silence passed a day, not when the check ran
        opened = incident.opened_at.replace(tzinfo=incident.opened_at.tzinfo or dt.UTC)
        assert opened == NOW - dt.timedelta(hours=4)  # 30 h ago + 2 x 60 min + a day


def test_no_silent_device_alert_for_a_low_risk_client_or_a_silent_vendor(engine: Engine) -> None:
    seed_rows(engine)
    with Session(engine) as session, session.begin():
        _healthy(session)
        for client in session.scalars(select(Client)):
            client.risk_tier = "interest"
        _device(session, "V-PLUG", 1).last_heartbeat_at = NOW - dt.timedelta(days=3)
        assert check_devices(session, NOW).as_dict()["silent_device_alerts"] == []
        for client in session.scalars(select(Client)):
            client.risk_tier = "at_risk"
        # the AI-call vendor is down: none of its devices reported for two days
        for device in session.scalars(select(Device).where(Device.external_id.like("V-AICALL-%"))):
            device.last_heartbeat_at = NOW - dt.timedelta(days=2)
        raised = check_devices(session, NOW).as_dict()["silent_device_alerts"]
    assert raised == [f"V-PLUG:{device_name('V-PLUG', 1)}"]
