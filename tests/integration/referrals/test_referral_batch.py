"""Referrals stored in batches (the API's writer): each answered as if it had been alone."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_api.writer import ReferralWriter
from care_models.db import session_factory
from care_models.errors import StorageError
from care_models.fhir.bundle import parse_referral
from care_models.privacy import Vault
from care_models.referrals import store
from care_models.referrals.store import Incoming, Submission, store_referrals
from care_models.schema import AuditLog, Organisation, Referral, ReferralStatusEvent
from care_models.synthetic import referrals as sr
from care_models.workdays import seoul_today
from tests.support.referrals import bundle_bytes, row_counts, specs


def _incoming(engine: Engine, spec: sr.ReferralSpec, mutate: Any = None) -> Incoming:
    with Session(engine) as session:
        hospital = session.scalars(
            select(Organisation).where(Organisation.code == spec.hospital_code)
        ).one()
    body = bundle_bytes(spec, mutate)
    assert hospital.identifier_system is not None
    return Incoming(
        hospital, body, parse_referral(body, hospital.identifier_system, today=seoul_today())
    )


def test_a_batch_answers_each_referral_as_if_alone(county_engine: Engine, vault: Vault) -> None:
    factory = session_factory(county_engine)
    every = specs(30)
    other = every[0]
    same_hospital = next(s for s in every[1:] if s.hospital_code == other.hospital_code)
    first = next(s for s in every[1:] if s is not same_hospital)
    (stored,) = store_referrals(factory, vault, [_incoming(county_engine, other)])

    def point_at_other(bundle: dict[str, Any]) -> None:
        entry = next(
            e for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
        )
        entry["request"]["ifNoneExist"] = (
            f"identifier={sr.identifier_system(other.hospital_code)}|{other.number}"
        )

    batch = [
        _incoming(county_engine, first),  # new
        _incoming(county_engine, first),  # the same again, in the same batch
        _incoming(county_engine, other),  # stored before
        _incoming(county_engine, same_hospital, point_at_other),  # ifNoneExist: the stored one
    ]
    answers = store_referrals(factory, vault, batch)
    assert [a.status_code for a in answers] == [201, 200, 200, 200]
    assert answers[1].referral.id == answers[0].referral.id
    assert answers[2].referral.id == answers[3].referral.id == stored.referral.id
    counts = row_counts(county_engine, ("referrals", "referral_status_events"))
    assert counts == {"referrals": 2, "referral_status_events": 2}
    with Session(county_engine) as session:
        audited = session.scalars(select(AuditLog.entity_id).where(AuditLog.action == "receive"))
        assert sorted(audited) == sorted(str(r.id) for r in session.scalars(select(Referral)))
        events = session.scalars(select(ReferralStatusEvent.status)).all()
    assert set(events) == {"received"}
    # stored again, in another batch: nothing new, the same answers
    again = store_referrals(factory, vault, batch)
    assert [a.referral.id for a in again] == [a.referral.id for a in answers]
    assert not any(a.created for a in again)


def test_the_writer_batches_a_turn_of_the_loop_and_answers_every_request() -> None:
    batches: list[int] = []
    poison: Any = object()

    def store(items: list[Incoming]) -> list[Submission]:
        batches.append(len(items))
        if poison in items:
            raise RuntimeError("database refused one row")
        return [Submission(Referral(id=n), created=True) for n in range(len(items))]

    writer = ReferralWriter(store)
    item: Any = object()

    async def scenario() -> list[Any]:
        together = await asyncio.gather(*(writer.submit(item) for _ in range(5)))
        mixed = await asyncio.gather(
            *(writer.submit(x) for x in (item, poison, item)), return_exceptions=True
        )
        return [*together, *mixed]

    answers = asyncio.run(scenario())
    assert batches == [5, 3, 1, 1, 1]  # one transaction per turn; a failure: one by one
    assert [a.referral.id for a in answers[:5]] == [0, 1, 2, 3, 4]
    assert isinstance(answers[6], StorageError)  # only the culprit fails; nobody hangs
    assert answers[5].created and answers[7].created


def test_off_the_loop_one_batch_is_stored_at_a_time_and_the_next_gathers_meanwhile() -> None:
    batches: list[int] = []
    threads: set[int] = set()
    release = threading.Event()
    poison: Any = object()

    def store(items: list[Incoming]) -> list[Submission]:
        threads.add(threading.get_ident())
        batches.append(len(items))
        if len(batches) == 1:
            release.wait(10)  # a slow commit: requests keep arriving meanwhile
        if poison in items:
            raise RuntimeError("database refused one row")
        return [Submission(Referral(id=n), created=True) for n in range(len(items))]

    writer = ReferralWriter(store, off_loop=True)
    item: Any = object()

    async def scenario() -> list[Any]:
        first = asyncio.ensure_future(writer.submit(item))
        await asyncio.sleep(0.05)  # the first batch is in the writer's thread
        later = [asyncio.ensure_future(writer.submit(x)) for x in (item, poison, item, item, item)]
        await asyncio.sleep(0.05)
        assert batches == [1]  # nothing else stored while the first batch is
        release.set()
        return await asyncio.gather(first, *later, return_exceptions=True)

    answers = asyncio.run(scenario())
    assert batches == [1, 5, 1, 1, 1, 1, 1]  # the five together; their failure, one by one
    assert threading.get_ident() not in threads
    assert isinstance(answers[2], StorageError)
    assert all(a.created for i, a in enumerate(answers) if i != 2)


def test_one_failing_referral_does_not_fail_another_hospitals(
    county_engine: Engine, vault: Vault
) -> None:
    """A body that cannot be stored (UTF-16, past a validator) shared a batch with a valid
    referral of another hospital: the valid one is stored, only the culprit fails."""
    every = specs(30)
    good = every[0]
    bad = next(s for s in every if s.hospital_code != good.hospital_code)
    culprit = _incoming(county_engine, bad)
    culprit = Incoming(culprit.hospital, culprit.body.decode().encode("utf-16"), culprit.record)
    factory = session_factory(county_engine)
    writer = ReferralWriter(lambda items: store_referrals(factory, vault, items))

    async def scenario() -> list[Any]:
        return await asyncio.gather(
            writer.submit(_incoming(county_engine, good)),
            writer.submit(culprit),
            return_exceptions=True,
        )

    stored, failed = asyncio.run(scenario())
    assert isinstance(stored, Submission) and stored.created, stored
    assert isinstance(failed, StorageError)
    with Session(county_engine) as session:
        kept = session.scalars(select(Referral.identifier_value)).all()
    assert kept == [good.number]


def test_a_referral_stored_by_another_process_meanwhile_is_answered_as_known(
    county_engine: Engine, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another API worker stores the same referral between this batch's lookup and its
    inserts: the unique key trips at the commit, nothing of the batch is kept half-way,
    and each referral is stored again on its own (the raced one answered 200)."""
    factory = session_factory(county_engine)
    raced, other = specs(2)
    (before,) = store_referrals(factory, vault, [_incoming(county_engine, raced)])
    real_lookup = store._lookup
    calls = []

    def blind_first_lookup(session: Session, keys: Any, new: int) -> store._Lookup:
        found = real_lookup(session, keys, new)
        calls.append(len(keys))
        return store._Lookup({}, found.ids) if len(calls) == 1 else found

    monkeypatch.setattr(store, "_lookup", blind_first_lookup)
    batch = [_incoming(county_engine, other), _incoming(county_engine, raced)]
    answers = store_referrals(factory, vault, batch)
    assert [a.status_code for a in answers] == [201, 200]
    assert answers[1].referral.id == before.referral.id
    assert len(calls) == 3  # the batch, then each on its own
    counts = row_counts(county_engine, ("referrals", "referral_status_events"))
    assert counts == {"referrals": 2, "referral_status_events": 2}
