"""Discharge referrals: receive a hospital's Bundle once, and answer it as a FHIR Task.

- The raw Bundle is kept exactly as received, encrypted (it carries personal data).
- The hospital's referral identifier (system, value) is unique per hospital: a
  database key, so concurrent identical submissions cannot both create.
- A resubmission (or an ``ifNoneExist`` naming an existing referral) returns the
  existing Task; a new referral returns a Task in status ``received``.
- A *changed* resubmission (same hospital and identifier, different content: a new
  phone, address, need, date) is refused as a conflict (the API's 409), with the
  existing Task, and nothing is written. Why not a new version on hold: a referral
  already past intake has a case, needs and perhaps a booked first visit built on the
  old content; merging a silent new version would need a review queue that does not
  exist yet, and until someone reviews it the change would be as lost as before. A
  409 tells the hospital at once, in its own system, that the change was not taken,
  so its staff call the county's coordinator (or, later, send a Task update).
  "Different content" means what the county takes from the Bundle
  (:class:`ReferralRecord`); a byte-for-byte different Bundle with the same content
  (re-serialised, new resource ids) is the same referral, answered 200.
- Each status change is a new Task version (``referral_status_events``); hospitals
  with a callback URL are told of each version once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from care_models import tokens, vocab
from care_models.errors import ValidationError
from care_models.fhir.bundle import (
    BundleRejected,
    InputLimits,
    Issue,
    ReferralRecord,
    parse_profiled_referral,
    parse_referral,
)
from care_models.privacy import Vault, audit
from care_models.referrals.records import RAW_FIELD, encode_record, raw_bundle
from care_models.referrals.store_rows import (
    committed_together,
    insert_returning_ids,
    insert_rows,
    planned_rows,
)
from care_models.schema import AuditLog, Organisation, Referral, ReferralStatusEvent


@dataclass(frozen=True)
class Submission:
    referral: Referral
    created: bool
    conflict: bool = False  # same identifier, different content: nothing was written

    @property
    def status_code(self) -> int:
        return 409 if self.conflict else 201 if self.created else 200


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def hospital_for_token(
    session: Session, vault: Vault, token: str
) -> tuple[Organisation, dt.datetime] | None:
    """The hospital holding this live API token, and when the token expires."""
    return tokens.hospital_for_token(session, vault, token)


def find_referral(session: Session, hospital_id: int, system: str, value: str) -> Referral | None:
    # The id first (an index lookup): most submissions are new, and a whole Referral
    # carries the encrypted Bundle.
    referral_id = session.scalar(
        select(Referral.id).where(
            Referral.hospital_id == hospital_id,
            Referral.identifier_system == system,
            Referral.identifier_value == value,
        )
    )
    return session.get(Referral, referral_id) if referral_id is not None else None


def _if_none_exist_target(query: str | None) -> tuple[str, str] | None:
    """``identifier=system|value`` from a Bundle entry's ``request.ifNoneExist``."""
    if not query or not query.startswith("identifier="):
        return None
    system, sep, value = query.removeprefix("identifier=").partition("|")
    return (system, value) if sep and system and value else None


@dataclass(frozen=True)
class Incoming:
    """A referral that passed validation, on its way into the database."""

    hospital: Organisation
    body: bytes
    record: ReferralRecord
    source: str = "push"

    @property
    def own_key(self) -> tuple[int, str, str]:
        return (self.hospital.id, self.record.identifier_system, self.record.identifier_value)

    def match_keys(self) -> list[tuple[int, str, str]]:
        """Identifiers that make it a resubmission: ``ifNoneExist``, then its own."""
        target = _if_none_exist_target(self.record.if_none_exist)
        found = [(self.hospital.id, *target)] if target else []
        return list(dict.fromkeys([*found, self.own_key]))


def validate_referral(
    hospital: Organisation, body: bytes, *, today: dt.date, limits: InputLimits | None = None
) -> ReferralRecord:
    """Parse a Bundle against the submitting hospital's identifier system (BundleRejected)."""
    return parse_referral(body, _identifier_system(hospital), today=today, limits=limits)


def validate_profiled_referral(
    hospital: Organisation, body: bytes, *, today: dt.date, limits: InputLimits | None = None
) -> ReferralRecord | None:
    """:func:`validate_referral` for a Bundle in the referral profile's shape; None for
    any other (see :func:`care_models.fhir.bundle.parse_profiled_referral`)."""
    system = _identifier_system(hospital)
    return parse_profiled_referral(body, system, today=today, limits=limits)


