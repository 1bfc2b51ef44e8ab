"""Answer a batch of referrals in one transaction, reading and writing set-based.

Two passes over the batch, in referral id order.

1. **Decide**, in memory, what each referral gets, exactly as answering them one by
   one would: the gate's decisions first (rejected, fault, identity review), then the
   person matched by keyed hash, the town, the triage and the first visit's slot. The
   reads are a handful of queries for the whole batch: the referrals (locked), the
   clients any of their hashes find, the towns, and the coordinators, leave and each
   day's visits (:class:`~care_models.visits.urgent.UrgentBooker`). A person first
   seen earlier in the batch is matched against the client the batch is about to
   create; a coordinator's day counts the visits the batch has already given them.
   A referral nobody can visit within the window is held there and then.
2. **Write**: the new clients (one multi-row insert), their cases (one), then the
   needs, visits, reviews, Task versions, audit rows and alerts.

Rows are inserted as plain rows, not ORM objects, one executemany per table
(:mod:`care_models.referrals.store_rows`): audit rows, the accepted referrals' Task
versions, needs and visits, and the new clients and cases, whose ids are needed.

An unexpected error anywhere rolls the whole batch back; the caller then answers its
referrals one at a time (:func:`care_models.referrals.intake.run_intake`), so a
fault stays with its referral.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.errors import CapacityError
from care_models.fhir.bundle import NEED_CODES, BundleRejected, ReferralRecord
from care_models.operations import mark_resolved, open_alerts_on
from care_models.privacy import Vault, encrypted_client_columns
from care_models.referrals.answers import (
    FAULT,
    GATE_REJECTED,
    INTAKE_PURPOSE,
    NO_CAPACITY,
    OUTSIDE_COUNTY,
    RETRIED_KINDS,
    IntakeBatch,
    IntakeOutcome,
    bundle_read_row,
    hold,
    reject,
    review,
    settles_held_alerts,
)
from care_models.referrals.matching import Match, PersonKeys, decide, person_keys
from care_models.referrals.records import field_read, read_record
from care_models.referrals.store import new_task_version
from care_models.referrals.store_rows import insert_returning_ids, insert_rows
from care_models.referrals.triage import Triage, age_on, triage
from care_models.schema import (
    AuditLog,
    Case,
    Client,
    Need,
    Referral,
    ReferralStatusEvent,
    Town,
    Visit,
)
from care_models.synthetic.county import COUNTY
from care_models.visits.urgent import Slot, UrgentBooker, UrgentVisitRequest
from care_models.workdays import add_business_days

FIRST_VISIT_SKILLS = ("nurse", "social_worker")
LATE = " (퇴원 후 2영업일을 넘김: 의뢰가 늦게 도착)"


def town_in(towns: Sequence[Town], address: str) -> Town | None:
    """The county's town named in an address (towns in code order); None outside the county."""
    if COUNTY not in address:
        return None
    for town in towns:
        if f" {town.name} " in f" {address} ":
            return town
    return None


def household(record: ReferralRecord, age: int) -> str:
    if record.household_size == 1:
        return "living_alone"
    if record.household_size == 2 and age >= 65:
        return "older_couple"
    if record.household_size and record.household_size > 2:
        return "with_family"
    return "other"


def new_client(
    vault: Vault, record: ReferralRecord, town: Town, referral_id: int, today: dt.date
) -> dict[str, Any]:
    """The row of the client a referral of an unknown person creates (not yet written)."""
    age = age_on(record.person.birth_date, today)
    kind = household(record, age)
    return {
        "code": f"N{referral_id:07d}",
        **encrypted_client_columns(vault, record.person),
        "birth_year": record.person.birth_date.year,
        "sex": record.sex if record.sex in ("female", "male") else "female",
        "town_id": town.id,
        "latitude": town.latitude,
        "longitude": town.longitude,
        "household_type": kind,
        "risk_tier": "at_risk" if kind == "living_alone" and age >= 65 else "caution",
        "ltc_grade": "none",
        "consent_given": False,
    }


