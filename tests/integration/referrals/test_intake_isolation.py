"""Faults stay with their referral: no capacity, an unreadable Bundle, a person referred
by two hospitals at once; and every read of a raw Bundle leaves an audit row."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from care_models import cli
from care_models.db import session_factory
from care_models.privacy import Vault
from care_models.referrals.intake import (
    INTAKE_ACTOR,
    ON_HOLD_FAULT,
    ON_HOLD_NO_CAPACITY,
    UNDER_REVIEW,
)
from care_models.referrals.records import RECORD_FIELD
from care_models.schema import (
    AuditLog,
    MatchReview,
    OperationalAlert,
    Referral,
    ReferralStatusEvent,
    Staff,
    StaffLeave,
)
from care_models.workdays import seoul_today
from care_tasks.referrals import gate_then_intake
from tests.integration.referrals.test_intake import submit
from tests.support.referrals import bundle_bytes, intake, specs


def _referral(engine: Engine, number: str) -> Referral:
    with Session(engine) as session:
        referral = session.scalars(
            select(Referral).where(Referral.identifier_value == number)
        ).one()
        session.expunge(referral)
        return referral


def _alerts(engine: Engine) -> list[OperationalAlert]:
    with Session(engine) as session:
        alerts = list(session.scalars(select(OperationalAlert).order_by(OperationalAlert.id)))
        session.expunge_all()
        return alerts


def _everyone_on_leave(engine: Engine, first: dt.date, last: dt.date) -> None:
    with Session(engine) as session, session.begin():
        for staff_id in session.scalars(select(Staff.id)):
            session.add(StaffLeave(staff_id=staff_id, start_date=first, end_date=last))


def test_no_capacity_for_a_first_visit_holds_that_referral_and_the_others_go_on(
    county_engine: Engine,
    vault: Vault,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    today = seoul_today()
    first, second = specs(4, seed=11)[2:]
    soon = replace(first, discharge=today, discharged=True)
    later = replace(second, discharge=today + dt.timedelta(days=29), discharged=False)
    # Every coordinator away for the next three weeks: nobody can take a first visit
    # within 10 business days of tomorrow; the later discharge finds them back.
    _everyone_on_leave(county_engine, today, today + dt.timedelta(days=21))
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in (soon, later)])

    summary = intake(county_engine, vault)

    held, answered = _referral(county_engine, soon.number), _referral(county_engine, later.number)
    assert (held.status, held.status_reason) == ("on-hold", ON_HOLD_NO_CAPACITY)
    assert answered.status == "accepted"
    assert summary.count("on-hold") == 1 and summary.count("accepted") == 1
    (alert,) = _alerts(county_engine)
    assert (alert.kind, alert.entity, alert.entity_id) == (
        "no_first_visit_capacity",
        "referral",
        str(held.id),
    )
    assert alert.resolved_at is None and "10 business days" in alert.detail
    with Session(county_engine) as session:  # the hospital's Task says on-hold
        versions = session.scalars(
            select(ReferralStatusEvent.status)
            .where(ReferralStatusEvent.referral_id == held.id)
            .order_by(ReferralStatusEvent.version)
        ).all()
    assert versions == ["received", "on-hold"]
    # The team sees it, with what to do, in the summary.
    monkeypatch.setenv("CARE_DATABASE_URL", database_url)
    assert cli.main(["summary"]) == 0
    shown = capsys.readouterr().out
    assert "referral_intake" in shown and "no_first_visit_capacity" in shown
    assert '"retry_held": true' in shown

    # Nothing changes until someone asks for a retry, then the held referral goes through.
    assert intake(county_engine, vault).outcomes == []
    with Session(county_engine) as session, session.begin():
        session.execute(StaffLeave.__table__.delete())
    retried = gate_then_intake(county_engine, vault, today, retry_held=True)
    assert [(o.referral_id, o.status) for o in retried.outcomes] == [(held.id, "accepted")]
    assert _referral(county_engine, soon.number).status == "accepted"
    (alert,) = _alerts(county_engine)
    assert alert.resolved_at is not None


def test_an_unreadable_bundle_is_held_with_an_alert_and_the_others_go_on(
    county_engine: Engine, vault: Vault
) -> None:
    broken, fine = specs(4, seed=11)[2:]
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in (broken, fine)])
    with Session(county_engine) as session, session.begin():
        # Encrypted for another field: it does not open as a raw Bundle (as with a lost key).
        session.execute(
            update(Referral)
            .where(Referral.identifier_value == broken.number)
            .values(
                raw_payload_enc=vault.encrypt("{}", "clients.name_enc"),
                record_enc=vault.encrypt("{}", "clients.name_enc"),
            )
        )

    summary = intake(county_engine, vault)

    held = _referral(county_engine, broken.number)
    assert (held.status, held.status_reason) == ("on-hold", ON_HOLD_FAULT)
    assert _referral(county_engine, fine.number).status == "accepted"
    assert summary.count("accepted") == 1
    (alert,) = _alerts(county_engine)
    assert (alert.kind, alert.entity_id) == ("intake_fault", str(held.id))
    assert "DecryptionError" in alert.detail


def test_a_person_referred_by_two_hospitals_in_one_batch_waits_for_review_neutrally(
    county_engine: Engine, vault: Vault
) -> None:
    first, second = specs(4, seed=11)[2:]
    assert first.hospital_code != second.hospital_code
    twin = replace(second, person=first.person, sex=first.sex)
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in (first, twin)])

    intake(county_engine, vault)

    assert _referral(county_engine, first.number).status == "accepted"
    other = _referral(county_engine, twin.number)
    # The same words as any identity review: nothing tells of another hospital's referral.
    assert (other.status, other.status_reason) == ("on-hold", UNDER_REVIEW)
    with Session(county_engine) as session:
        review = session.scalars(select(MatchReview)).one()
        first_client = _referral(county_engine, first.number).client_id
    assert review.referral_id == other.id and review.candidate_client_ids == [first_client]


def test_the_same_person_twice_from_one_hospital_is_still_rejected_by_the_gate(
    county_engine: Engine, vault: Vault
) -> None:
    batch = specs(9, seed=11)
    first, same_hospital = batch[0], batch[8]
    assert first.hospital_code == same_hospital.hospital_code
    twin = replace(same_hospital, person=first.person, sex=first.sex)
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in (first, twin)])

    intake(county_engine, vault)

    assert _referral(county_engine, first.number).status in ("accepted", "on-hold")
    rejected = _referral(county_engine, twin.number)
    assert rejected.status == "rejected"
    rule = "a hospital refers the same person only once in a batch"
    assert rule in (rejected.status_reason or "")


def test_every_read_of_a_raw_bundle_is_audited_without_personal_data(
    county_engine: Engine, vault: Vault
) -> None:
    batch = specs(4, seed=11)
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in batch])

    intake(county_engine, vault)

    with Session(county_engine) as session:
        ids = {str(i) for i in session.scalars(select(Referral.id))}
        reads = session.scalars(select(AuditLog).where(AuditLog.action == "read")).all()
    assert {r.actor for r in reads} == {INTAKE_ACTOR}
    assert all(r.entity == "referral" and r.fields == [RECORD_FIELD] for r in reads)
    gate = sorted(r.entity_id for r in reads if (r.purpose or "").startswith("intake gate"))
    processed = sorted(r.entity_id for r in reads if (r.purpose or "").startswith("intake:"))
    assert gate == sorted(ids) and processed == sorted(ids)
    for spec in batch:
        assert all(spec.person.name not in (r.purpose or "") for r in reads)
    # A run with nothing to read reads nothing.
    intake(county_engine, vault)
    factory = session_factory(county_engine)
    with factory() as session:
        assert len(session.scalars(select(AuditLog).where(AuditLog.action == "read")).all()) == len(
            reads
        )
