"""Referral intake: from a received referral to a triaged case with a first visit booked.

For each referral still ``received``: parse its raw Bundle, pass the intake gate
(run by the caller on :func:`gate_rows`), match the person by keyed hash, triage,
open a case with its needs, book the first assessment visit within 2 business
days of discharge for the team of the client's town, and move the hospital's Task
to ``accepted``, ``rejected`` (with a reason the hospital can read) or
``on-hold`` (identity under review: never merged automatically).

Every step is idempotent: a referral leaves ``received`` in the same transaction
that does its work, so running intake again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from care_models.errors import DataError
from care_models.fhir.bundle import NEED_CODES, BundleRejected, ReferralRecord, parse_referral
from care_models.privacy import Vault, encrypted_client_columns
from care_models.referrals.matching import match_person
from care_models.referrals.store import raw_bundle, set_status
from care_models.referrals.triage import age_on, triage
from care_models.schema import Case, Client, MatchReview, Need, Organisation, Referral, Town
from care_models.synthetic.county import COUNTY
from care_models.visits.urgent import UrgentVisitRequest, book_urgent_visit
from care_models.workdays import add_business_days

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
)
OUTSIDE_COUNTY = (
    f"관할 구역({COUNTY}) 밖 주소입니다. 거주지 시·군·구의 통합돌봄 창구로 의뢰해 주세요."
)
UNDER_REVIEW = "본인 확인 검토 중: 기존 대상자와 정보가 일부만 일치합니다."
GATE_REJECTED = "품질 검사 불합격: {rules}"


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


def gate_rows(
    session: Session, vault: Vault, referral_ids: Sequence[int], today: dt.date
) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Non-personal rows for the intake gate, and referrals whose Bundle no longer parses."""
    systems = _hospital_systems(session)
    rows: list[dict[str, Any]] = []
    unparsable: dict[int, str] = {}
    first_of_person: dict[str, int] = {}
    for referral_id in referral_ids:
        referral = session.get(Referral, referral_id)
        assert referral is not None
        try:
            record = parse_stored(vault, referral, systems[referral.hospital_id], today)
        except BundleRejected as rejected:
            unparsable[referral_id] = rejected.issues[0].diagnostics
            continue
        person_key = vault.name_birth_hash(record.person.name, record.person.birth_date)
        duplicate_of = first_of_person.setdefault(person_key, referral_id)
        rows.append(
            {
                "referral_id": str(referral_id),
                **record.gate_row(),
                "duplicate_of": None if duplicate_of == referral_id else str(duplicate_of),
            }
        )
    return rows, unparsable


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


def process_referral(
    session: Session, vault: Vault, referral: Referral, identifier_system: str, today: dt.date
) -> IntakeOutcome:
    """Match, triage, open the case, book the first visit, answer the Task (one transaction)."""
    record = parse_stored(vault, referral, identifier_system, today)
    match = match_person(session, vault, record)
    if match.kind == "review":
        session.add(
            MatchReview(referral_id=referral.id, candidate_client_ids=list(match.candidates))
        )
        set_status(session, referral, "on-hold", UNDER_REVIEW)
        return IntakeOutcome(referral.id, "on-hold", UNDER_REVIEW)
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


def run_intake(
    factory: sessionmaker[Session],
    vault: Vault,
    referral_ids: Iterable[int],
    rejected_by_gate: dict[int, list[str]],
    today: dt.date,
) -> IntakeSummary:
    """Answer each referral in its own transaction; skips any no longer ``received``."""
    summary = IntakeSummary()
    with factory() as session:
        systems = _hospital_systems(session)
    for referral_id in referral_ids:
        with factory() as session, session.begin():
            referral = session.get(Referral, referral_id, with_for_update=True)
            if referral is None or referral.status != "received":
                continue
            if referral_id in rejected_by_gate:
                reason = GATE_REJECTED.format(rules="; ".join(rejected_by_gate[referral_id]))
                summary.outcomes.append(_reject(session, referral, reason))
                continue
            try:
                outcome = process_referral(
                    session, vault, referral, systems[referral.hospital_id], today
                )
            except (BundleRejected, DataError) as error:
                outcome = _reject(session, referral, f"처리 불가: {error}")
            summary.outcomes.append(outcome)
    return summary