class People:
    """The batch's persons against the clients table, read once (three queries).

    Clients the batch creates are numbered -1, -2, ... until written, and are found by
    later referrals of the same batch, as the database would find them one by one.
    """

    def __init__(self, session: Session, keys: Iterable[PersonKeys]) -> None:
        wanted = list(keys)
        self.by_key: list[dict[str, set[int]]] = [{}, {}, {}]
        self.towns: dict[int, int] = {}  # client id -> town id, of the clients found
        columns = (Client.rrn_hash, Client.name_birth_phone_hash, Client.name_birth_hash)
        for index, column in enumerate(columns):
            values = sorted({v for k in wanted if (v := _key_values(k)[index]) is not None})
            for start in range(0, len(values), 500):
                rows = session.execute(
                    select(column, Client.id, Client.town_id).where(
                        column.in_(values[start : start + 500])
                    )
                )
                for value, client_id, town_id in rows:
                    if value is not None:
                        self.by_key[index].setdefault(value, set()).add(client_id)
                        self.towns[client_id] = town_id
        self.created: list[dict[str, Any]] = []  # rows of the clients to create
        self.created_ids: list[int] = []  # their ids, once written

    def match(self, keys: PersonKeys) -> Match:
        found = [
            set(self.by_key[i].get(v, ())) if v is not None else set()
            for i, v in enumerate(_key_values(keys))
        ]
        return decide(*found)

    def add(self, keys: PersonKeys, client: dict[str, Any]) -> int:
        """Remember a client the batch will create; its provisional (negative) id."""
        self.created.append(client)
        provisional = -len(self.created)
        for index, value in enumerate(_key_values(keys)):
            if value is not None:
                self.by_key[index].setdefault(value, set()).add(provisional)
        return provisional

    def write(self, session: Session) -> None:
        """Insert the clients the batch creates; their provisional ids become real."""
        self.created_ids = insert_returning_ids(session, Client, self.created)

    def real_id(self, client_id: int) -> int:
        return self.created_ids[-client_id - 1] if client_id < 0 else client_id

    def town_of(self, client_id: int) -> int:
        """The town of a client found or created by the batch (real or provisional id)."""
        if client_id < 0:
            town_id: int = self.created[-client_id - 1]["town_id"]
            return town_id
        return self.towns[client_id]


def _key_values(keys: PersonKeys) -> tuple[str | None, str | None, str | None]:
    return (keys.rrn, keys.name_birth_phone, keys.name_birth)


@dataclass
class _Accept:
    referral: Referral
    record: ReferralRecord
    client_id: int  # provisional (negative) for a client the batch creates
    new: bool
    decision: Triage
    request: UrgentVisitRequest
    slot: Slot | None  # None: the first visit was already booked (``existing``)
    existing: Visit | None = None
    case_id: int | None = None


@dataclass
class _Rows:
    """The accepted referrals' rows, written by :func:`insert_rows` once all are known."""

    versions: list[dict[str, Any]] = field(default_factory=list)
    needs: list[dict[str, Any]] = field(default_factory=list)
    visits: list[dict[str, Any]] = field(default_factory=list)

    def insert(self, session: Session) -> None:
        insert_rows(session, ReferralStatusEvent, self.versions)
        insert_rows(session, Need, self.needs)
        insert_rows(session, Visit, self.visits)


@dataclass
class _Decisions:
    """The first pass's answers, in referral order, to be written by the second."""

    accepted: list[_Accept] = field(default_factory=list)
    reviews: list[tuple[Referral, tuple[int, ...]]] = field(default_factory=list)
    answered: list[IntakeOutcome] = field(default_factory=list)  # rejected or held already
    order: list[int] = field(default_factory=list)


def _first_visit(referral: Referral, record: ReferralRecord, today: dt.date) -> UrgentVisitRequest:
    return UrgentVisitRequest(
        natural_key=f"referral:{referral.id}:first_assessment",
        client_id=0,  # set when written: the client may not exist yet
        earliest=max(add_business_days(record.discharge_date, 1), add_business_days(today, 1)),
        latest=add_business_days(record.discharge_date, 2),
        skills=FIRST_VISIT_SKILLS,
        purpose="퇴원 후 초기 방문 평가",
        service_type="first_assessment",
        source="referral",
    )


