"""Storing gated alerts once, and the device health their records report.

:func:`store_alerts` upserts on (vendor, the vendor's alert id):

- an alert not seen before is inserted (revision 1);
- the same alert again, with the same content, changes nothing;
- a corrected alert (the vendor re-sends the id with changed content) updates the
  row, raises ``revision`` and records an ``alert_revisions`` row naming the
  changed fields (names only, never values);
- an older version delivered again after its correction (an overlapping page, a
  cursor reset re-reading the feed) is recognised by the digest of its content,
  kept in ``payload["versions"]``, and ignored: a re-read never undoes a correction.
  (The price: a vendor that corrects an alert back to an earlier content is not
  followed; the vendors do not do that.)

The incident fields (``incident_id``, ``suppressed``, ``status``) belong to the
merge step and are never touched here.

:func:`update_device_health` applies the records' signs of life: every record from
a device except ``device_offline`` and ``heartbeat_missing`` (which the vendor
raises *about* a silent device) shows the device was alive at its time, so
``last_heartbeat_at`` becomes the latest such time. A battery reading is applied
only from a record not older than the last sign of life, so a late, out-of-order
reading never overwrites a newer one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from care_models.alerts.gate import GatedAlert, aware, vendor_of
from care_models.schema import Alert, AlertRevision, Device

COMPARED = (
    "device_id",
    "client_id",
    "kind",
    "severity",
    "occurred_at",
    "vendor_kind",
    "passed_to_119",
    "payload",
)
VERSIONS_KEY = "versions"
MAX_VERSIONS = 10
NOT_ALIVE_KINDS = ("device_offline", "heartbeat_missing")


@dataclass
class StoreResult:
    """Ids of the alerts inserted and of those a correction changed; counts of the rest."""

    new_ids: list[int] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    unchanged: int = 0
    stale: int = 0

    @property
    def ids(self) -> list[int]:
        return [*self.new_ids, *self.changed_ids]


def _values(alert: GatedAlert) -> dict[str, Any]:
    m = alert.mapped
    return {
        "device_id": alert.device_id,
        "client_id": alert.client_id,
        "kind": m.kind,
        "severity": m.severity,
        "occurred_at": m.occurred_at,
        "vendor_kind": m.vendor_kind,
        "passed_to_119": m.passed_to_119,
        "payload": dict(m.payload),
    }


def _digest(values: dict[str, Any]) -> str:
    text = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _current(row: Alert) -> dict[str, Any]:
    payload = {k: v for k, v in (row.payload or {}).items() if k != VERSIONS_KEY}
    return {
        **{name: getattr(row, name) for name in COMPARED},
        "occurred_at": aware(row.occurred_at),
        "payload": payload,
    }


def store_alerts(
    session: Session, vendor_code: str, alerts: Sequence[GatedAlert], now: dt.datetime
) -> StoreResult:
    """Upsert ``alerts`` of one vendor (module docstring), in the caller's transaction.

    A concurrent writer (a push and a pull of the same alert) that inserts first
    makes this batch's insert fail on the unique key; the batch is then stored again
    from what is in the database (a savepoint keeps the caller's transaction).
    """
    vendor_id = vendor_of(session, vendor_code).id
    for attempt in range(3):
        try:
            with session.begin_nested():
                return _store(session, vendor_id, alerts, aware(now))
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _store(
    session: Session, vendor_id: int, alerts: Sequence[GatedAlert], now: dt.datetime
) -> StoreResult:
    result = StoreResult()
    ids = sorted({a.mapped.external_id for a in alerts if a.mapped.action == "alert"})
    existing: dict[str, Alert] = {}
    for start in range(0, len(ids), 500):
        for stored in session.scalars(
            select(Alert).where(
                Alert.vendor_id == vendor_id, Alert.external_id.in_(ids[start : start + 500])
            )
        ):
            existing[stored.external_id] = stored
    fresh: dict[str, dict[str, Any]] = {}  # new alerts, inserted in bulk below
    changed: dict[str, Alert] = {}
    for alert in alerts:
        if alert.mapped.action != "alert":
            continue
        values = _values(alert)
        digest = _digest(values)
        external_id = alert.mapped.external_id
        row = existing.get(external_id)
        if row is not None:
            if _apply(session, row, values, digest, now, result):
                changed[external_id] = row
            continue
        pending = fresh.get(external_id)
        if pending is None:
            fresh[external_id] = {
                "vendor_id": vendor_id,
                "external_id": external_id,
                "revision": 1,
                **values,
                "payload": {**values["payload"], VERSIONS_KEY: [digest]},
            }
        else:  # corrected within the batch that inserts it: one row, its latest content
            _apply_pending(pending, values, digest, result)
    session.flush()
    if fresh:
        # one multi-row INSERT ... RETURNING instead of an ORM flush per row
        inserted = session.scalars(
            insert(Alert).returning(Alert.id, sort_by_parameter_order=True), list(fresh.values())
        ).all()
        result.new_ids = sorted(inserted)
    result.changed_ids = sorted(r.id for r in changed.values())
    return result


def _apply_pending(
    pending: dict[str, Any], values: dict[str, Any], digest: str, result: StoreResult
) -> None:
    """A later copy of an alert not stored yet: keep the newest version, as _apply does."""
    versions = list(pending["payload"][VERSIONS_KEY])
    current = {name: pending[name] for name in COMPARED}
    current["payload"] = {k: v for k, v in pending["payload"].items() if k != VERSIONS_KEY}
    if all(current[name] == values[name] for name in COMPARED):
        result.unchanged += 1
        return
    if digest in versions:
        result.stale += 1
        return
    pending.update(values)
    pending["payload"] = {**values["payload"], VERSIONS_KEY: [*versions, digest][-MAX_VERSIONS:]}


def _apply(
    session: Session,
    row: Alert,
    values: dict[str, Any],
    digest: str,
    now: dt.datetime,
    result: StoreResult,
) -> bool:
    """Update ``row`` to ``values`` when they are a new version; whether it changed."""
    current = _current(row)
    names = [name for name in COMPARED if current[name] != values[name]]
    versions = list((row.payload or {}).get(VERSIONS_KEY) or [])
    if not names:
        result.unchanged += 1
        return False
    if digest in versions:  # an older version read again: never undo a correction
        result.stale += 1
        return False
    for name in COMPARED:
        if name != "payload":
            setattr(row, name, values[name])
    row.payload = {**values["payload"], VERSIONS_KEY: [*versions, digest][-MAX_VERSIONS:]}
    row.revision = (row.revision or 1) + 1
    if row.id is not None:
        revision = AlertRevision(
            alert_id=row.id, revision=row.revision, changed_at=now, changed_fields=names
        )
        session.add(revision)
    else:  # corrected within the batch that inserts it: one row, its latest content
        row.revision = 1
    return True


def update_device_health(session: Session, alerts: Sequence[GatedAlert]) -> int:
    """Apply signs of life and battery readings (module docstring); devices changed."""
    by_device: dict[int, list[GatedAlert]] = {}
    for alert in alerts:
        if alert.mapped.kind not in NOT_ALIVE_KINDS:
            by_device.setdefault(alert.device_id, []).append(alert)
    if not by_device:
        return 0
    updates = []
    rows = session.execute(
        select(Device.id, Device.last_heartbeat_at, Device.battery_pct).where(
            Device.id.in_(sorted(by_device))
        )
    ).all()
    for device_id, seen, battery in rows:
        last = aware(seen) if seen else None
        before = (last, battery)
        for alert in sorted(by_device[device_id], key=lambda a: a.mapped.occurred_at):
            moment = alert.mapped.occurred_at
            if last is not None and moment < last:
                continue  # late and out of order: an older reading
            last = moment
            if alert.mapped.battery_pct is not None:
                battery = alert.mapped.battery_pct
        if (last, battery) != before:
            updates.append({"id": device_id, "last_heartbeat_at": last, "battery_pct": battery})
    if updates:
        session.execute(update(Device), updates)  # one executemany by primary key
    return len(updates)
