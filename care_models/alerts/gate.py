"""The gate every vendor record passes before it is stored (pulled or pushed alike).

A record passes when:

1. it maps by its vendor's rules (an id, a device, a known code, a time with a zone:
   :func:`care_models.alerts.mapping.map_record`);
2. its device is known: a device of this vendor with that external id;
3. the device is assigned to a client: its status is ``active`` (an ``inactive`` or
   ``removed`` device belongs to nobody any more);
4. its time is plausible: not after the run's time (plus :data:`CLOCK_SKEW`, the
   vendors' clocks are not ours), not older than the vendor's retention
   (``retention_days`` in its rules file).

A record that fails is quarantined with its rule by the platform's one quarantine
(``gate_results`` and ``quarantined_rows``, as :mod:`gates` records a Great
Expectations gate): stage :data:`GATE_STAGE`, the row key ``<vendor>:<alert id>``
(a digest of the record when it has no usable id), the rule ``<field>: <rule>``. The
gate result's ``run_key`` is the vendor's code, so the quarantined rows count per
vendor for administrators (``sql/alerts/count_vendor_gate_failures.sql``). One bad record
never stops its batch: the others are stored. The rules name fields, never values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.alerts.mapping import MappedRecord, RecordRejected, VendorRules, map_record
from care_models.alerts.mapping import record_key as vendor_alert_id
from care_models.errors import NotFoundError
from care_models.queries import load_query
from care_models.schema import Device, GateResult, Organisation, QuarantinedRow

GATE_STAGE = "alerts.vendor_gate"
CLOCK_SKEW = dt.timedelta(minutes=10)
RULES = (
    "record: maps by the vendor's rules",
    "device: known",
    "device: assigned to a client",
    "occurred_at: not in the future",
    "occurred_at: within the vendor's retention",
)


def aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands timestamps back without their zone; they are stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class DeviceInfo:
    id: int
    client_id: int
    status: str


@dataclass(frozen=True)
class GatedAlert:
    """A record that passed: mapped, with its device and that device's client."""

    mapped: MappedRecord
    device_id: int
    client_id: int


@dataclass(frozen=True)
class Quarantined:
    row_key: str
    rule: str


@dataclass(frozen=True)
class GateContext:
    """What the gate checks one vendor's records against."""

    vendor_code: str
    rules: VendorRules
    devices: dict[str, DeviceInfo]
    now: dt.datetime


@dataclass
class GateBatch:
    passed: list[GatedAlert] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)

    @property
    def evaluated(self) -> int:
        return len(self.passed) + len(self.quarantined)


def vendor_of(session: Session, vendor_code: str) -> Organisation:
    """The vendor organisation of ``vendor_code``; NotFoundError when there is none."""
    vendor = session.scalars(
        select(Organisation).where(Organisation.code == vendor_code, Organisation.kind == "vendor")
    ).one_or_none()
    if vendor is None or vendor.device_type is None:
        raise NotFoundError(f"vendor {vendor_code}: no such vendor with a device type")
    return vendor


def row_key(vendor_code: str, record: Any, rules: VendorRules) -> str:
    known = vendor_alert_id(record, rules)
    if known is None:
        text = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
        known = "record#" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{vendor_code}:{known}"[:120]


def gate_alert(record: Any, ctx: GateContext) -> GatedAlert | Quarantined:
    """One record through the gate's rules (module docstring)."""
    try:
        mapped = map_record(record, ctx.rules)
    except RecordRejected as rejected:
        return Quarantined(row_key(ctx.vendor_code, record, ctx.rules), str(rejected))
    key = f"{ctx.vendor_code}:{mapped.external_id}"[:120]
    device = ctx.devices.get(mapped.device)
    if device is None:
        return Quarantined(key, "device: unknown to the county")
    if device.status != "active":
        return Quarantined(key, "device: not assigned to a client")
    if mapped.occurred_at > ctx.now + CLOCK_SKEW:
        return Quarantined(key, "occurred_at: in the future")
    if mapped.occurred_at < ctx.now - ctx.rules.retention:
        return Quarantined(key, "occurred_at: older than the vendor's retention")
    return GatedAlert(mapped, device.id, device.client_id)


def _devices(
    session: Session, vendor: Organisation, records: Sequence[Any], rules: VendorRules
) -> dict[str, DeviceInfo]:
    """The vendor's devices the records name (one query per batch)."""
    path = rules.record.device.split(".")
    wanted: set[str] = set()
    for record in records:
        node: Any = record
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str):
            wanted.add(node.strip())
    if not wanted:
        return {}
    found: dict[str, DeviceInfo] = {}
    names = sorted(wanted)
    for start in range(0, len(names), 500):
        rows = session.execute(
            select(Device.external_id, Device.id, Device.client_id, Device.status).where(
                Device.vendor_id == vendor.id, Device.external_id.in_(names[start : start + 500])
            )
        )
        for external_id, device_id, client_id, status in rows:
            found[external_id] = DeviceInfo(device_id, client_id, status)
    return found


def gate_records(
    session: Session,
    vendor: Organisation,
    rules: VendorRules,
    records: Sequence[Any],
    now: dt.datetime,
) -> GateBatch:
    ctx = GateContext(vendor.code, rules, _devices(session, vendor, records, rules), aware(now))
    batch = GateBatch()
    for record in records:
        outcome = gate_alert(record, ctx)
        if isinstance(outcome, GatedAlert):
            batch.passed.append(outcome)
        else:
            batch.quarantined.append(outcome)
    return batch


def quarantine(session: Session, vendor_code: str, batch: GateBatch) -> int:
    """Record the failed records in the platform's quarantine; how many rows were new.

    A gate result is written only for a batch with failures (its rows need one); a
    record quarantined before for the same rule (and not released) is not added again,
    so a vendor re-sending a bad record does not inflate its count.
    """
    if not batch.quarantined:
        return 0
    failed: dict[str, int] = {}
    for item in batch.quarantined:
        failed[item.rule] = failed.get(item.rule, 0) + 1
    result = GateResult(
        stage=GATE_STAGE,
        suite=GATE_STAGE,
        run_key=vendor_code,
        success=True,  # bad records are kept out one by one; the batch goes on
        rows_evaluated=batch.evaluated,
        rows_failed=len(batch.quarantined),
        expectations_evaluated=len(RULES),
        failed_expectations=[{"rule": r, "rows": n} for r, n in sorted(failed.items())],
    )
    session.add(result)
    session.flush()
    keys = sorted({q.row_key for q in batch.quarantined})
    rows = session.execute(
        select(QuarantinedRow.row_key, QuarantinedRow.rule).where(
            QuarantinedRow.stage == GATE_STAGE,
            QuarantinedRow.row_key.in_(keys),
            QuarantinedRow.released_at.is_(None),
        )
    )
    already = {(key, rule) for key, rule in rows}
    added = 0
    for item in batch.quarantined:
        if (item.row_key, item.rule) in already:
            continue
        already.add((item.row_key, item.rule))
        session.add(
            QuarantinedRow(
                gate_result_id=result.id, stage=GATE_STAGE, row_key=item.row_key, rule=item.rule
            )
        )
        added += 1
    session.flush()
    return added


def vendor_gate_failures(session: Session) -> dict[str, int]:
    """Open quarantined records per vendor code: the administrators' error count."""
    rows = session.execute(load_query("alerts/count_vendor_gate_failures"), {"stage": GATE_STAGE})
    return {str(code): int(count) for code, count in rows}