class _Batch:
    def __init__(
        self,
        session: Session,
        vault: Vault,
        referrals: Sequence[Referral],
        system_of: dict[int, str],
        gate: IntakeBatch,
        today: dt.date,
    ) -> None:
        self.session, self.vault, self.gate, self.today = session, vault, gate, today
        self.referrals, self.system_of = referrals, system_of
        self.towns = list(session.scalars(select(Town).order_by(Town.code)))
        self.booker = UrgentBooker(session)
        self.decisions = _Decisions()
        self.client_of: dict[int, int] = {}  # referral id -> client id, accepted in the batch
        self.earlier_clients = self._read_earlier_clients()

    def decide_all(self) -> None:
        records: dict[int, ReferralRecord] = {}
        gate = self.gate
        reads = []
        for referral in self.referrals:
            if referral.id in gate.rejected or referral.id in gate.faults:
                continue
            if referral.id in gate.reviews:
                continue
            reads.append(bundle_read_row(referral.id, INTAKE_PURPOSE, field_read(referral)))
            try:
                records[referral.id] = read_record(
                    self.vault, referral, self.system_of[referral.hospital_id], self.today
                )
            except BundleRejected as error:  # parsed at the gate; the hospital's to fix
                self._answered(reject(self.session, referral, f"처리 불가: {error}"))
        insert_rows(self.session, AuditLog, reads)
        keys = {rid: person_keys(self.vault, r.person) for rid, r in records.items()}
        people = People(self.session, keys.values())
        self.people = people
        self.booker.look_up([f"referral:{rid}:first_assessment" for rid in records])
        for referral in self.referrals:
            self.decisions.order.append(referral.id)
            if referral.id in gate.rejected:
                reason = GATE_REJECTED.format(rules="; ".join(gate.rejected[referral.id]))
                self._answered(reject(self.session, referral, reason))
            elif referral.id in gate.faults:
                self._answered(hold(self.session, referral, FAULT, gate.faults[referral.id]))
            elif referral.id in gate.reviews:
                self.decisions.reviews.append((referral, self._earlier_client(referral.id)))
            elif referral.id in records:
                self._decide(referral, records[referral.id], keys[referral.id])

    def _answered(self, outcome: IntakeOutcome) -> None:
        self.decisions.answered.append(outcome)

    def _earlier_client(self, referral_id: int) -> tuple[int, ...]:
        """The client of the earlier referral of the same person (another hospital's)."""
        earlier_id = self.gate.reviews[referral_id]
        if earlier_id in self.client_of:
            return (self.client_of[earlier_id],)
        if any(r.id == earlier_id for r in self.referrals):
            return ()  # in this batch, and not accepted: no client to name
        client_id = self.earlier_clients.get(earlier_id)
        return (client_id,) if client_id else ()

    def _read_earlier_clients(self) -> dict[int, int | None]:
        """The clients of the earlier referrals the gate's reviews name, outside the batch
        (one query: a whole Referral would bring its encrypted Bundle)."""
        ids = {r.id for r in self.referrals}
        wanted = sorted({self.gate.reviews[i] for i in ids if i in self.gate.reviews} - ids)
        found: dict[int, int | None] = {}
        for start in range(0, len(wanted), 500):
            query = select(Referral.id, Referral.client_id)
            part = wanted[start : start + 500]
            rows = self.session.execute(query.where(Referral.id.in_(part)))
            found.update((referral_id, client_id) for referral_id, client_id in rows)
        return found

    def _decide(self, referral: Referral, record: ReferralRecord, keys: PersonKeys) -> None:
        match = self.people.match(keys)
        if match.kind == "review":
            self.decisions.reviews.append((referral, match.candidates))
            return
        town = None
        if match.kind == "existing":
            assert match.client_id is not None
            client_id = match.client_id
            town_id = self.people.town_of(client_id)
        else:
            town = town_in(self.towns, record.person.address)
            if town is None:
                self._answered(reject(self.session, referral, OUTSIDE_COUNTY))
                return
            town_id = town.id
        request = _first_visit(referral, record, self.today)
        existing = self.booker.existing(request.natural_key)
        slot = None
        if existing is None:
            try:
                slot = self.booker.plan(request, town_id)
            except CapacityError as error:
                self._answered(hold(self.session, referral, NO_CAPACITY, str(error)))
                return
        if town is not None:  # a new person
            client_id = self.people.add(
                keys, new_client(self.vault, record, town, referral.id, self.today)
            )
        self.client_of[referral.id] = client_id
        self.decisions.accepted.append(
            _Accept(
                referral,
                record,
                client_id,
                match.kind == "new",
                triage(record, self.today),
                request,
                slot,
                existing,
            )
        )

    def write_all(self) -> list[IntakeOutcome]:
        session, people = self.session, self.people
        people.write(session)
        accepted = self.decisions.accepted
        cases = []
        for item in accepted:
            town_id = people.town_of(item.client_id)
            item.client_id = people.real_id(item.client_id)
            cases.append(
                {
                    "client_id": item.client_id,
                    "referral_id": item.referral.id,
                    "town_id": town_id,
                    "status": "open",
                    "priority": item.decision.priority,
                    "high_risk": item.decision.priority == 1,
                    "opened_on": self.today,
                }
            )
        for item, case_id in zip(accepted, insert_returning_ids(session, Case, cases), strict=True):
            item.case_id = case_id
        outcomes = {o.referral_id: o for o in self.decisions.answered}
        rows = _Rows()
        for item in self.decisions.accepted:
            outcomes[item.referral.id] = self._write_accepted(item, rows)
        rows.insert(session)  # before the reviews' Task versions, as one by one
        for referral, candidates in self.decisions.reviews:
            real = sorted(people.real_id(c) for c in candidates)
            outcomes[referral.id] = review(session, referral, real)
        ordered = [outcomes[rid] for rid in self.decisions.order if rid in outcomes]
        held = open_alerts_on(
            session, RETRIED_KINDS, "referral", [str(o.referral_id) for o in ordered]
        )
        for outcome in ordered:
            if settles_held_alerts(outcome):
                mark_resolved(held.get(str(outcome.referral_id), []))
        session.flush()
        return ordered

    def _write_accepted(self, item: _Accept, rows: _Rows) -> IntakeOutcome:
        referral, case_id, decision = item.referral, item.case_id, item.decision
        assert case_id is not None
        referral.client_id, referral.priority = item.client_id, decision.priority
        referral.triage_reason = decision.reason
        rows.needs.extend(
            {
                "case_id": case_id,
                "category": NEED_CODES.get(code, "care_ltc"),
                "code": code,
                "status": "identified",
                "identified_on": self.today,
            }
            for code in item.record.needs or ["assessment"]
        )
        if item.slot is not None:
            request = replace(item.request, client_id=item.client_id, case_id=case_id)
            visit_day, late = item.slot.day, item.slot.late
            rows.visits.append(self.booker.booked_row(request, item.slot))
        else:
            assert item.existing is not None
            visit_day, late = (
                item.existing.visit_date,
                item.existing.visit_date > item.request.latest,
            )
        reason = f"{decision.priority}순위 접수, 초기 방문 {visit_day.isoformat()} 예약"
        reason += LATE if late else ""
        version = new_task_version(referral, "accepted", reason)
        rows.versions.extend([version] if version else [])
        return IntakeOutcome(
            referral.id, "accepted", reason, decision.priority, case_id, visit_day, item.new
        )


def waiting_referrals(session: Session, gate: IntakeBatch, ids: Sequence[int]) -> list[Referral]:
    """The referrals of ``ids`` still waiting for intake, locked, in id order."""
    rows = session.scalars(
        select(Referral).where(Referral.id.in_(list(ids))).order_by(Referral.id).with_for_update()
    )
    return [r for r in rows if r.status in gate.waiting_statuses(r.id)]


def answer_batch(
    session: Session,
    vault: Vault,
    ids: Sequence[int],
    system_of: dict[int, str],
    gate: IntakeBatch,
    today: dt.date,
) -> list[IntakeOutcome]:
    """Answer the referrals of ``ids`` still waiting, in the caller's transaction."""
    referrals = waiting_referrals(session, gate, ids)
    if not referrals:
        return []
    batch = _Batch(session, vault, referrals, system_of, gate, today)
    batch.decide_all()
    return batch.write_all()
