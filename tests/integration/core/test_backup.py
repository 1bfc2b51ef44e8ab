"""Backup and restore: ciphertext only, the same rows, and the workflows run on it."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models import migrations
from care_models.backup import backup, manifest_path, restore, row_counts
from care_models.db import make_engine, session_factory
from care_models.errors import ValidationError
from care_models.privacy import Vault
from care_models.schema import Client, Referral
from care_models.synthetic.county import build_county
from care_models.visits.workflow import solve_job
from care_models.workdays import seoul_today
from tests.integration.referrals.test_intake import submit
from tests.support.databases import fresh_database
from tests.support.referrals import bundle_bytes, intake, specs

NOW = dt.datetime(2026, 12, 4, 1, tzinfo=dt.UTC)


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of the same backend, apart from the test's own."""
    with fresh_database(database_url, tmp_path, "restored") as url:
        yield url


def _plain_text_of(path: Path, backend: str) -> bytes:
    if backend == "sqlite":
        return path.read_bytes()
    # the custom format is compressed: read it back as SQL to look inside
    return subprocess.run(
        ["pg_restore", "--file", "-", str(path)], capture_output=True, check=True
    ).stdout


def test_a_backup_holds_ciphertext_and_restores_to_a_database_the_workflows_run_on(
    county_engine: Engine, vault: Vault, fresh_url: str, tmp_path: Path
) -> None:
    county = build_county()
    waiting = specs(4, seed=31)
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in waiting])
    target = tmp_path / "care.backup"
    made = backup(county_engine, target, NOW)
    backend = county_engine.url.get_backend_name()
    assert made.backend == backend and made.row_counts["clients"] == len(county.clients)
    head = ScriptDirectory.from_config(migrations.alembic_config(county_engine)).get_current_head()
    assert made.revision == head
    assert manifest_path(target).is_file()
    inside = _plain_text_of(target, backend)
    assert b"clients" in inside  # the tables are there ...
    staff_names = {s.name for s in county.staff}  # officials, in clear by design
    for client in county.clients[:40]:  # ... and nobody in clear
        if client.person.name not in staff_names:  # a common name may be both
            assert client.person.name.encode() not in inside
        assert client.person.phone.encode() not in inside
        assert client.person.address.encode() not in inside
    with pytest.raises(ValidationError, match="PATH: a backup is never written over"):
        backup(county_engine, target, NOW)
    with pytest.raises(ValidationError, match="restore only into an empty database"):
        restore(county_engine, target)

    restored_engine = make_engine(fresh_url)
    restore(restored_engine, target)
    assert row_counts(restored_engine) == made.row_counts
    first = county.clients[0]
    with Session(restored_engine) as session:
        client = session.scalars(select(Client).where(Client.code == first.code)).one()
        assert vault.decrypt(client.name_enc, "clients.name") == first.person.name
    # the intake answers the referrals that were waiting, the planner routes a town
    summary = intake(restored_engine, vault)
    assert len(summary.outcomes) == len(waiting)
    with Session(restored_engine) as session:
        statuses = set(session.scalars(select(Referral.status)))
    assert "received" not in statuses
    monday = seoul_today() + dt.timedelta(days=7 - seoul_today().weekday())
    job = {"horizon": [monday.isoformat(), (monday + dt.timedelta(days=1)).isoformat()]}
    rows = solve_job(session_factory(restored_engine), {**job, "town": "JC-01"}, monday)
    assert rows["stops"], "the restored database plans visits"
    restored_engine.dispose()


def test_a_changed_backup_is_refused_before_anything_is_written(
    county_engine: Engine, fresh_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "care.backup"
    backup(county_engine, target, NOW)
    with target.open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00\x01\x02")
    restored_engine = make_engine(fresh_url)
    with pytest.raises(ValidationError, match="does not match its manifest"):
        restore(restored_engine, target)
    assert not any(row_counts(restored_engine).values())
    restored_engine.dispose()