def _identifier_system(hospital: Organisation) -> str:
    if not hospital.identifier_system:
        raise ValidationError(
            "organisations.identifier_system", "hospital has no system", hospital.code
        )
    return hospital.identifier_system


def _content(record: ReferralRecord) -> ReferralRecord:
    """What makes two submissions the same referral (``ifNoneExist`` is how, not what)."""
    return replace(record, if_none_exist=None)


def _same_content(vault: Vault, stored: Referral, item: Incoming) -> bool:
    """Whether a resubmission carries what the stored referral holds (see the docstring)."""
    if stored.payload_sha256 == hashlib.sha256(item.body).hexdigest():
        return True
    # Parsed as on the day after it was received (UTC vs Seoul): the date rules only relax.
    received = (stored.received_at or utcnow()).date() + dt.timedelta(days=1)
    try:
        before = parse_referral(
            raw_bundle(vault, stored),
            stored.identifier_system,
            today=received,
            require_transaction=False,
        )
    except BundleRejected:
        return False
    return _content(before) == _content(item.record)


def submit_referral(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    body: bytes,
    *,
    today: dt.date,
    source: str = "push",
    record: ReferralRecord | None = None,
) -> Submission:
    """Validate and store a referral once; BundleRejected (nothing written) when invalid."""
    record = record or validate_referral(hospital, body, today=today)
    (submission,) = store_referrals(factory, vault, [Incoming(hospital, body, record, source)])
    return submission


def store_referrals(
    factory: sessionmaker[Session], vault: Vault, incoming: Sequence[Incoming]
) -> list[Submission]:
    """Store validated referrals in one transaction; for each, what ``submit_referral`` answers.

    A referral already stored (by its identifier or its ``ifNoneExist``) is answered
    with the stored one, and so is the second of two identical referrals in the batch.
    The database's unique key settles races with other processes: if it trips, each
    referral is stored again on its own, and the loser of a race gets the winner's.
    """
    try:
        return _store_batch(factory, vault, incoming)
    except IntegrityError:
        if len(incoming) > 1:
            return [store_referrals(factory, vault, [item])[0] for item in incoming]
        with factory() as session:
            existing = find_referral(session, *incoming[0].own_key)
        if existing is None:
            raise
        changed = not _same_content(vault, existing, incoming[0])
        return [Submission(existing, created=False, conflict=changed)]


# The referrals under one hospital's identifier system with one of the given values:
# the unique index's own order, so SQLite seeks it once per value (it scans the whole
# index for a row-value IN, and for an OR of the three columns' equalities it would
# build the statement anew per batch). Built once; the expanding list keeps one
# compiled statement for every batch size.
_STORED = select(Referral.identifier_value, Referral.id).where(
    Referral.hospital_id == bindparam("hospital_id"),
    Referral.identifier_system == bindparam("system"),
    Referral.identifier_value.in_(bindparam("values", expanding=True)),
)
# PostgreSQL: the stored referrals among the keys (arrays, one a column: one statement
# for every batch size), and ids drawn from the table's sequence for the batch's new
# referrals, in one round trip with the transaction's BEGIN (see planned_rows). An id
# drawn for a referral that turns out to be known is left unused, a gap as a
# rolled-back insert leaves. The sequence's name is looked up once, not once per id.
_STORED_AND_IDS = """
SELECT r.hospital_id, r.identifier_system, r.identifier_value, r.id
FROM unnest(%(hospitals)s::integer[], %(systems)s::text[], %(values)s::text[]) AS k(h, s, v)
JOIN referrals AS r
  ON r.hospital_id = k.h AND r.identifier_system = k.s AND r.identifier_value = k.v
UNION ALL
SELECT NULL, NULL, NULL, nextval((SELECT pg_get_serial_sequence('referrals', 'id')))
FROM generate_series(1, %(new)s)
"""


@dataclass
class _Lookup:
    stored: dict[tuple[int, str, str], int]  # the stored referral's id for each key found
    ids: list[int] | None = None  # PostgreSQL: ids drawn for new referrals, ascending


