"""Device health for administrators: which devices nobody has heard from, which are low.

A device is **offline** when its last sign of life (a heartbeat or any record, kept in
``devices.last_heartbeat_at`` by the sync) is older than twice its vendor-reported
heartbeat interval, or it never reported since it was installed more than a day ago;
a battery under :data:`LOW_BATTERY_PCT` is **low**. Both are maintenance work for the
vendor and the town office, not an escalation of the person: the alert protocol is
for people, device health for devices.

The list names the vendor, the device, the client's case code and the town: no
personal data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.schema import Client, Device, Organisation, Town

LOW_BATTERY_PCT = 20
MISSED_HEARTBEATS = 2
NEVER_HEARD_AFTER = dt.timedelta(days=1)


@dataclass(frozen=True)
class DeviceProblem:
    vendor: str
    device: str
    device_type: str
    client_code: str
    town: str
    problem: str  # offline | never_reported | low_battery
    since: str | None  # UTC, minutes: the last sign of life
    battery_pct: int | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _aware(stamp: dt.datetime) -> dt.datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def device_problems(
    session: Session, now: dt.datetime, low_battery_pct: int = LOW_BATTERY_PCT
) -> list[DeviceProblem]:
    """Active devices that are offline, never reported, or low on battery, as of ``now``."""
    rows = session.execute(
        select(Device, Organisation.code, Client.code, Town.name)
        .join(Organisation, Organisation.id == Device.vendor_id)
        .join(Client, Client.id == Device.client_id)
        .join(Town, Town.id == Client.town_id)
        .where(Device.status == "active")
        .order_by(Organisation.code, Device.external_id)
    ).all()
    problems = []
    for device, vendor, client_code, town in rows:
        seen = _aware(device.last_heartbeat_at) if device.last_heartbeat_at else None
        installed = dt.datetime.combine(device.installed_on, dt.time(0), tzinfo=dt.UTC)
        window = dt.timedelta(minutes=device.heartbeat_interval_min * MISSED_HEARTBEATS)
        found = []
        if seen is None and now - installed > NEVER_HEARD_AFTER:
            found.append("never_reported")
        elif seen is not None and now - seen > window:
            found.append("offline")
        if device.battery_pct is not None and device.battery_pct < low_battery_pct:
            found.append("low_battery")
        for problem in found:
            problems.append(
                DeviceProblem(
                    vendor=vendor,
                    device=device.external_id,
                    device_type=device.device_type,
                    client_code=client_code,
                    town=town,
                    problem=problem,
                    since=seen.strftime("%Y-%m-%d %H:%M") if seen else None,
                    battery_pct=device.battery_pct,
                )
            )
    return problems
