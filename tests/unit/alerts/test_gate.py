"""The gate's rules on single records, without a database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from care_models.alerts.gate import (
    CLOCK_SKEW,
    DeviceInfo,
    GateContext,
    GatedAlert,
    Quarantined,
    gate_alert,
)
from care_models.alerts.mapping import load_rules

NOW = dt.datetime(2026, 12, 3, 3, 0, tzinfo=dt.UTC)
DEVICES = {
    "G-1": DeviceInfo(1, 10, "active"),
    "G-2": DeviceInfo(2, 20, "removed"),
    "G-3": DeviceInfo(3, 30, "inactive"),
}
CTX = GateContext("V-SENSOR", load_rules("emergency_sensor"), DEVICES, NOW)


def _record(**change: Any) -> dict[str, Any]:
    record = {
        "alarmNo": "A-1",
        "gatewayId": "G-1",
        "eventType": "화재",
        "ts": int((NOW - dt.timedelta(minutes=5)).timestamp()),
        "forwarded119": True,
    }
    return {**record, **change}


def test_a_good_record_passes_with_its_device_and_client() -> None:
    passed = gate_alert(_record(), CTX)
    assert isinstance(passed, GatedAlert)
    assert (passed.device_id, passed.client_id, passed.mapped.kind) == (1, 10, "fire")
    assert passed.mapped.passed_to_119


def _at(delta: dt.timedelta) -> int:
    return int((NOW + delta).timestamp())


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"gatewayId": "G-9"}, "device: unknown to the county"),
        ({"gatewayId": "G-2"}, "device: not assigned to a client"),
        ({"gatewayId": "G-3"}, "device: not assigned to a client"),
        ({"ts": _at(CLOCK_SKEW + dt.timedelta(minutes=1))}, "occurred_at: in the future"),
        ({"ts": _at(-dt.timedelta(days=31))}, "occurred_at: older than the vendor's retention"),
        ({"eventType": "연기"}, "kind: unknown vendor code"),
        ({"ts": "어제"}, "occurred_at: must be epoch seconds"),
        ({"forwarded119": "yes"}, "passed_to_119: must be true or false"),
        ({"alarmNo": None}, "id: is missing or not text"),
    ],
)
def test_each_rule_quarantines_with_its_name(change: dict[str, Any], rule: str) -> None:
    outcome = gate_alert(_record(**change), CTX)
    assert isinstance(outcome, Quarantined)
    assert outcome.rule == rule
    if change.get("alarmNo", "A-1") is not None:
        assert outcome.row_key == "V-SENSOR:A-1"
    else:
        assert outcome.row_key.startswith("V-SENSOR:record#")


def test_a_little_clock_skew_is_tolerated() -> None:
    assert isinstance(gate_alert(_record(ts=_at(CLOCK_SKEW / 2)), CTX), GatedAlert)


def test_a_record_that_is_no_object_is_quarantined_not_a_crash() -> None:
    outcome = gate_alert(["not", "an", "object"], CTX)
    assert isinstance(outcome, Quarantined) and outcome.rule == "record: must be an object"
