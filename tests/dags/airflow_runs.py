"""Run real `airflow dags test` against a fresh Airflow home and a real care database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from care_models import migrations
from care_models.db import make_engine
from care_models.privacy import Vault
from care_models.synthetic.county import build_county
from care_models.synthetic.load import load_county
from tests.conftest import TEST_KEYS
from tests.dags.test_dag_integrity import airflow_env

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def prepare(home: Path) -> str:
    """Migrate Airflow's metadata database and a care database with the county; its URL."""
    care_url = f"sqlite:///{home / 'care.db'}"
    engine = make_engine(care_url)
    migrations.upgrade(engine)
    vault = Vault.from_keys([TEST_KEYS["CARE_ENCRYPTION_KEYS"]], TEST_KEYS["CARE_MATCH_KEY"])
    with Session(engine) as session, session.begin():
        load_county(session, vault, build_county())
    engine.dispose()
    result = subprocess.run(
        [AIRFLOW, "db", "migrate"],
        env=env(home, care_url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return care_url


def env(home: Path, care_url: str, **extra: str) -> dict[str, str]:
    return {
        **airflow_env(home),
        **TEST_KEYS,
        "CARE_DATABASE_URL": care_url,
        "CARE_VAR_DIR": str(home / "var"),
        **extra,
    }


def dags_test(
    home: Path, care_url: str, dag_id: str, conf: dict[str, object] | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AIRFLOW, "dags", "test", dag_id, *(["--conf", json.dumps(conf)] if conf else [])],
        env=env(home, care_url, **extra),
        capture_output=True,
        text=True,
        timeout=900,
    )
