"""Referral intake: from a received referral to a triaged case with a first visit booked.

For each referral still ``received``: read what the county took from its Bundle
(stored on arrival, :mod:`care_models.referrals.records`), pass the intake gate (run
by the caller on :func:`gate_rows`), match the person by keyed hash, triage, open a
case with its needs, book the first assessment visit within 2 business days of
discharge for the team of the client's town, and move the hospital's Task to
``accepted``, ``rejected`` (with a reason the hospital can read) or ``on-hold``
(identity under review: never merged automatically).

Every step is idempotent: a referral leaves ``received`` in the same transaction
that does its work, so running intake again changes nothing.

Referrals are answered in batches of :data:`BATCH_SIZE`, each in one transaction,
reading and writing set-based (:mod:`care_models.referrals.intake_batch`): the same
answers as one by one, at a fraction of the queries and commits.

Faults stay with their referral. When a batch fails, it is rolled back and its
referrals are answered one at a time; when one referral's own work fails, its
transaction is rolled back and a second one puts the Task ``on-hold`` with a reason
the hospital can read (the rule, never a value) and opens an operational alert for
the team (``operational_alerts``, shown by ``python -m care_models summary``); the
next referral goes on. No coordinator free for the first visit
(:class:`~care_models.errors.CapacityError`) holds the referral the same way. A
referral held this way is re-tried on request: ``airflow dags trigger
referral_intake -c '{"retry_held": true}'`` (see :func:`held_for_retry`). Identity
reviews are not re-tried: a person decides them.

Every read of a referral's personal data (at the gate and at intake) writes an audit
row, one per referral and purpose, by the workflow (:data:`INTAKE_ACTOR`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from care_models.errors import CareError, TransientError
from care_models.fhir.bundle import BundleRejected
from care_models.operations import open_entity_ids
from care_models.privacy import Vault
from care_models.referrals.answers import (
    FAULT,
    GATE_PURPOSE,
    GATE_REJECTED,
    INTAKE_ACTOR,
    INTAKE_PURPOSE,
    NO_CAPACITY,
    ON_HOLD_FAULT,
    ON_HOLD_NO_CAPACITY,
    OUTSIDE_COUNTY,
    RETRIED_KINDS,
    UNDER_REVIEW,
    WORKFLOW,
    IntakeBatch,
    IntakeOutcome,
    IntakeSummary,
    audit_bundle_read,
    bundle_read_row,
    hold,
)
from care_models.referrals.intake_batch import FIRST_VISIT_SKILLS, answer_batch
from care_models.referrals.records import field_read, field_read_of, read_record
from care_models.referrals.store_rows import insert_rows
from care_models.schema import AuditLog, Organisation, Referral

__all__ = [  # the words and outcomes of intake, found here as they always were
    "FIRST_VISIT_SKILLS",
    "GATE_REJECTED",
    "INTAKE_ACTOR",
    "NO_CAPACITY",
    "ON_HOLD_FAULT",
    "ON_HOLD_NO_CAPACITY",
    "OUTSIDE_COUNTY",
    "UNDER_REVIEW",
    "WORKFLOW",
    "IntakeBatch",
    "IntakeOutcome",
    "IntakeSummary",
    "audit_gate_reads",
    "gate_rows",
    "held_for_retry",
    "pending_referral_ids",
    "run_intake",
]

log = logging.getLogger(__name__)

BATCH_SIZE = 200  # referrals per transaction: SQLite's one writer waits at most this long
# Every table intake writes: a re-run must leave their row counts unchanged.
TABLES_WRITTEN = (
    "referrals",
    "referral_status_events",
    "clients",
    "cases",
    "needs",
    "visits",
    "match_reviews",
    "audit_log",
    "operational_alerts",
)


def pending_referral_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Referral.id).where(Referral.status == "received").order_by(Referral.id)
        )
    )


def _hospital_systems(session: Session) -> dict[int, str]:
    return {
        o.id: o.identifier_system or ""
        for o in session.scalars(select(Organisation).where(Organisation.kind == "hospital"))
    }


@dataclass
class GateInput:
    """What the intake gate needs, and what intake answers without the gate's rules.

    ``rows``: one non-personal row per readable referral. ``unparsable``: the rule
    its Bundle breaks (rejected). ``faults``: referrals that could not be read at all
    (held, with an alert). ``reviews``: a referral whose person another hospital
    referred earlier in the same batch, with that earlier referral (identity review).
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    unparsable: dict[int, str] = field(default_factory=dict)
    faults: dict[int, str] = field(default_factory=dict)
    reviews: dict[int, int] = field(default_factory=dict)


def audit_gate_reads(factory: sessionmaker[Session], referral_ids: Sequence[int]) -> None:
    """The gate's audit rows, committed before it reads: one short write transaction,
    so that the reads of a large batch hold no write lock (SQLite has one for all)."""
    with factory() as session, session.begin():
        has_record: dict[int, bool] = {}
        for start in range(0, len(referral_ids), 500):
            part = list(referral_ids[start : start + 500])
            query = select(Referral.id, Referral.record_enc.is_not(None))
            for referral_id, stored in session.execute(query.where(Referral.id.in_(part))):
                has_record[referral_id] = bool(stored)
        reads = [
            bundle_read_row(
                referral_id, GATE_PURPOSE, field_read_of(has_record.get(referral_id, False))
            )
            for referral_id in referral_ids
        ]
        insert_rows(session, AuditLog, reads)  # one executemany (see store_rows)


def describe_fault(error: BaseException) -> str:
    """What the team is told of an unexpected error: a care error's own message (which
    never holds a value), else only its type (another library's message might)."""
    if isinstance(error, CareError):
        return f"{type(error).__name__}: {error}"[:200]
    return f"{type(error).__name__} (unexpected; see the task log for the referral id)"


