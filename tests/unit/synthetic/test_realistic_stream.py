"""Weeks of a realistic fleet: quiet mostly, with silences, faults, emergencies and repeats."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

from care_models.synthetic.alert_streams import HEARTBEAT, realistic_stream
from care_models.synthetic.county import build_county

START = dt.datetime(2026, 11, 1, 15, tzinfo=dt.UTC)  # midnight, 2 November, in Seoul
SEOUL = dt.timezone(dt.timedelta(hours=9))


def _fleet() -> list[tuple[str, str, str]]:
    types = {"V-PLUG": "smart_plug", "V-SENSOR": "emergency_sensor", "V-AICALL": "ai_call"}
    return [(v, types[v], ext) for c in build_county().clients for v, ext in c.devices]


def test_four_weeks_of_the_countys_fleet_look_like_a_fleet() -> None:
    fleet = _fleet()
    events = realistic_stream(fleet, start=START, days=28)
    assert events == realistic_stream(fleet, start=START, days=28)  # reproducible
    kinds = Counter(e.kind for e in events)
    alerts = sum(n for kind, n in kinds.items() if kind != HEARTBEAT)
    assert kinds[HEARTBEAT] > 10 * alerts  # mostly quiet
    for kind in ("power_no_change", "no_activity", "missed_call", "device_offline", "low_battery"):
        assert kinds[kind] > 0, kind
    assert kinds["fire"] + kinds["gas"] + kinds["emergency_button"] > 0
    assert all(e.detail.get("forwarded_119") for e in events if e.kind in ("fire", "gas"))
    ids = Counter(e.event_id for e in events)
    assert any(n > 1 for n in ids.values())  # re-sent or corrected by the vendor
    calls = [e for e in events if e.device_type == "ai_call"]
    assert {e.occurred_at.astimezone(SEOUL).weekday() for e in calls} == {0, 3}
    assert all(START <= e.occurred_at < START + dt.timedelta(days=28, hours=3) for e in events)


def test_a_faulty_device_goes_quiet_then_recovers() -> None:
    fleet = _fleet()
    events = realistic_stream(fleet, start=START, days=28)
    (device, offline_at) = next(
        (e.device, e.occurred_at) for e in events if e.kind == "device_offline"
    )
    beats = sorted(e.occurred_at for e in events if e.device == device and e.kind == HEARTBEAT)
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    assert max(gaps) >= dt.timedelta(days=2)  # quiet for at least a day
    assert beats[-1] > offline_at  # and back
