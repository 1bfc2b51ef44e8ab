"""The retention job: raw Bundles, published sheets and old audit rows, on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.config import load_settings
from care_models.errors import ConfigurationError
from care_models.privacy import Vault
from care_models.retention import Periods, Purged, run_retention, start_of
from care_models.schema import AuditLog, Organisation, Referral, VisitPlan

TODAY = dt.date(2026, 12, 3)
PERIODS = Periods(raw_bundle_days=90, published_days=30, audit_days=730)
RRN = "400101-2345678"


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives back naive UTC, PostgreSQL an aware moment."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def _days_ago(days: int) -> dt.datetime:
    return start_of(TODAY - dt.timedelta(days=days)) + dt.timedelta(hours=3)


def _referral(hospital: Organisation, vault: Vault, key: str, status: str, days: int) -> Referral:
    return Referral(
        hospital_id=hospital.id,
        identifier_system=hospital.identifier_system or "urn:test",
        identifier_value=key,
        raw_payload_enc=vault.encrypt(f'{{"rrn": "{RRN}"}}', "referrals.raw_payload"),
        payload_sha256="0" * 64,
        status=status,
        last_updated=_days_ago(days),
        received_at=_days_ago(days + 1),
    )


def _folder(out: Path, start: dt.date) -> Path:
    folder = out / "visits" / start.isoformat() / "S0001"
    folder.mkdir(parents=True)
    (folder / f"S0001_{start}.html").write_text("홍길동", encoding="utf-8")
    (folder.parent / "team_overview.html").write_text("codes", encoding="utf-8")
    return folder.parent


@pytest.fixture
def seeded(engine: Engine, vault: Vault, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    with Session(engine) as session, session.begin():
        hospital = Organisation(code="H1", name="병원", kind="hospital", identifier_system="urn:h1")
        session.add(hospital)
        session.flush()
        session.add_all(
            [
                _referral(hospital, vault, "old-rejected", "rejected", 91),
                _referral(hospital, vault, "old-accepted", "accepted", 120),
                _referral(hospital, vault, "young-accepted", "accepted", 89),
                _referral(hospital, vault, "old-on-hold", "on-hold", 400),
                _referral(hospital, vault, "old-received", "received", 400),
            ]
        )
        # a recorded plan ended 32 days ago: gone; one ended 30 days ago: kept
        for start in (dt.date(2026, 10, 26), dt.date(2026, 10, 28)):
            end = start + dt.timedelta(days=6)
            session.add(VisitPlan(horizon_start=start, horizon_end=end, input_hash="h"))
        session.add_all(
            [
                AuditLog(actor="a", action="read", entity="client", at=_days_ago(731)),
                AuditLog(actor="a", action="read", entity="client", at=_days_ago(729)),
            ]
        )
    for start in (dt.date(2026, 10, 26), dt.date(2026, 10, 28), dt.date(2026, 9, 1)):
        _folder(out, start)
    (out / "visits" / ".visits-2026-11-30-abc").mkdir()  # a staging folder is not a horizon
    return out


def _run(engine: Engine, out: Path) -> tuple[Purged, list[AuditLog]]:
    with Session(engine) as session, session.begin():
        purged = run_retention(session, out, TODAY, PERIODS)
    with Session(engine) as session:
        rows = session.scalars(select(AuditLog).where(AuditLog.action == "purge")).all()
    return purged, list(rows)


def test_each_period_purges_what_is_past_it(engine: Engine, seeded: Path) -> None:
    purged, rows = _run(engine, seeded)
    assert purged.raw_bundles == 2
    assert purged.published_horizons == 2 and purged.published_files == 4
    assert purged.audit_rows == 1
    with Session(engine) as session:
        referrals = {r.identifier_value: r for r in session.scalars(select(Referral))}
        kept_audit = session.scalars(select(AuditLog).where(AuditLog.action == "read")).all()
    for key in ("old-rejected", "old-accepted"):
        assert referrals[key].raw_payload_enc == ""
        assert _utc(referrals[key].raw_purged_at) == start_of(TODAY)
        assert referrals[key].status != "received"  # the coded rows stay
    for key in ("young-accepted", "old-on-hold", "old-received"):
        assert referrals[key].raw_payload_enc.startswith("v1.")
        assert referrals[key].raw_purged_at is None
    assert len(kept_audit) == 1
    left = sorted(p.name for p in (seeded / "visits").iterdir())
    assert left == [".visits-2026-11-30-abc", "2026-10-28"]
    # one audit row per purge: counts, never a value
    assert sorted(r.entity for r in rows) == ["audit_log", "published_sheets", "referral_bundle"]
    for row in rows:
        assert row.actor == "retention" and row.entity_id is None and row.fields == []
        assert RRN not in (row.purpose or "") and "홍길동" not in (row.purpose or "")
    assert any("2 raw Bundles" in (r.purpose or "") for r in rows)


def test_a_second_run_the_same_day_purges_nothing_more(engine: Engine, seeded: Path) -> None:
    _run(engine, seeded)
    again, rows = _run(engine, seeded)
    assert (again.raw_bundles, again.published_horizons, again.audit_rows) == (0, 0, 0)
    assert len(rows) == 6


def test_the_audit_log_is_kept_at_least_two_years() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings({"CARE_RETENTION_AUDIT_DAYS": "729"})
    assert raised.value.setting == "CARE_RETENTION_AUDIT_DAYS"
    assert "at least 730" in raised.value.problem
    settings = load_settings({})
    assert Periods.from_settings(settings) == Periods(90, 30, 730)
