"""Intake answers in batches what it would answer one by one, keeps each fault with its
referral, and still reads referrals stored before their record was."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from care_models.backup import sqlite_copy
from care_models.db import make_engine
from care_models.fhir.bundle import ReferralRecord
from care_models.privacy import Vault
from care_models.referrals import intake as intake_module
from care_models.referrals import intake_batch
from care_models.referrals.intake import FAULT, ON_HOLD_FAULT, UNDER_REVIEW
from care_models.referrals.records import RAW_FIELD, RECORD_FIELD
from care_models.schema import (
    AuditLog,
    Client,
    MatchReview,
    OperationalAlert,
    Referral,
    Staff,
    Visit,
)
from tests.integration.referrals.test_intake import submit
from tests.support.referrals import bundle_bytes, intake, specs


def _answers(engine: Engine) -> dict[str, Any]:
    """Everything intake decided, by natural keys (comparable across two databases)."""
    with Session(engine) as session:
        clients = {c.id: c.code for c in session.scalars(select(Client))}
        staff = {s.id: s.code for s in session.scalars(select(Staff))}
        return {
            "referrals": sorted(
                (
                    r.identifier_value,
                    r.status,
                    r.status_reason,
                    r.priority,
                    clients.get(r.client_id),
                )
                for r in session.scalars(select(Referral))
            ),
            "visits": sorted(
                (v.natural_key, staff.get(v.staff_id), v.visit_date, v.start_at.isoformat())
                for v in session.scalars(select(Visit).where(Visit.source == "referral"))
            ),
            "clients": sorted(
                (c.code, c.town_id, c.household_type, c.risk_tier)
                for c in session.scalars(select(Client).where(Client.code.like("N%")))
            ),
            "reviews": sorted(
                (r.referral_id, sorted(clients[c] for c in r.candidate_client_ids))
                for r in session.scalars(select(MatchReview))
            ),
            "alerts": sorted(
                (a.kind, a.entity_id, a.resolved_at is None)
                for a in session.scalars(select(OperationalAlert))
            ),
        }


def test_batches_answer_exactly_as_one_referral_at_a_time(
    county_engine: Engine, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if county_engine.dialect.name != "sqlite":
        pytest.skip("compares two copies of one SQLite file (the logic has no dialect)")
    batch = specs(70, seed=23)
    # Another hospital refers the first person again (identity review), and only three
    # coordinators take first visits, two a day: the batch runs out of slots and holds some.
    twin_of = next(s for s in batch[1:] if s.hospital_code != batch[0].hospital_code)
    twin = replace(twin_of, person=batch[0].person, sex=batch[0].sex)
    batch[batch.index(twin_of)] = twin
    with Session(county_engine) as session, session.begin():
        kept = session.scalars(select(Staff.id).order_by(Staff.code).limit(3)).all()
        session.execute(update(Staff).values(max_visits_per_day=2))
        session.execute(update(Staff).where(Staff.id.not_in(kept)).values(active=False))
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in batch])
    copy = tmp_path / "one-by-one.db"
    sqlite_copy(Path(str(county_engine.url.database)), copy)  # the WAL's pages included
    alone = make_engine(f"sqlite:///{copy}")

    monkeypatch.setattr(intake_module, "BATCH_SIZE", 25)
    batched = intake(county_engine, vault)
    monkeypatch.setattr(intake_module, "BATCH_SIZE", 1)
    one_by_one = intake(alone, vault)

    statuses = {o.status for o in batched.outcomes}
    assert {"accepted", "on-hold"} <= statuses
    assert any(o.reason == UNDER_REVIEW for o in batched.outcomes)
    assert batched.outcomes == one_by_one.outcomes
    assert _answers(county_engine) == _answers(alone)
    alone.dispose()


def test_a_fault_inside_a_batch_holds_only_its_referral(
    county_engine: Engine, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = specs(6, seed=29)
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in batch])
    faulty = batch[3].number
    triage = intake_batch.triage

    def failing_triage(record: ReferralRecord, today: Any) -> Any:
        if record.identifier_value == faulty:
            raise RuntimeError("a bug met by this referral only")
        return triage(record, today)

    monkeypatch.setattr(intake_batch, "triage", failing_triage)
    summary = intake(county_engine, vault)

    assert len(summary.outcomes) == 6
    with Session(county_engine) as session:
        referrals = {r.identifier_value: r for r in session.scalars(select(Referral))}
        (alert,) = session.scalars(select(OperationalAlert)).all()
    assert (referrals[faulty].status, referrals[faulty].status_reason) == (
        "on-hold",
        ON_HOLD_FAULT,
    )
    assert all(r.status == "accepted" for v, r in referrals.items() if v != faulty)
    assert (alert.kind, alert.entity_id) == (FAULT, str(referrals[faulty].id))
    assert alert.detail.startswith("RuntimeError (unexpected")  # never the error's words


def test_a_referral_stored_before_its_record_was_is_read_from_its_bundle(
    county_engine: Engine, vault: Vault
) -> None:
    batch = specs(3, seed=31)
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in batch])
    with Session(county_engine) as session, session.begin():
        assert all(r.record_enc for r in session.scalars(select(Referral)))
        old = session.scalars(
            select(Referral).where(Referral.identifier_value == batch[1].number)
        ).one()
        old.record_enc = None
        old_id = str(old.id)

    summary = intake(county_engine, vault)

    assert [o.status for o in summary.outcomes] == ["accepted"] * 3
    with Session(county_engine) as session:
        reads = session.scalars(select(AuditLog).where(AuditLog.action == "read")).all()
    assert {tuple(r.fields) for r in reads if r.entity_id == old_id} == {(RAW_FIELD,)}
    assert {tuple(r.fields) for r in reads if r.entity_id != old_id} == {(RECORD_FIELD,)}
