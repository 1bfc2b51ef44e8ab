"""Real Airflow runs (`airflow dags test`) of each workflow against a real care database."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from care_models.db import make_engine
from care_models.schema import AuditLog, Client, GateResult
from care_models.synthetic.county import build_county
from tests.dags.airflow_runs import dags_test, prepare


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A migrated Airflow metadata database and a care database with the county."""
    home = tmp_path_factory.mktemp("airflow")
    yield home, prepare(home)


def _dags_test(home: Path, care_url: str, dag_id: str) -> subprocess.CompletedProcess[str]:
    return dags_test(home, care_url, dag_id)


def test_care_data_quality_passes_on_the_synthetic_county(airflow_home: tuple[Path, str]) -> None:
    home, care_url = airflow_home
    result = _dags_test(home, care_url, "care_data_quality")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "state=success" in output
    assert "county data quality: 3 suites, 469 rows, 0 quarantined" in output
    engine = make_engine(care_url)
    with Session(engine) as session:
        suites = sorted(session.scalars(select(GateResult.suite)))
        purges = sorted(
            session.scalars(select(AuditLog.entity).where(AuditLog.actor == "retention"))
        )
    engine.dispose()
    assert suites == ["county.clients", "county.staff", "county.towns"]
    # the daily retention task ran too, leaving one audit row per purge
    assert purges == ["audit_log", "published_sheets", "referral_bundle"]


def test_care_data_quality_fails_the_run_when_the_client_batch_is_bad(
    airflow_home: tuple[Path, str],
) -> None:
    home, care_url = airflow_home
    engine = make_engine(care_url)
    with Session(engine) as session, session.begin():
        codes = list(session.scalars(select(Client.code).limit(100)))
        session.execute(update(Client).where(Client.code.in_(codes)).values(latitude=None))
    engine.dispose()
    result = _dags_test(home, care_url, "care_data_quality")
    output = result.stdout + result.stderr
    assert "state=failed" in output
    assert "quality gate 'county' failed: 100 of 450 rows broke rules" in output
    assert "every client has home coordinates" in output
    for client in build_county().clients[:100]:
        assert client.person.name not in output
