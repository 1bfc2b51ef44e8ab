"""Canonical device events for the synthetic county: what the vendor simulators serve.

An event is the vendor-neutral truth (a device, a kind, a time); each simulator in
``care_sim.vendors`` renders it in its own vocabulary and payload shape, so the
mapping rules are tested against the inverse of what a simulator made. The stream is
small and deterministic (``random.Random(seed)``): heartbeats and battery readings
for every device, a few silences per vendor type, some emergencies, a corrected
alert and a duplicate, all between ``start`` and ``start + days``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

# The canonical kinds each vendor type raises (ours, see care_models.vocab.ALERT_KINDS),
# plus "heartbeat": a sign of life that is no alert.
HEARTBEAT = "heartbeat"
KINDS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "smart_plug": ("power_no_change", "no_activity", "low_battery", "device_offline"),
    "emergency_sensor": (
        "fire",
        "gas",
        "no_activity",
        "door",
        "emergency_button",
        "low_battery",
    ),
    "ai_call": ("missed_call", "abnormal_answer"),
    "ai_speaker": ("sos",),
}
ABNORMAL_TOPICS = ("pain", "hunger", "hopelessness")


@dataclass(frozen=True)
class DeviceEvent:
    """One event as the vendor knows it; ``event_id`` is the vendor's own alert id."""

    vendor_code: str
    device_type: str
    event_id: str
    device: str  # the vendor's device external id
    kind: str  # one of KINDS_BY_TYPE[device_type] or HEARTBEAT
    occurred_at: dt.datetime  # aware
    detail: dict[str, Any] = field(default_factory=dict)

    def corrected(self, **detail: Any) -> DeviceEvent:
        """The same alert re-sent by the vendor with changed details (same id)."""
        return replace(self, detail={**self.detail, **detail})


def _detail(rng: random.Random, device_type: str, kind: str) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    if device_type == "smart_plug" and kind == "power_no_change":
        detail["hours"] = rng.choice((24, 36, 48))
    if kind in ("fire", "gas"):
        detail["forwarded_119"] = True
    if kind == "abnormal_answer":
        detail["topics"] = sorted(rng.sample(ABNORMAL_TOPICS, k=rng.randint(1, 2)))
    if kind == "missed_call":
        detail["attempts"] = 3
    if kind == "low_battery":
        detail["battery_pct"] = rng.randint(3, 15)
    return detail


def event_stream(
    devices: Sequence[tuple[str, str, str]],
    *,
    start: dt.datetime,
    days: int = 7,
    seed: int = 7,
    alert_rate: float = 0.3,
) -> list[DeviceEvent]:
    """Events of ``devices`` (vendor code, device type, external id), by time.

    Every device sends a heartbeat (with a battery reading where the type has one)
    once a day; about ``alert_rate`` of the devices raise one alert of a kind their
    type has, at a random minute of the period. Ids are ``<vendor>-E<n>``.
    """
    rng = random.Random(seed)
    events: list[DeviceEvent] = []
    counter = 0

    def next_id(vendor: str) -> str:
        nonlocal counter
        counter += 1
        return f"{vendor}-E{counter:07d}"

    for vendor, device_type, device in devices:
        if device_type in ("smart_plug", "emergency_sensor"):
            for day in range(days):
                at = start + dt.timedelta(days=day, minutes=rng.randint(0, 59))
                detail = {"battery_pct": max(0, 95 - day * rng.randint(0, 3))}
                events.append(
                    DeviceEvent(vendor, device_type, next_id(vendor), device, HEARTBEAT, at, detail)
                )
        if device_type == "ai_call":  # calls twice a week; an answered one is a sign of life
            for day in range(0, days, 3):
                at = start + dt.timedelta(days=day, hours=10, minutes=rng.randint(0, 59))
                events.append(
                    DeviceEvent(vendor, device_type, next_id(vendor), device, HEARTBEAT, at)
                )
        if rng.random() < alert_rate:
            kind = rng.choice(KINDS_BY_TYPE[device_type])
            at = start + dt.timedelta(minutes=rng.randint(0, days * 24 * 60 - 1))
            detail = _detail(rng, device_type, kind)
            event_id = next_id(vendor)
            events.append(DeviceEvent(vendor, device_type, event_id, device, kind, at, detail))
    return sorted(events, key=lambda e: (e.occurred_at, e.event_id))


def county_devices(county: Any) -> list[tuple[str, str, str]]:
    """(vendor code, device type, external id) of the synthetic county's client devices."""
    from care_models.synthetic.county import VENDORS

    types = {code: device_type for code, _name, device_type in VENDORS}
    return [(vendor, types[vendor], ext) for c in county.clients for vendor, ext in c.devices]


def of_vendor(events: Iterable[DeviceEvent], vendor_code: str) -> list[DeviceEvent]:
    return [e for e in events if e.vendor_code == vendor_code]
