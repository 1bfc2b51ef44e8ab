"""Shared fixtures: isolated settings and keys, and a migrated care database per backend.

Every database test runs on SQLite and on PostgreSQL. PostgreSQL comes from
CARE_TEST_POSTGRES_URL (default: the local server); when it is unreachable those
tests skip, unless CARE_TEST_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from care_models.config import load_settings
from care_models.db import make_engine
from care_models.privacy import Vault, generate_key
from care_models.schema import Base
from care_models.synthetic.county import build_county
from care_models.synthetic.load import issue_synthetic_tokens, load_county
from tests.support.databases import scratch_postgres_database, sqlite_database

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEST_KEYS = {
    "CARE_ENCRYPTION_KEYS": generate_key(),
    "CARE_MATCH_KEY": generate_key(),
    "CARE_TOKEN_KEY": generate_key(),
}


def pytest_configure(config: pytest.Config) -> None:
    # Tests never touch the developer's var/ nor a CARE_ setting from the shell.
    for name in [n for n in os.environ if n.startswith("CARE_") and "TEST" not in n]:
        del os.environ[name]
    os.environ.update(TEST_KEYS)
    os.environ["GX_ANALYTICS_ENABLED"] = "False"


@pytest.fixture(autouse=True)
def isolated_var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    var = tmp_path / "var"
    var.mkdir()
    monkeypatch.setenv("CARE_VAR_DIR", str(var))
    return var


@pytest.fixture(scope="session")
def vault() -> Vault:
    return Vault.from_keys(
        [TEST_KEYS["CARE_ENCRYPTION_KEYS"]],
        TEST_KEYS["CARE_MATCH_KEY"],
        TEST_KEYS["CARE_TOKEN_KEY"],
    )


def _postgres_admin_url() -> str:
    return os.environ.get("CARE_TEST_POSTGRES_URL", DEFAULT_PG)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    admin_url = _postgres_admin_url()
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the server
        message = f"PostgreSQL not reachable at CARE_TEST_POSTGRES_URL: {type(exc).__name__}"
        if os.environ.get("CARE_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    admin.dispose()
    with scratch_postgres_database(admin_url) as url:
        yield url


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated care database: a new SQLite file, or the session's PG, emptied."""
    if request.param == "sqlite":
        yield sqlite_database(tmp_path / "care.db")
    else:
        url = request.getfixturevalue("postgres_database")
        engine = make_engine(url)
        _truncate_all(engine)
        engine.dispose()
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def county_engine(engine: Engine, vault: Vault, isolated_var_dir: Path) -> Engine:
    """The care database with the default synthetic county loaded, and its development
    tokens in the test's CARE_VAR_DIR (``hospital_token``, ``staff_feed_token``)."""
    county = build_county()
    with Session(engine) as session, session.begin():
        load_county(session, vault, county)
        issue_synthetic_tokens(session, vault, load_settings(), county)
    return engine
