"""A sync killed in the middle of a pull, then re-run, ends where an undisturbed run ends.

The pull runs in its own process (the task the DAG runs), which is SIGKILLed while it
waits for a page: the pages before were committed with their watermark, the page in
flight was not. The re-run then pulls, checks device health, merges and escalates
(the DAG's steps, in order) and must reach the same alerts, incidents, steps and
watermark as the same steps on a fresh database without the kill.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models import migrations
from care_models.db import make_engine
from care_models.schema import Alert, Client, EscalationStep, Incident, SyncWatermark
from care_models.synthetic.alert_streams import event_stream
from care_sim.vendors.base import VendorFaults
from care_sim.vendors.plug import PlugSimulator
from tests.support.alerts import NOW, START, VENDORS, seed_rows, vendor_connection

ROOT = Path(__file__).resolve().parents[3]
HANG_AT_REQUEST = 4  # the pull is killed while it waits for this page


def _iso(stamp: Any) -> str | None:
    return None if stamp is None else stamp.replace(tzinfo=None).isoformat()


def end_state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with Session(engine) as session:
        codes = dict(session.execute(select(Client.id, Client.code)).all())
        incidents = {i.id: i for i in session.scalars(select(Incident))}
        return {
            "alerts": sorted(
                (a.external_id, a.kind, a.status, a.suppressed, a.revision)
                for a in session.scalars(select(Alert))
            ),
            "incidents": sorted(
                (codes[i.client_id], i.kind, _iso(i.opened_at), i.status, i.critical)
                for i in incidents.values()
            ),
            "steps": sorted(
                (codes[incidents[s.incident_id].client_id], s.step, s.status, _iso(s.due_at))
                for s in session.scalars(select(EscalationStep))
            ),
            "watermarks": sorted(
                (w.source, w.watermark) for w in session.scalars(select(SyncWatermark))
            ),
        }


def sync_once(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The DAG's steps, in order, on the run's time."""
    from care_tasks.alerts_incidents import check_device_health, escalate, merge_into_incidents
    from care_tasks.alerts_ingest import pull_vendor_alerts

    monkeypatch.setenv("CARE_DATABASE_URL", database_url)
    run_at = NOW.isoformat()
    pull_vendor_alerts(run_at=run_at)
    check_device_health(run_at)
    merge_into_incidents(run_at)
    escalate(run_at)


def kill_during_pull(database_url: str, server: PlugSimulator) -> int:
    """Run the pull task in its own process and SIGKILL it mid-pull; how far it got."""
    env = {
        **os.environ,
        "CARE_DATABASE_URL": database_url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
    }
    code = (
        "from care_tasks.alerts_ingest import pull_vendor_alerts\n"
        f"pull_vendor_alerts(run_at={NOW.isoformat()!r})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    deadline = time.monotonic() + 120
    try:
        while server.request_count < HANG_AT_REQUEST:
            if process.poll() is not None:
                pytest.fail(f"the pull ended (rc {process.returncode}) before it was killed")
            if time.monotonic() > deadline:
                pytest.fail("the pull never reached the page it was to be killed on")
            time.sleep(0.05)
        process.kill()
    finally:
        process.wait(timeout=30)
    assert process.returncode == -9
    return server.request_count


def test_a_pull_killed_mid_run_then_rerun_ends_as_an_undisturbed_run(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = seed_rows(engine)
    events = event_stream(
        [("V-PLUG", VENDORS["V-PLUG"], d) for d in devices["V-PLUG"]],
        start=START,
        days=4,
        alert_rate=1.0,
    )
    hang = VendorFaults(timeout_requests={HANG_AT_REQUEST}, timeout_seconds=60)
    with PlugSimulator(events, page_size=3, faults=hang) as server:
        with vendor_connection(monkeypatch, "V-PLUG", server.base_url, api_key="dev-plug-key"):
            pass
        kill_during_pull(database_url, server)
    with Session(engine) as session:  # the pages before the kill were kept, with their mark
        kept = len(session.scalars(select(Alert.id)).all())
        mark = session.scalar(select(SyncWatermark.watermark))
    assert mark is not None and 0 < kept < len(
        {e.event_id for e in events if e.kind != "heartbeat"}
    )

    undisturbed_url = f"sqlite:///{tmp_path / 'undisturbed.db'}"
    undisturbed = make_engine(undisturbed_url)
    migrations.upgrade(undisturbed)
    seed_rows(undisturbed)
    with PlugSimulator(events, page_size=3) as server:
        with vendor_connection(monkeypatch, "V-PLUG", server.base_url, api_key="dev-plug-key"):
            pass
        sync_once(database_url, monkeypatch)  # the re-run of the killed sync
        sync_once(undisturbed_url, monkeypatch)
    rerun, expected = end_state(engine), end_state(undisturbed)
    undisturbed.dispose()
    assert expected["incidents"] and expected["steps"]
    assert rerun == expected