def _lookup(session: Session, keys: set[tuple[int, str, str]], new: int) -> _Lookup:
    """The stored referrals among ``keys``; on PostgreSQL also ``new`` ids to insert with."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return _lookup_postgresql(session, keys, new)
    by_system: dict[tuple[int, str], list[str]] = {}
    for hospital_id, system, value in keys:
        by_system.setdefault((hospital_id, system), []).append(value)
    stored: dict[tuple[int, str, str], int] = {}
    for (hospital_id, system), values in sorted(by_system.items()):
        parameters = {"hospital_id": hospital_id, "system": system, "values": sorted(values)}
        for value, referral_id in connection.execute(_STORED, parameters):
            stored[(hospital_id, system, value)] = referral_id
    return _Lookup(stored)


def _lookup_postgresql(session: Session, keys: set[tuple[int, str, str]], new: int) -> _Lookup:
    hospitals, systems, values = zip(*sorted(keys), strict=True) if keys else ((), (), ())
    parameters = {
        "hospitals": list(hospitals),
        "systems": list(systems),
        "values": list(values),
        "new": new,
    }
    found: dict[tuple[int, str, str], int] = {}
    ids: list[int] = []
    for hospital_id, system, value, referral_id in planned_rows(
        session, _STORED_AND_IDS, parameters
    ):
        if hospital_id is None:
            ids.append(referral_id)
        else:
            found[(hospital_id, system, value)] = referral_id
    return _Lookup(found, sorted(ids))


def _store_batch(
    factory: sessionmaker[Session], vault: Vault, incoming: Sequence[Incoming]
) -> list[Submission]:
    now = utcnow()
    keys = {key for item in incoming for key in item.match_keys()}
    # On PostgreSQL, three round trips in all (there were eight): the pool's ping, the
    # transaction's BEGIN with its plan setting and the lookup (with the ids), and the
    # inserts with the commit, each in one pipeline. Each is a wait for the server and
    # then for the GIL, which the API's event loop keeps busy.
    with factory() as session:
        lookup = _lookup(session, keys, len(incoming))
        known: list[int | None] = [
            next((lookup.stored[k] for k in item.match_keys() if k in lookup.stored), None)
            for item in incoming
        ]
        first: dict[tuple[int, str, str], int] = {}
        fresh = [
            i
            for i, item in enumerate(incoming)
            if known[i] is None and first.setdefault(item.own_key, i) == i
        ]
        existing = {rid: session.get(Referral, rid) for rid in dict.fromkeys(filter(None, known))}
        rows = [_referral_row(vault, incoming[i], now) for i in fresh]
        with committed_together(session):
            ids = insert_returning_ids(session, Referral, rows, lookup.ids)
            _insert_history(session, incoming, fresh, ids, now)
    created = {i: Referral(id=rid, **row) for i, rid, row in zip(fresh, ids, rows, strict=True)}
    answers: list[Submission] = []
    for i, item in enumerate(incoming):
        if i in created:
            answers.append(Submission(created[i], created=True))
            continue
        referral_id = known[i]
        stored = existing[referral_id] if referral_id else created[first[item.own_key]]
        assert stored is not None
        changed = _changed(vault, stored, item, incoming, first)
        answers.append(Submission(stored, created=False, conflict=changed))
    return answers


def _insert_history(
    session: Session,
    incoming: Sequence[Incoming],
    fresh: list[int],
    ids: list[int],
    now: dt.datetime,
) -> None:
    """Each new referral's first Task version and its audit line."""
    insert_rows(
        session,
        ReferralStatusEvent,
        [
            {"referral_id": rid, "version": 1, "status": "received", "changed_at": now}
            for rid in ids
        ],
    )
    insert_rows(
        session,
        AuditLog,
        [
            {
                "at": now,
                "actor": incoming[i].hospital.code,
                "action": "receive",
                "entity": "referral",
                "entity_id": str(rid),
                "fields": [],
                "purpose": f"{incoming[i].source} referral",
            }
            for i, rid in zip(fresh, ids, strict=True)
        ],
    )


def _changed(
    vault: Vault,
    existing: Referral,
    item: Incoming,
    incoming: Sequence[Incoming],
    first: dict[tuple[int, str, str], int],
) -> bool:
    """A resubmission under its own identifier whose content differs (a conflict)."""
    own = (existing.hospital_id, existing.identifier_system, existing.identifier_value)
    if own != item.own_key:
        return False  # an ifNoneExist naming another referral: a conditional create
    earlier = first.get(item.own_key)
    if earlier is not None and incoming[earlier] is not item:  # created in this batch
        return _content(incoming[earlier].record) != _content(item.record)
    return not _same_content(vault, existing, item)