def gate_rows(
    session: Session, vault: Vault, referral_ids: Sequence[int], today: dt.date
) -> GateInput:
    """Non-personal rows for the intake gate (reads audited first: :func:`audit_gate_reads`).

    The same person twice in a batch: from the same hospital, the later referral
    carries ``duplicate_of`` and the gate rejects it (the hospital sent it twice);
    from another hospital, it goes to identity review instead.
    """
    systems = _hospital_systems(session)
    found = GateInput()
    first_of_person: dict[str, tuple[int, int]] = {}
    first_from_hospital: dict[tuple[str, int], int] = {}
    for referral in _referrals(session, referral_ids):
        referral_id = referral.id
        try:
            record = read_record(vault, referral, systems[referral.hospital_id], today)
            person_key = vault.name_birth_hash(record.person.name, record.person.birth_date)
        except BundleRejected as rejected:
            found.unparsable[referral_id] = rejected.issues[0].diagnostics
            continue
        except (OperationalError, TransientError):
            raise
        except Exception as error:  # one unreadable Bundle must not stop the batch
            found.faults[referral_id] = describe_fault(error)
            log.error(
                "intake gate: referral %s cannot be read: %s", referral_id, type(error).__name__
            )
            continue
        earlier, earlier_hospital = first_of_person.setdefault(
            person_key, (referral_id, referral.hospital_id)
        )
        duplicate_of = first_from_hospital.setdefault(
            (person_key, referral.hospital_id), referral_id
        )
        if earlier_hospital != referral.hospital_id and duplicate_of == referral_id:
            found.reviews[referral_id] = earlier
        found.rows.append(
            {
                "referral_id": str(referral_id),
                **record.gate_row(),
                "duplicate_of": None if duplicate_of == referral_id else str(duplicate_of),
            }
        )
    return found


def _referrals(session: Session, referral_ids: Sequence[int]) -> Iterable[Referral]:
    """The referrals of ``referral_ids`` in that order, read a few hundred at a time."""
    for start in range(0, len(referral_ids), 500):
        part = list(referral_ids[start : start + 500])
        found = {r.id: r for r in session.scalars(select(Referral).where(Referral.id.in_(part)))}
        yield from (found[i] for i in part if i in found)


def held_for_retry(session: Session) -> list[int]:
    """Referrals on hold with an open intake alert (no capacity, a fault): re-triable."""
    ids = {int(i) for i in open_entity_ids(session, RETRIED_KINDS, "referral")}
    if not ids:
        return []
    return list(
        session.scalars(
            select(Referral.id)
            .where(Referral.id.in_(ids), Referral.status == "on-hold")
            .order_by(Referral.id)
        )
    )


def _answer_in_one_transaction(
    factory: sessionmaker[Session],
    vault: Vault,
    ids: Sequence[int],
    system_of: dict[int, str],
    batch: IntakeBatch,
    today: dt.date,
) -> list[IntakeOutcome]:
    with factory() as session, session.begin():
        return answer_batch(session, vault, ids, system_of, batch, today)


def _hold_after_failure(
    factory: sessionmaker[Session], referral_id: int, kind: str, detail: str
) -> IntakeOutcome | None:
    """The referral's own work was rolled back: hold it, in a transaction of its own."""
    with factory() as session, session.begin():
        referral = session.get(Referral, referral_id, with_for_update=True)
        if referral is None:
            return None
        # The rolled-back read, audited again.
        audit_bundle_read(session, referral_id, INTAKE_PURPOSE, field_read(referral))
        return hold(session, referral, kind, detail)


def run_intake(
    factory: sessionmaker[Session],
    vault: Vault,
    referral_ids: Iterable[int],
    rejected_by_gate: dict[int, list[str]],
    today: dt.date,
    **decided: Any,
) -> IntakeSummary:
    """Answer the referrals in batches; skips any no longer waiting.

    ``decided``: the other fields of :class:`IntakeBatch` (faults, reviews, retried).
    A batch that fails is answered again one referral at a time; a referral whose own
    work fails is held and the run goes on. Only a fault of the database connection
    itself (or a transient error) stops the run, to be retried whole.
    """
    batch = IntakeBatch(list(referral_ids), rejected_by_gate, **decided)
    summary = IntakeSummary()
    with factory() as session:
        system_of = _hospital_systems(session)
    ids = list(batch.referral_ids)
    for start in range(0, len(ids), BATCH_SIZE):
        part = ids[start : start + BATCH_SIZE]
        try:
            summary.outcomes.extend(
                _answer_in_one_transaction(factory, vault, part, system_of, batch, today)
            )
        except (OperationalError, TransientError):
            raise
        except Exception as error:  # find the referral at fault: one at a time
            log.error("an intake batch failed (%s); answering it one by one", type(error).__name__)
            for referral_id in part:
                outcome = _answer_alone(factory, vault, referral_id, system_of, batch, today)
                summary.outcomes.extend([outcome] if outcome else [])
    return summary


def _answer_alone(
    factory: sessionmaker[Session],
    vault: Vault,
    referral_id: int,
    system_of: dict[int, str],
    batch: IntakeBatch,
    today: dt.date,
) -> IntakeOutcome | None:
    """One referral in its own transaction; held with an alert when its work fails."""
    try:
        outcomes = _answer_in_one_transaction(
            factory, vault, [referral_id], system_of, batch, today
        )
        return outcomes[0] if outcomes else None
    except (OperationalError, TransientError):
        raise
    except Exception as error:  # one referral's fault must not stop the others
        log.error("intake of referral %s failed: %s", referral_id, type(error).__name__)
        return _hold_after_failure(factory, referral_id, FAULT, describe_fault(error))
