"""The DAG's ingest step: every polled vendor with a Connection, ids and counts only."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.schema import Alert
from care_models.synthetic.alert_streams import event_stream
from care_sim.vendors.aicall import AiCallSimulator
from care_sim.vendors.plug import PlugSimulator
from tests.support.alerts import NOW, START, VENDORS, seed_rows, vendor_connection


def test_pull_vendor_alerts_returns_counts_and_ids(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from care_tasks.alerts_ingest import pull_vendor_alerts

    devices = seed_rows(engine)
    monkeypatch.setenv("CARE_DATABASE_URL", database_url)
    streams = {
        code: event_stream(
            [(code, VENDORS[code], d) for d in devices[code]], start=START, days=4, alert_rate=1
        )
        for code in ("V-PLUG", "V-AICALL")
    }
    with (
        PlugSimulator(streams["V-PLUG"], page_size=4) as plug,
        AiCallSimulator(streams["V-AICALL"]) as calls,  # our password is wrong: 401
    ):
        with vendor_connection(monkeypatch, "V-PLUG", plug.base_url, api_key="dev-plug-key"):
            pass
        with vendor_connection(monkeypatch, "V-AICALL", calls.base_url, login=("county", "x")):
            pass
        first = pull_vendor_alerts(run_at=NOW.isoformat())
        again = pull_vendor_alerts(run_at=NOW.isoformat())
    assert set(first["vendors"]) == {"V-PLUG", "V-AICALL"}  # the speaker pushes: no pull
    assert first["vendors"]["V-AICALL"]["status"] == "failed"
    assert first["failed_vendors"] == 1
    with Session(engine) as session:
        ids = sorted(session.scalars(select(Alert.id)))
    assert first["alert_ids"] == ids and first["alert_ids_complete"]
    assert first["vendors"]["V-PLUG"]["new"] == len(ids) > 0
    assert again["alert_ids"] == [] and again["vendors"]["V-PLUG"]["new"] == 0
    json.dumps(first)  # XCom-ready: plain JSON
