"""Each vendor's vocabulary, as its simulator renders it, maps back to our kinds."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from care_models import vocab
from care_models.alerts.mapping import (
    RULES_DIR,
    RecordRejected,
    load_rules,
    map_record,
    parse_rules,
)
from care_models.errors import ConfigurationError
from care_models.synthetic.alert_streams import HEARTBEAT, KINDS_BY_TYPE, DeviceEvent
from care_sim.vendors.aicall import AiCallSimulator
from care_sim.vendors.gateway import GatewaySimulator
from care_sim.vendors.plug import PlugSimulator
from care_sim.vendors.speaker import SpeakerSimulator

AT = dt.datetime(2026, 12, 3, 1, 30, tzinfo=dt.UTC)
DETAIL: dict[str, dict[str, Any]] = {
    "power_no_change": {"hours": 36},
    "fire": {"forwarded_119": True},
    "gas": {"forwarded_119": True},
    "abnormal_answer": {"topics": ["hopelessness", "pain"]},
    "missed_call": {"attempts": 3},
    "low_battery": {"battery_pct": 9},
}


def _render(device_type: str, event: DeviceEvent) -> dict:
    if device_type == "ai_speaker":
        return json.loads(SpeakerSimulator.body(event))
    simulator = {
        "smart_plug": PlugSimulator,
        "emergency_sensor": GatewaySimulator,
        "ai_call": AiCallSimulator,
    }[device_type]()
    return simulator.render(event)


CASES = [
    (t, k)
    for t, kinds in KINDS_BY_TYPE.items()
    for k in (*kinds, *((HEARTBEAT,) if t != "ai_speaker" else ()))
]


@pytest.mark.parametrize(("device_type", "kind"), CASES)
def test_each_vendor_code_maps_to_our_kind(device_type: str, kind: str) -> None:
    rules = load_rules(device_type)
    event = DeviceEvent("V-X", device_type, "E-1", "V-X-000001", kind, AT, DETAIL.get(kind, {}))
    mapped = map_record(_render(device_type, event), rules)
    assert mapped.external_id == "E-1" and mapped.device == "V-X-000001"
    assert mapped.occurred_at == AT
    if kind == HEARTBEAT:
        assert mapped.action == "heartbeat" and mapped.kind is None
    else:
        assert mapped.action == "alert" and mapped.kind == kind
        assert (mapped.severity == "critical") == (kind in vocab.CRITICAL_ALERT_KINDS)
    assert mapped.passed_to_119 == (kind in ("fire", "gas"))
    if kind == "abnormal_answer":
        assert mapped.payload["topics"] == ["hopelessness", "pain"]
    if kind == "low_battery" and device_type != "ai_call":
        assert mapped.battery_pct == 9


def test_an_unknown_code_is_a_rejected_record_not_a_crash() -> None:
    record = {"eventId": "E-2", "deviceSerial": "D", "eventCode": "SMOKE?", "occurredAt": "x"}
    with pytest.raises(RecordRejected) as caught:
        map_record(record, load_rules("smart_plug"))
    assert caught.value.field == "kind" and "SMOKE" not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"eventId": None}, "id"),
        ({"deviceSerial": ""}, "device"),
        ({"occurredAt": "2026-12-03T10:00:00"}, "occurred_at"),
        ({"occurredAt": "yesterday"}, "occurred_at"),
        ({"battery": 140}, "battery"),
    ],
)
def test_a_broken_field_is_named(change: dict, field: str) -> None:
    record = {
        "eventId": "E-3",
        "deviceSerial": "D",
        "eventCode": "LOW_BATTERY",
        "occurredAt": "2026-12-03T10:00:00+09:00",
        "battery": 10,
        **change,
    }
    with pytest.raises(RecordRejected) as caught:
        map_record(record, load_rules("smart_plug"))
    assert caught.value.field == field


def test_plug_thresholds_outside_24_to_50_hours_are_unknown() -> None:
    rules = load_rules("smart_plug")
    assert rules.rule_for("NO_USAGE_50H") is not None
    assert rules.rule_for("NO_USAGE_12H") is None
    assert rules.rule_for("NO_USAGE_51H") is None


def test_rules_files_are_validated() -> None:
    document = json.loads((RULES_DIR / "emergency_sensor.json").read_text(encoding="utf-8"))
    document["codes"][1]["critical"] = False  # fire, not marked critical
    with pytest.raises(ConfigurationError, match="critical"):
        parse_rules(document)
    document = json.loads((RULES_DIR / "smart_plug.json").read_text(encoding="utf-8"))
    document["codes"][1]["kind"] = "smoke"
    with pytest.raises(ConfigurationError, match="kind"):
        parse_rules(document)
