"""Device health for administrators: which devices nobody has heard from, which are low.

A device is **offline** when its last sign of life (a heartbeat or any record, kept in
``devices.last_heartbeat_at`` by the sync) is older than twice its vendor-reported
heartbeat interval, or it never reported since it was installed more than a day ago;
a battery under :data:`LOW_BATTERY_PCT` is **low**. Both are maintenance work for the
vendor and the town office, not an escalation of the person: the alert protocol is
for people, device health for devices.

The list names the vendor, the device, the client's case code and the town: no
personal data.

:func:`check_devices` (the ``device_health`` task of ``device_alert_sync``) turns the
list into work, as of the run's time:

- every problem is a **maintenance task** for the vendor and the town office: an
  operational alert ``device_maintenance`` on the device (one per device, refreshed
  while the problem lasts, resolved when it is gone), on the administrators' list;
- one exception concerns the person: a device of a **high-risk** client (risk tier
  ``at_risk``) offline for more than :data:`SILENT_INCIDENT_AFTER` (a day: two
  missed heartbeats, then a day more) may mean
  the person is silent too, so the platform raises its own alert ``silent_device``
  for that outage (keyed on the device and its last sign of life: one per outage),
  which the merge turns into (or adds to) the client's incident like any alert; a
  device under maintenance or a client recorded as away suppresses it as usual.
  Two silences are not the person's: a device that never reported (an installation
  to fix) and a vendor none of whose devices reported in that day (the vendor's
  outage, which its failing sync and the maintenance list already show). Neither
  raises an alert, or every client of a dead vendor would be "missing" at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from care_models import operations
from care_models.schema import Alert, Client, Device, Organisation, Town

LOW_BATTERY_PCT = 20
MISSED_HEARTBEATS = 2
NEVER_HEARD_AFTER = dt.timedelta(days=1)
SILENT_INCIDENT_AFTER = dt.timedelta(days=1)
HIGH_RISK_TIERS = ("at_risk",)
MAINTENANCE_KIND = "device_maintenance"
PROBLEM_LABELS = {
    "offline": "오프라인",
    "never_reported": "설치 후 신호 없음",
    "low_battery": "배터리 부족",
}


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
        window = _offline_after(device)
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


@dataclass(frozen=True)
class DeviceUpkeep:
    """What one check did: counts and device codes only."""

    maintenance_open: int
    maintenance_resolved: int
    silent_alerts: tuple[str, ...]  # "<vendor>:<device>" of the new silent_device alerts

    def as_dict(self) -> dict[str, object]:
        return {
            "maintenance_open": self.maintenance_open,
            "maintenance_resolved": self.maintenance_resolved,
            "silent_device_alerts": list(self.silent_alerts),
        }


def _offline_after(device: Device) -> dt.timedelta:
    return dt.timedelta(minutes=device.heartbeat_interval_min * MISSED_HEARTBEATS)


def _raise_silent_alerts(session: Session, now: dt.datetime) -> list[str]:
    """A ``silent_device`` alert per outage of a high-risk client's device, once."""
    rows = session.execute(
        select(Device, Organisation.code)
        .join(Organisation, Organisation.id == Device.vendor_id)
        .join(Client, Client.id == Device.client_id)
        .where(Device.status == "active", Client.risk_tier.in_(HIGH_RISK_TIERS))
        .order_by(Device.id)
    ).all()
    vendor_heard = dict(
        session.execute(
            select(Device.vendor_id, func.max(Device.last_heartbeat_at)).group_by(Device.vendor_id)
        ).all()
    )
    raised = []
    for device, vendor in rows:
        if device.last_heartbeat_at is None:
            continue  # never installed right: maintenance, not a missing person
        since = _aware(device.last_heartbeat_at)
        # offline after two missed heartbeats, and offline for more than a day since
        silent_at = since + _offline_after(device) + SILENT_INCIDENT_AFTER
        heard = vendor_heard.get(device.vendor_id)
        if now < silent_at or heard is None:
            continue
        if now - _aware(heard) > silent_at - since:
            continue  # the whole vendor is silent: its outage, not this person's
        external_id = f"care-health:{device.external_id}:{since:%Y%m%dT%H%M}"
        exists = session.scalar(
            select(Alert.id).where(
                Alert.vendor_id == device.vendor_id, Alert.external_id == external_id
            )
        )
        if exists is not None:
            continue
        session.add(
            Alert(
                vendor_id=device.vendor_id,
                external_id=external_id,
                device_id=device.id,
                client_id=device.client_id,
                kind="silent_device",
                severity="warning",
                occurred_at=silent_at,  # from the data: re-runs agree
                status="open",
                payload={"source": "device_health", "silent_since": since.isoformat()},
            )
        )
        raised.append(f"{vendor}:{device.external_id}")
    session.flush()
    return raised


def check_devices(session: Session, now: dt.datetime) -> DeviceUpkeep:
    """Maintenance tasks for every device problem, and silent-device alerts (see above)."""
    problems = device_problems(session, now)
    by_device: dict[str, list[DeviceProblem]] = {}
    for problem in problems:
        by_device.setdefault(f"{problem.vendor}:{problem.device}", []).append(problem)
    for entity_id, found in sorted(by_device.items()):
        first = found[0]
        what = ", ".join(PROBLEM_LABELS.get(p.problem, p.problem) for p in found)
        operations.raise_alert(
            session,
            workflow="device_alert_sync",
            kind=MAINTENANCE_KIND,
            entity="device",
            entity_id=entity_id,
            detail=f"{what}: {first.device_type} of {first.client_code} in {first.town} "
            f"(vendor {first.vendor} and the town office)",
        )
    resolved = 0
    for entity_id in operations.open_entity_ids(session, (MAINTENANCE_KIND,), "device"):
        if entity_id not in by_device:
            resolved += operations.resolve_alerts(session, (MAINTENANCE_KIND,), "device", entity_id)
    silent = _raise_silent_alerts(session, _aware(now))
    return DeviceUpkeep(len(by_device), resolved, tuple(silent))