def _referral_row(vault: Vault, item: Incoming, now: dt.datetime) -> dict[str, Any]:
    return {
        "hospital_id": item.hospital.id,
        "identifier_system": item.record.identifier_system,
        "identifier_value": item.record.identifier_value,
        "source": item.source,
        "raw_payload_enc": vault.encrypt(item.body.decode("utf-8"), RAW_FIELD),
        "record_enc": encode_record(vault, item.record),
        "payload_sha256": hashlib.sha256(item.body).hexdigest(),
        "status": "received",
        "task_version": 1,
        "admission_date": item.record.admission_date,
        "discharge_date": item.record.discharge_date,
        "received_at": now,
        "last_updated": now,
    }


def record_rejection(factory: sessionmaker[Session], actor: str, issues: Sequence[Issue]) -> None:
    """A rejected Bundle leaves only this audit line: which rules broke, never the values."""
    with factory() as session, session.begin():
        audit(
            session,
            actor=actor,
            action="reject",
            entity="referral_bundle",
            entity_id=None,
            fields=[i.expression for i in issues][:20],
            purpose=issues[0].diagnostics[:200] if issues else None,
        )


def set_status(
    session: Session,
    referral: Referral,
    status: str,
    reason: str | None = None,
    *,
    now: dt.datetime | None = None,
    business_status: str | None = None,
) -> bool:
    """Move the Task to a new status or business status (a new version); False when
    nothing changes. The business status ("plan approved") stays until replaced."""
    row = new_task_version(referral, status, reason, now=now, business_status=business_status)
    if row is None:
        return False
    session.add(ReferralStatusEvent(**row))
    return True


def new_task_version(
    referral: Referral,
    status: str,
    reason: str | None = None,
    *,
    now: dt.datetime | None = None,
    business_status: str | None = None,
) -> dict[str, Any] | None:
    """:func:`set_status` on the referral, returning its new version's row unwritten (None
    when nothing changes): intake writes a batch's versions in one executemany."""
    if status not in vocab.REFERRAL_STATUSES:
        raise ValidationError("status", f"unknown Task status {status!r}")
    business = business_status or referral.business_status
    if (referral.status, referral.status_reason, referral.business_status) == (
        status,
        reason,
        business,
    ):
        return None
    referral.status = status
    referral.status_reason = reason
    referral.business_status = business
    referral.task_version += 1
    referral.last_updated = now or utcnow()
    return {
        "referral_id": referral.id,
        "version": referral.task_version,
        "status": status,
        "reason": reason,
        "business_status": business,
        "changed_at": referral.last_updated,
    }


def task_resource(
    referral: Referral,
    *,
    status: str | None = None,
    reason: str | None = None,
    version: int | None = None,
    last_updated: dt.datetime | None = None,
    business_status: str | None = None,
) -> dict[str, Any]:
    """The hospital's view of a referral: a FHIR R4 Task (optionally at an older version)."""
    status = status or referral.status
    reason = reason if version is not None else referral.status_reason
    if version is None:
        business_status = business_status or referral.business_status
    updated = last_updated or referral.last_updated
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(referral.id),
        "meta": {
            "versionId": str(version or referral.task_version),
            "lastUpdated": _instant(updated),
        },
        "identifier": [{"system": referral.identifier_system, "value": referral.identifier_value}],
        "status": status,
        "intent": "order",
        "focus": {
            "identifier": {
                "system": referral.identifier_system,
                "value": referral.identifier_value,
            },
            "type": "ServiceRequest",
        },
        "authoredOn": _instant(referral.received_at or updated),
        "lastModified": _instant(updated),
    }
    if reason:
        task["statusReason"] = {"text": reason}
    if business_status:
        task["businessStatus"] = {"text": business_status}
    return task


def _instant(value: dt.datetime) -> str:
    if value.tzinfo is None:  # SQLite returns naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def find_tasks(
    session: Session,
    hospital: Organisation,
    *,
    identifier: str | None = None,
    updated_after: dt.datetime | None = None,
    limit: int = 100,
) -> list[Referral]:
    """The hospital's own referrals, newest first, filtered like a FHIR Task search."""
    query = select(Referral).where(Referral.hospital_id == hospital.id)
    if identifier:
        system, sep, value = identifier.partition("|")
        query = query.where(Referral.identifier_value == (value if sep else system))
        if sep and system:
            query = query.where(Referral.identifier_system == system)
    if updated_after is not None:
        query = query.where(Referral.last_updated > updated_after)
    return list(session.scalars(query.order_by(Referral.id.desc()).limit(limit)))
