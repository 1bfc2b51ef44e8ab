"""Discharge referrals: receive a hospital's Bundle once, and answer it as a FHIR Task.

- The raw Bundle is kept exactly as received, encrypted (it carries personal data).
- The hospital's referral identifier (system, value) is unique per hospital: a
  database key, so concurrent identical submissions cannot both create.
- A resubmission (or an ``ifNoneExist`` naming an existing referral) returns the
  existing Task; a new referral returns a Task in status ``received``.
- Each status change is a new Task version (``referral_status_events``); hospitals
  with a callback URL are told of each version once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from care_models import vocab
from care_models.errors import ValidationError
from care_models.fhir import Issue, ReferralRecord, parse_referral
from care_models.privacy import Vault, audit
from care_models.schema import Organisation, Referral, ReferralStatusEvent

RAW_FIELD = "referrals.raw_payload"


@dataclass(frozen=True)
class Submission:
    referral: Referral
    created: bool

    @property
    def status_code(self) -> int:
        return 201 if self.created else 200


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def hospital_for_token(session: Session, vault: Vault, token: str) -> Organisation | None:
    if not token:
        return None
    return session.scalars(
        select(Organisation).where(
            Organisation.kind == "hospital", Organisation.api_token_hash == vault.token_hash(token)
        )
    ).one_or_none()


def find_referral(session: Session, hospital_id: int, system: str, value: str) -> Referral | None:
    return session.scalars(
        select(Referral).where(
            Referral.hospital_id == hospital_id,
            Referral.identifier_system == system,
            Referral.identifier_value == value,
        )
    ).one_or_none()


def _if_none_exist_target(query: str | None) -> tuple[str, str] | None:
    """``identifier=system|value`` from a Bundle entry's ``request.ifNoneExist``."""
    if not query or not query.startswith("identifier="):
        return None
    system, sep, value = query.removeprefix("identifier=").partition("|")
    return (system, value) if sep and system and value else None


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
    if not hospital.identifier_system:
        raise ValidationError(
            "organisations.identifier_system", "hospital has no system", hospital.code
        )
    record = record or parse_referral(body, hospital.identifier_system, today=today)
    referral = Referral(
        hospital_id=hospital.id,
        identifier_system=record.identifier_system,
        identifier_value=record.identifier_value,
        source=source,
        raw_payload_enc=vault.encrypt(body.decode("utf-8"), RAW_FIELD),
        payload_sha256=hashlib.sha256(body).hexdigest(),
        status="received",
        task_version=1,
        admission_date=record.admission_date,
        discharge_date=record.discharge_date,
        last_updated=utcnow(),
    )
    target = _if_none_exist_target(record.if_none_exist)
    try:
        # One transaction: look for the referral, else store it (the unique key settles races).
        with factory() as session, session.begin():
            for system, value in dict.fromkeys(
                filter(None, [target, (record.identifier_system, record.identifier_value)])
            ):
                existing = find_referral(session, hospital.id, system, value)
                if existing is not None:
                    return Submission(existing, created=False)
            session.add(referral)
            session.flush()
            session.add(
                ReferralStatusEvent(
                    referral_id=referral.id,
                    version=1,
                    status="received",
                    changed_at=referral.last_updated,
                )
            )
            audit(
                session,
                actor=hospital.code,
                action="receive",
                entity="referral",
                entity_id=str(referral.id),
                purpose=f"{source} referral",
            )
    except IntegrityError:  # a concurrent identical submission won the unique key
        with factory() as session:
            existing = find_referral(
                session, hospital.id, record.identifier_system, record.identifier_value
            )
        if existing is None:
            raise
        return Submission(existing, created=False)
    return Submission(referral, created=True)


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


def raw_bundle(vault: Vault, referral: Referral) -> bytes:
    return vault.decrypt(referral.raw_payload_enc, RAW_FIELD).encode("utf-8")


def set_status(
    session: Session,
    referral: Referral,
    status: str,
    reason: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> bool:
    """Move the Task to a new status (a new version); False when nothing changes."""
    if status not in vocab.REFERRAL_STATUSES:
        raise ValidationError("status", f"unknown Task status {status!r}")
    if referral.status == status and referral.status_reason == reason:
        return False
    referral.status = status
    referral.status_reason = reason
    referral.task_version += 1
    referral.last_updated = now or utcnow()
    session.add(
        ReferralStatusEvent(
            referral_id=referral.id,
            version=referral.task_version,
            status=status,
            reason=reason,
            changed_at=referral.last_updated,
        )
    )
    return True


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
