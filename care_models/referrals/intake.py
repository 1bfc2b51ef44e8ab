"""Referral intake: from a received referral to a triaged case with a first visit booked.

For each referral still ``received``: parse its raw Bundle, pass the intake gate
(run by the caller on :func:`gate_rows`), match the person by keyed hash, triage,
open a case with its needs, book the first assessment visit within 2 business
days of discharge for the team of the client's town, and move the hospital's Task
to ``accepted``, ``rejected`` (with a reason the hospital can read) or
``on-hold`` (identity under review: never merged automatically).

Every step is idempotent: a referral leaves ``received`` in the same transaction
that does its work, so running intake again changes nothing.

Faults stay with their referral. Each referral is answered in its own transaction;
when its work fails, that transaction is rolled back and a second one puts the Task
``on-hold`` with a reason the hospital can read (the rule, never a value) and opens
an operational alert for the team (``operational_alerts``, shown by ``python -m
care_models summary``); the next referral goes on. No coordinator free for the first
visit is :class:`~care_models.errors.CapacityError`, held as such. A referral held
this way is re-tried on request: ``airflow dags trigger referral_intake -c
'{"retry_held": true}'`` (see :func:`held_for_retry`). Identity reviews are not
re-tried: a person decides them.

Every read of a raw Bundle (at the gate and at intake) writes an audit row, one per
referral and purpose, by the workflow (:data:`INTAKE_ACTOR`).
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

from care_models.errors import CapacityError, CareError, TransientError
from care_models.fhir.bundle import NEED_CODES, BundleRejected, ReferralRecord, parse_referral
from care_models.operations import open_entity_ids, raise_alert, resolve_alerts
from care_models.privacy import Vault, audit, encrypted_client_columns
from care_models.referrals.matching import match_person
from care_models.referrals.store import RAW_FIELD, raw_bundle, set_status
from care_models.referrals.triage import age_on, triage
from care_models.schema import Case, Client, MatchReview, Need, Organisation, Referral, Town
from care_models.synthetic.county import COUNTY
from care_models.visits.urgent import SEARCH_DAYS, UrgentVisitRequest, book_urgent_visit
from care_models.workdays import add_business_days

log = logging.getLogger(__name__)

FIRST_VISIT_SKILLS = ("nurse", "social_worker")
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
OUTSIDE_COUNTY = (
    f"관할 구역({COUNTY}) 밖 주소입니다. 거주지 시·군·구의 통합돌봄 창구로 의뢰해 주세요."
)
# One neutral reason for every identity review: it tells the hospital neither that
# the county knows a similar person nor that another hospital referred the same one.
UNDER_REVIEW = "본인 확인 검토 중: 통합돌봄팀이 확인한 뒤 다시 알려 드립니다."
GATE_REJECTED = "품질 검사 불합격: {rules}"
ON_HOLD_NO_CAPACITY = (
    f"보류: {SEARCH_DAYS}영업일 안에 초기 방문할 수 있는 담당자가 없어 "
    "통합돌봄팀이 일정을 조정하고 있습니다."
)
ON_HOLD_FAULT = "보류: 접수 처리 중 문제가 있어 통합돌봄팀이 확인하고 있습니다."

INTAKE_ACTOR = "workflow:referral_intake"
GATE_PURPOSE = "intake gate: quality rules on the referral Bundle"
INTAKE_PURPOSE = "intake: match, triage, open the case and book the first visit"
WORKFLOW = "referral_intake"
NO_CAPACITY = "no_first_visit_capacity"
FAULT = "intake_fault"
RETRIED_KINDS = (NO_CAPACITY, FAULT)


@dataclass
class IntakeOutcome:
    referral_id: int
    status: str
    reason: str | None = None
    priority: int | None = None
    case_id: int | None = None
    visit_date: dt.date | None = None
    new_client: bool = False


@dataclass
class IntakeSummary:
    outcomes: list[IntakeOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "processed": len(self.outcomes),
            "accepted": self.count("accepted"),
            "rejected": self.count("rejected"),
            "on_hold": self.count("on-hold"),
            "new_clients": sum(o.new_client for o in self.outcomes),
            "first_visits": sorted(o.visit_date.isoformat() for o in self.outcomes if o.visit_date),
        }


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


def parse_stored(
    vault: Vault, referral: Referral, identifier_system: str, today: dt.date
) -> ReferralRecord:
    # Dates were checked on arrival; re-checking "not too far ahead" against a later day
    # would reject what was accepted, so the received day is the reference.
    received = referral.received_at.date() if referral.received_at else today
    return parse_referral(
        raw_bundle(vault, referral),
        identifier_system,
        today=min(today, received + dt.timedelta(days=1)),
        require_transaction=False,
    )


def audit_bundle_read(session: Session, referral_id: int, purpose: str) -> None:
    """The audit row of one read of a raw Bundle (it holds the person's RRN and name)."""
    audit(
        session,
        actor=INTAKE_ACTOR,
        action="read",
        entity="referral",
        entity_id=str(referral_id),
        fields=[RAW_FIELD],
        purpose=purpose,
    )


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
        for referral_id in referral_ids:
            audit_bundle_read(session, referral_id, GATE_PURPOSE)


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
    for referral_id in referral_ids:
        referral = session.get(Referral, referral_id)
        assert referral is not None
        try:
            record = parse_stored(vault, referral, systems[referral.hospital_id], today)
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


# -- matching ---------------------------------------------------------------------------


def _town_of(session: Session, address: str) -> Town | None:
    if COUNTY not in address:
        return None
    for town in session.scalars(select(Town).order_by(Town.code)):
        if f" {town.name} " in f" {address} ":
            return town
    return None


def _household(record: ReferralRecord, age: int) -> str:
    if record.household_size == 1:
        return "living_alone"
    if record.household_size == 2 and age >= 65:
        return "older_couple"
    if record.household_size and record.household_size > 2:
        return "with_family"
    return "other"


def _new_client(
    session: Session,
    vault: Vault,
    record: ReferralRecord,
    town: Town,
    referral: Referral,
    today: dt.date,
) -> Client:
    age = age_on(record.person.birth_date, today)
    household = _household(record, age)
    client = Client(
        code=f"N{referral.id:07d}",
        **encrypted_client_columns(vault, record.person),
        birth_year=record.person.birth_date.year,
        sex=record.sex if record.sex in ("female", "male") else "female",
        town_id=town.id,
        latitude=town.latitude,
        longitude=town.longitude,
        household_type=household,
        risk_tier="at_risk" if household == "living_alone" and age >= 65 else "caution",
        ltc_grade="none",
        consent_given=False,
    )
    session.add(client)
    session.flush()
    return client


# -- one referral ----------------------------------------------------------------------------


def _reject(session: Session, referral: Referral, reason: str) -> IntakeOutcome:
    set_status(session, referral, "rejected", reason)
    return IntakeOutcome(referral.id, "rejected", reason)


def _review(session: Session, referral: Referral, candidates: Iterable[int]) -> IntakeOutcome:
    session.add(MatchReview(referral_id=referral.id, candidate_client_ids=list(candidates)))
    set_status(session, referral, "on-hold", UNDER_REVIEW)
    return IntakeOutcome(referral.id, "on-hold", UNDER_REVIEW)


def _hold(session: Session, referral: Referral, kind: str, detail: str) -> IntakeOutcome:
    """On hold for the team: the Task says so in words, the alert says why in rules."""
    reason = ON_HOLD_NO_CAPACITY if kind == NO_CAPACITY else ON_HOLD_FAULT
    set_status(session, referral, "on-hold", reason)
    raise_alert(
        session,
        workflow=WORKFLOW,
        kind=kind,
        entity="referral",
        entity_id=str(referral.id),
        detail=detail,
    )
    log.warning("referral %s on hold for the team: %s", referral.id, kind)
    return IntakeOutcome(referral.id, "on-hold", reason)


def process_referral(
    session: Session, vault: Vault, referral: Referral, identifier_system: str, today: dt.date
) -> IntakeOutcome:
    """Match, triage, open the case, book the first visit, answer the Task (one transaction)."""
    record = parse_stored(vault, referral, identifier_system, today)
    match = match_person(session, vault, record)
    if match.kind == "review":
        return _review(session, referral, match.candidates)
    if match.kind == "existing":
        client = session.get(Client, match.client_id)
        assert client is not None
    else:
        town = _town_of(session, record.person.address)
        if town is None:
            return _reject(session, referral, OUTSIDE_COUNTY)
        client = _new_client(session, vault, record, town, referral, today)
    decision = triage(record, today)
    referral.client_id, referral.priority = client.id, decision.priority
    referral.triage_reason = decision.reason
    case = Case(
        client_id=client.id,
        referral_id=referral.id,
        town_id=client.town_id,
        status="open",
        priority=decision.priority,
        high_risk=decision.priority == 1,
        opened_on=today,
    )
    session.add(case)
    session.flush()
    for code in record.needs or ["assessment"]:
        session.add(
            Need(
                case_id=case.id,
                category=NEED_CODES.get(code, "care_ltc"),
                code=code,
                status="identified",
                identified_on=today,
            )
        )
    latest = add_business_days(record.discharge_date, 2)
    booking = book_urgent_visit(
        session,
        UrgentVisitRequest(
            natural_key=f"referral:{referral.id}:first_assessment",
            client_id=client.id,
            earliest=max(add_business_days(record.discharge_date, 1), add_business_days(today, 1)),
            latest=latest,
            skills=FIRST_VISIT_SKILLS,
            purpose="퇴원 후 초기 방문 평가",
            service_type="first_assessment",
            source="referral",
            case_id=case.id,
        ),
    )
    visit_day = booking.visit.visit_date
    late = " (퇴원 후 2영업일을 넘김: 의뢰가 늦게 도착)" if booking.late else ""
    reason = f"{decision.priority}순위 접수, 초기 방문 {visit_day.isoformat()} 예약{late}"
    set_status(session, referral, "accepted", reason)
    return IntakeOutcome(
        referral.id,
        "accepted",
        reason,
        decision.priority,
        case.id,
        visit_day,
        new_client=match.kind == "new",
    )


@dataclass(frozen=True)
class IntakeBatch:
    """A gated batch: the referrals to answer and what the gate decided for some."""

    referral_ids: Sequence[int]
    rejected: dict[int, list[str]] = field(default_factory=dict)
    faults: dict[int, str] = field(default_factory=dict)
    reviews: dict[int, int] = field(default_factory=dict)
    retried: frozenset[int] = frozenset()  # held referrals re-tried on request


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


def _answer(
    session: Session,
    vault: Vault,
    referral: Referral,
    system: str,
    batch: IntakeBatch,
    today: dt.date,
) -> IntakeOutcome:
    referral_id = referral.id
    if referral_id in batch.rejected:
        return _reject(
            session, referral, GATE_REJECTED.format(rules="; ".join(batch.rejected[referral_id]))
        )
    if referral_id in batch.faults:
        return _hold(session, referral, FAULT, batch.faults[referral_id])
    if referral_id in batch.reviews:
        earlier = session.get(Referral, batch.reviews[referral_id])
        candidates = [earlier.client_id] if earlier and earlier.client_id else []
        return _review(session, referral, candidates)
    audit_bundle_read(session, referral_id, INTAKE_PURPOSE)
    try:
        return process_referral(session, vault, referral, system, today)
    except BundleRejected as error:  # parsed at the gate; a Bundle is the hospital's to fix
        return _reject(session, referral, f"처리 불가: {error}")


def _intake_one(
    factory: sessionmaker[Session],
    vault: Vault,
    referral_id: int,
    system_of: dict[int, str],
    batch: IntakeBatch,
    today: dt.date,
) -> IntakeOutcome | None:
    """One referral in its own transaction; None when it is no longer waiting."""
    with factory() as session, session.begin():
        referral = session.get(Referral, referral_id, with_for_update=True)
        waiting = ("received", "on-hold") if referral_id in batch.retried else ("received",)
        if referral is None or referral.status not in waiting:
            return None
        outcome = _answer(session, vault, referral, system_of[referral.hospital_id], batch, today)
        if outcome.status != "on-hold" or outcome.reason == UNDER_REVIEW:
            resolve_alerts(session, RETRIED_KINDS, "referral", str(referral_id))
        return outcome


def _hold_after_failure(
    factory: sessionmaker[Session], referral_id: int, kind: str, detail: str
) -> IntakeOutcome | None:
    """The referral's own work was rolled back: hold it, in a transaction of its own."""
    with factory() as session, session.begin():
        referral = session.get(Referral, referral_id, with_for_update=True)
        if referral is None:
            return None
        audit_bundle_read(session, referral_id, INTAKE_PURPOSE)  # the rolled-back read
        return _hold(session, referral, kind, detail)


def run_intake(
    factory: sessionmaker[Session],
    vault: Vault,
    referral_ids: Iterable[int],
    rejected_by_gate: dict[int, list[str]],
    today: dt.date,
    **decided: Any,
) -> IntakeSummary:
    """Answer each referral in its own transaction; skips any no longer waiting.

    ``decided``: the other fields of :class:`IntakeBatch` (faults, reviews, retried).
    A fault of one referral holds it and the run goes on; only a fault of the database
    connection itself (or a transient error) stops the run, to be retried whole.
    """
    batch = IntakeBatch(list(referral_ids), rejected_by_gate, **decided)
    summary = IntakeSummary()
    with factory() as session:
        system_of = _hospital_systems(session)
    for referral_id in batch.referral_ids:
        try:
            outcome = _intake_one(factory, vault, referral_id, system_of, batch, today)
        except (OperationalError, TransientError):
            raise
        except CapacityError as error:
            outcome = _hold_after_failure(factory, referral_id, NO_CAPACITY, str(error))
        except Exception as error:  # one referral's fault must not stop the others
            log.error("intake of referral %s failed: %s", referral_id, type(error).__name__)
            outcome = _hold_after_failure(factory, referral_id, FAULT, describe_fault(error))
        if outcome is not None:
            summary.outcomes.append(outcome)
    return summary
