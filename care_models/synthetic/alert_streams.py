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


# -- weeks of a realistic fleet -------------------------------------------------------------

# Chances per device and week, from the programmes' reports: most weeks are quiet; a
# person's silence (no power change, no movement) is a few percent, the AI call is
# missed or answered abnormally now and then, true emergencies are rare, and vendors
# re-send or correct a few alerts.
WEEKLY_CHANCE = {
    "silence": 0.05,
    "device_fault": 0.03,
    "emergency": 0.01,
    "false_button": 0.02,
    "door_at_night": 0.02,
}
CALL_CHANCE = {"missed_call": 0.06, "abnormal_answer": 0.03}
DUPLICATE_CHANCE = 0.05
CORRECTION_CHANCE = 0.02
CALL_WEEKDAYS = (0, 3)  # Monday and Thursday, about 10:00
SEOUL_OFFSET = dt.timedelta(hours=9)


@dataclass
class _Stream:
    rng: random.Random
    events: list[DeviceEvent] = field(default_factory=list)
    counter: int = 0

    def add(
        self, vendor: str, device_type: str, device: str, kind: str, at: dt.datetime, **detail: Any
    ) -> DeviceEvent:
        self.counter += 1
        event = DeviceEvent(
            vendor, device_type, f"{vendor}-W{self.counter:08d}", device, kind, at, detail
        )
        self.events.append(event)
        if kind != HEARTBEAT and self.rng.random() < DUPLICATE_CHANCE:  # re-sent as is
            self.events.append(replace(event, occurred_at=event.occurred_at))
        if kind != HEARTBEAT and self.rng.random() < CORRECTION_CHANCE:
            self.events.append(event.corrected(corrected=True))
        return event


def _daily_status(
    stream: _Stream, vendor: str, device_type: str, device: str, start: dt.datetime, days: int
) -> None:
    """A daily status with the battery running down; a fault stops it for 1-3 days."""
    rng = stream.rng
    battery = rng.randint(40, 100)
    fault_from = fault_until = -1
    if rng.random() < WEEKLY_CHANCE["device_fault"] * days / 7:
        fault_from = rng.randrange(days)
        fault_until = fault_from + rng.randint(1, 3)
    for day in range(days):
        at = start + dt.timedelta(days=day, minutes=rng.randint(0, 59))
        if fault_from <= day < fault_until:
            if day == fault_from and "device_offline" in KINDS_BY_TYPE[device_type]:
                # the plug vendor reports it; a gateway just goes quiet (our health check sees it)
                stream.add(
                    vendor, device_type, device, "device_offline", at + dt.timedelta(hours=2)
                )
            continue  # nothing from a broken device; it recovers by itself
        battery = max(0, battery - rng.choice((0, 1, 1, 2)))
        stream.add(vendor, device_type, device, HEARTBEAT, at, battery_pct=battery)
        if battery == 14:
            stream.add(vendor, device_type, device, "low_battery", at, battery_pct=battery)


def _person_events(
    stream: _Stream, vendor: str, device_type: str, device: str, start: dt.datetime, days: int
) -> None:
    rng = stream.rng
    weeks = days / 7

    def some_time() -> dt.datetime:
        return start + dt.timedelta(minutes=rng.randrange(days * 24 * 60))

    if (
        device_type in ("smart_plug", "emergency_sensor")
        and rng.random() < WEEKLY_CHANCE["silence"] * weeks
    ):
        if device_type == "smart_plug":
            stream.add(
                vendor,
                device_type,
                device,
                "power_no_change",
                some_time(),
                hours=rng.choice((24, 36, 48)),
            )
        else:
            stream.add(vendor, device_type, device, "no_activity", some_time())
    if device_type == "emergency_sensor":
        if rng.random() < WEEKLY_CHANCE["emergency"] * weeks:
            kind = rng.choice(("fire", "gas", "emergency_button"))
            detail = {"forwarded_119": True} if kind in ("fire", "gas") else {}
            stream.add(vendor, device_type, device, kind, some_time(), **detail)
        if rng.random() < WEEKLY_CHANCE["false_button"] * weeks:
            stream.add(vendor, device_type, device, "emergency_button", some_time())
        if rng.random() < WEEKLY_CHANCE["door_at_night"] * weeks:
            stream.add(vendor, device_type, device, "door", some_time())
    if device_type == "ai_call":
        for day in range(days):
            local = start + SEOUL_OFFSET + dt.timedelta(days=day)
            if local.weekday() not in CALL_WEEKDAYS:
                continue
            at = start + dt.timedelta(days=day, hours=1, minutes=rng.randint(0, 59))  # ~10:00 KST
            draw = rng.random()
            if draw < CALL_CHANCE["missed_call"]:
                stream.add(vendor, device_type, device, "missed_call", at, attempts=3)
            elif draw < CALL_CHANCE["missed_call"] + CALL_CHANCE["abnormal_answer"]:
                topics = sorted(rng.sample(ABNORMAL_TOPICS, k=rng.randint(1, 2)))
                stream.add(vendor, device_type, device, "abnormal_answer", at, topics=topics)
            else:
                stream.add(vendor, device_type, device, HEARTBEAT, at)  # answered normally


def realistic_stream(
    devices: Sequence[tuple[str, str, str]], *, start: dt.datetime, days: int = 7, seed: int = 11
) -> list[DeviceEvent]:
    """Weeks of a fleet's events (``start`` at a Seoul midnight, in UTC), by time.

    Daily status from plugs and gateways with batteries running down (a low-battery
    alert when one reaches 14%), device faults that stop a device for one to three
    days and recover, a person's silences, AI check-in calls on Mondays and Thursdays
    (mostly answered), rare true emergencies (fire and gas already passed to 119 by
    the vendor), false emergency-button presses, and alerts the vendor re-sends as
    they were or corrects. The same arguments give the same events.
    """
    stream = _Stream(random.Random(seed))
    for vendor, device_type, device in devices:
        if device_type in ("smart_plug", "emergency_sensor"):
            _daily_status(stream, vendor, device_type, device, start, days)
        _person_events(stream, vendor, device_type, device, start, days)
    return sorted(stream.events, key=lambda e: (e.occurred_at, e.event_id))
