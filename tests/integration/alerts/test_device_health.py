"""Device health: offline past twice the heartbeat interval, never reported, low battery."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.alerts.health import device_problems
from care_models.cli import main
from care_models.schema import Device
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
