"""Pulls from the vendor simulators over real HTTP, with faults: every alert once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from care_hooks.http import RetriesExhausted, RetryPolicy
from care_hooks.vendor import VendorHook
from care_models.alerts import ingest
from care_models.alerts.gate import vendor_gate_failures
from care_models.alerts.ingest import pull_all_vendors, pull_vendor, read_cursor
from care_models.db import session_factory
from care_models.errors import ExternalServiceError, MalformedResponseError
from care_models.schema import Alert, AlertRevision, Device, OperationalAlert, QuarantinedRow
from care_models.synthetic.alert_streams import HEARTBEAT, DeviceEvent, event_stream
from care_sim.vendors.aicall import AiCallSimulator
from care_sim.vendors.base import VendorFaults
from care_sim.vendors.gateway import GatewaySimulator
from care_sim.vendors.plug import PlugSimulator
from tests.support.alerts import (
    NOW,
    START,
    VENDORS,
    alert_count,
    external_ids,
    seed_rows,
    vendor_connection,
)

FAST: dict[str, Any] = {
    "policy": RetryPolicy(attempts=3, backoff_seconds=0.01),
    "timeout_seconds": 0.5,
}


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def devices(engine: Engine) -> dict[str, list[str]]:
    return seed_rows(engine)


def _events(vendor: str, devices: list[str], seed: int = 3) -> list[DeviceEvent]:
    rows = [(vendor, VENDORS[vendor], d) for d in devices]
    return event_stream(rows, start=START, days=4, seed=seed, alert_rate=1.0)


def _alerts(events: list[DeviceEvent]) -> list[str]:
    return sorted({e.event_id for e in events if e.kind != HEARTBEAT})


def _hook(
    monkeypatch: pytest.MonkeyPatch, vendor: str, base: str, page_size: int = 3, **auth: Any
) -> VendorHook:
    with vendor_connection(monkeypatch, vendor, base, vendor_type=VENDORS[vendor], **auth):
        return VendorHook(vendor, page_size=page_size, **FAST)


def test_faults_lose_nothing_and_double_nothing(
    factory: sessionmaker[Session],
    devices: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = _events("V-PLUG", devices["V-PLUG"])
    late = [
        DeviceEvent("V-PLUG", "smart_plug", "LATE-1", devices["V-PLUG"][0], "no_activity", START)
    ]
    faults = VendorFaults(
        fail_requests={2},
        timeout_requests={4},
        duplicate_requests={3},
        overlap_requests={6},
        reset_requests={8},
        timeout_seconds=1.5,
    )
    with PlugSimulator(events, page_size=3, faults=faults) as server:
        server.add(late, after_request=5)  # an old alert the vendor forwards late
        hook = _hook(monkeypatch, "V-PLUG", server.base_url, api_key="dev-plug-key")
        first = pull_vendor(factory, hook, "V-PLUG", NOW)
        second = pull_vendor(factory, hook, "V-PLUG", NOW)
        hook.close()
    expected = sorted([*_alerts(events), "LATE-1"])
    assert external_ids(factory, "V-PLUG") == expected
    assert first.cursor_resets == 1
    assert first.new == len(expected) and second.new == 0 and second.changed == 0
    with factory() as session:
        assert read_cursor(session, "V-PLUG") == second.cursor_after
        assert all(
            d.last_heartbeat_at is not None
            for d in session.scalars(select(Device))
            if d.external_id in devices["V-PLUG"]
        )


def test_twenty_percent_failing_or_duplicated_requests(
    factory: sessionmaker[Session],
    devices: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = _events("V-SENSOR", devices["V-SENSOR"], seed=5)
    faults = VendorFaults(fail_rate=0.2, duplicate_rate=0.2, seed=11)
    with (
        GatewaySimulator(events, page_size=2, faults=faults) as server,
        vendor_connection(
            monkeypatch,
            "V-SENSOR",
            server.base_url,
            vendor_type="emergency_sensor",
            token="dev-gateway-token",
        ),
    ):
        hook = VendorHook(
            "V-SENSOR", page_size=2, policy=RetryPolicy(attempts=8, backoff_seconds=0.001)
        )
        outcome = pull_vendor(factory, hook, "V-SENSOR", NOW)
    assert server.request_count > outcome.pages  # faults were met
    assert external_ids(factory, "V-SENSOR") == _alerts(events)
    with factory() as session:
        fire = session.scalars(select(Alert).where(Alert.kind.in_(("fire", "gas")))).all()
        assert all(a.passed_to_119 and a.severity == "critical" for a in fire)


def test_the_watermark_moves_only_with_committed_alerts(
    factory: sessionmaker[Session],
    devices: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = _events("V-AICALL", devices["V-AICALL"], seed=2)
    real = ingest.ingest_records
    calls = {"n": 0}

    def failing_second_page(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the database went away mid-page")
        return real(*args, **kwargs)

    with AiCallSimulator(events, page_size=3) as server:
        hook = _hook(monkeypatch, "V-AICALL", server.base_url, login=("county", "dev-aicall"))
        monkeypatch.setattr(ingest, "ingest_records", failing_second_page)
        with pytest.raises(RuntimeError):
            pull_vendor(factory, hook, "V-AICALL", NOW)
        with factory() as session:
            assert read_cursor(session, "V-AICALL") == "3"  # after page 1 only
        first_page = {e.event_id for e in events[:3] if e.kind != HEARTBEAT}
        assert set(external_ids(factory, "V-AICALL")) == first_page
        monkeypatch.setattr(ingest, "ingest_records", real)
        pull_vendor(factory, hook, "V-AICALL", NOW)
    assert external_ids(factory, "V-AICALL") == _alerts(events)


def test_a_malformed_page_stores_nothing_and_keeps_the_watermark(
    factory: sessionmaker[Session],
    devices: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = _events("V-PLUG", devices["V-PLUG"])
    bad = b'{"result": "OK", "data": {"events": {"not": "a list"}, "hasNext": false}}'
    with PlugSimulator(events, page_size=3, faults=VendorFaults(raw_answers={1: bad})) as server:
        hook = _hook(monkeypatch, "V-PLUG", server.base_url, api_key="dev-plug-key")
        with pytest.raises(MalformedResponseError, match=r"data\.events"):
            pull_vendor(factory, hook, "V-PLUG", NOW)
    assert alert_count(factory) == 0
    with factory() as session:
        assert read_cursor(session, "V-PLUG") == ""


def test_a_dead_vendor_does_not_stop_the_others(
    factory: sessionmaker[Session],
    devices: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead = PlugSimulator(
        _events("V-PLUG", devices["V-PLUG"]), faults=VendorFaults(always_fail=True)
    )
    alive = GatewaySimulator(_events("V-SENSOR", devices["V-SENSOR"]))
    with dead, alive:
        hooks = {
            "V-PLUG": _hook(monkeypatch, "V-PLUG", dead.base_url, api_key="dev-plug-key"),
            "V-SENSOR": _hook(monkeypatch, "V-SENSOR", alive.base_url, token="dev-gateway-token"),
        }
        outcomes = pull_all_vendors(factory, hooks, NOW)
    assert outcomes["V-PLUG"] == {"status": "failed", "error": RetriesExhausted.__name__}
    assert outcomes["V-SENSOR"]["status"] == "ok" and outcomes["V-SENSOR"]["new"] > 0
    assert alert_count(factory, "V-SENSOR") == outcomes["V-SENSOR"]["new"]
    with factory() as session:
        alert = session.scalars(select(OperationalAlert)).one()
        assert (alert.kind, alert.entity_id) == ("vendor_pull_failed", "V-PLUG")


def test_a_corrected_alert_is_one_row_with_a_revision(
    factory: sessionmaker[Session],
    devices: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    device = devices["V-AICALL"][0]
    call = DeviceEvent(
        "V-AICALL",
        "ai_call",
        "CALL-1",
        device,
        "abnormal_answer",
        NOW - dt.timedelta(hours=2),
        {"topics": ["pain"]},
    )
    with AiCallSimulator([call], page_size=3, faults=VendorFaults(reset_requests={3})) as server:
        hook = _hook(monkeypatch, "V-AICALL", server.base_url, login=("county", "dev-aicall"))
        pull_vendor(factory, hook, "V-AICALL", NOW)
        server.correct(call.corrected(topics=["hopelessness", "pain"]))
        changed = pull_vendor(factory, hook, "V-AICALL", NOW)
        again = pull_vendor(factory, hook, "V-AICALL", NOW)  # reset: reads both versions again
    assert changed.changed == 1 and again.received == 2 and again.changed == 0
    with factory() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.revision == 2
        assert alert.payload["topics"] == ["hopelessness", "pain"]
        revision = session.scalars(select(AlertRevision)).one()
        assert (revision.revision, revision.changed_fields) == (2, ["payload"])
        assert changed.alert_ids == [alert.id]


def test_the_gate_quarantines_bad_records_and_keeps_the_good(
    factory: sessionmaker[Session],
    devices: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = devices["V-PLUG"][0]

    def event(event_id: str, device: str, at: dt.datetime, kind: str = "no_activity") -> Any:
        return DeviceEvent("V-PLUG", "smart_plug", event_id, device, kind, at)

    events = [
        event("OK-1", good, NOW - dt.timedelta(hours=1)),
        event("BAD-DEVICE", "V-PLUG-777777", NOW - dt.timedelta(hours=1)),
        event("BAD-REMOVED", "V-PLUG-000099", NOW - dt.timedelta(hours=1)),
        event("BAD-FUTURE", good, NOW + dt.timedelta(hours=2)),
        event("BAD-OLD", good, NOW - dt.timedelta(days=40)),
        event("OK-2", good, NOW - dt.timedelta(days=2)),
    ]
    unknown_code = b"""{"result": "OK", "data": {"events": [{"eventId": "BAD-CODE",
        "deviceSerial": "V-PLUG-000001", "eventCode": "SMOKE", "occurredAt":
        "2026-12-03T10:00:00+09:00"}], "nextCursor": "0", "hasNext": false}}"""
    with PlugSimulator(events, page_size=10) as server:
        hook = _hook(monkeypatch, "V-PLUG", server.base_url, api_key="dev-plug-key")
        outcome = pull_vendor(factory, hook, "V-PLUG", NOW)
        pull_vendor(factory, hook, "V-PLUG", NOW)  # nothing new: nothing counted twice
    with PlugSimulator([], faults=VendorFaults(raw_answers={1: unknown_code})) as server:
        hook = _hook(monkeypatch, "V-PLUG", server.base_url, api_key="dev-plug-key")
        with factory() as session, session.begin():
            ingest._move_watermark(session, "V-PLUG", "0")
        pull_vendor(factory, hook, "V-PLUG", NOW)
    assert external_ids(factory, "V-PLUG") == ["OK-1", "OK-2"]
    assert outcome.quarantined == 4
    with factory() as session:
        assert vendor_gate_failures(session) == {"V-PLUG": 5}
        quarantined = session.execute(select(QuarantinedRow.row_key, QuarantinedRow.rule))
        rules = {key: rule for key, rule in quarantined}
    assert rules == {
        "V-PLUG:BAD-DEVICE": "device: unknown to the county",
        "V-PLUG:BAD-REMOVED": "device: not assigned to a client",
        "V-PLUG:BAD-FUTURE": "occurred_at: in the future",
        "V-PLUG:BAD-OLD": "occurred_at: older than the vendor's retention",
        "V-PLUG:BAD-CODE": "kind: unknown vendor code",
    }


def test_device_health_from_heartbeats_and_battery(
    factory: sessionmaker[Session],
    devices: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    device = devices["V-SENSOR"][0]
    newest = NOW - dt.timedelta(hours=1)

    def beat(event_id: str, at: dt.datetime, battery: int) -> DeviceEvent:
        return DeviceEvent(
            "V-SENSOR",
            "emergency_sensor",
            event_id,
            device,
            HEARTBEAT,
            at,
            {"battery_pct": battery},
        )

    with GatewaySimulator([beat("HB-2", newest, 40)], page_size=5) as server:
        server.add([beat("HB-1", newest - dt.timedelta(hours=5), 90)], after_request=2)
        hook = _hook(monkeypatch, "V-SENSOR", server.base_url, token="dev-gateway-token")
        pull_vendor(factory, hook, "V-SENSOR", NOW)
        late = pull_vendor(factory, hook, "V-SENSOR", NOW)  # the older reading comes late
    assert late.received == 1 and alert_count(factory) == 0  # heartbeats are no alerts
    with factory() as session:
        row = session.scalars(select(Device).where(Device.external_id == device)).one()
        stamp = row.last_heartbeat_at
        assert stamp is not None
        assert (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)) == newest
        assert row.battery_pct == 40


def test_a_query_key_from_the_connection(
    factory: sessionmaker[Session],
    devices: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = _events("V-AICALL", devices["V-AICALL"], seed=9)
    with AiCallSimulator(events, page_size=50, query_key="k-123") as server:
        wrong = _hook(monkeypatch, "V-AICALL", server.base_url, query_key="nope")
        with pytest.raises(ExternalServiceError, match="401"):
            pull_vendor(factory, wrong, "V-AICALL", NOW)
        hook = _hook(monkeypatch, "V-AICALL", server.base_url, query_key="k-123")
        pull_vendor(factory, hook, "V-AICALL", NOW)
    assert external_ids(factory, "V-AICALL") == _alerts(events)
