"""The care database file and the development key file are private (0600); development
keys are refused when the database is not on this machine."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from care_models.config import load_settings
from care_models.db import engine_from_settings, is_local_database, make_engine
from care_models.errors import MissingKeyError
from care_models.privacy import Vault


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> object:
    """A permissive umask, as on many shared hosts: files would be 0644 by default."""
    import os

    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_care_database_file_is_created_0600(isolated_var_dir: Path, open_umask: object) -> None:
    settings = load_settings({"CARE_VAR_DIR": str(isolated_var_dir)})
    engine = engine_from_settings(settings)
    engine.dispose()
    assert _mode(isolated_var_dir / "care.db") == 0o600


def test_a_world_readable_database_file_is_made_private(tmp_path: Path, open_umask: object) -> None:
    path = tmp_path / "old.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert _mode(path) == 0o600


def test_the_development_key_file_is_created_0600(
    isolated_var_dir: Path, open_umask: object
) -> None:
    settings = load_settings({"CARE_VAR_DIR": str(isolated_var_dir)})
    Vault.from_settings(settings)
    assert _mode(settings.dev_keys_file) == 0o600
    settings.dev_keys_file.chmod(0o644)  # loosened by hand: tightened on the next read
    Vault.from_settings(settings)
    assert _mode(settings.dev_keys_file) == 0o600


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///var/care.db",
        "sqlite://",
        "postgresql+psycopg://care@127.0.0.1:5432/care",
        "postgresql+psycopg://care@localhost/care",
        "postgresql+psycopg://care@[::1]/care",
        "postgresql+psycopg:///care",
        "postgresql+psycopg:///care?host=/var/run/postgresql",
    ],
)
def test_local_databases(url: str) -> None:
    assert is_local_database(url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://care@db.example.org/care",
        "postgresql+psycopg://care@10.0.0.5:5432/care",
        "postgresql+psycopg://care@postgres/care",
        "postgresql+psycopg:///care?host=db.example.org",
    ],
)
def test_development_keys_are_refused_with_a_database_elsewhere(
    url: str, isolated_var_dir: Path
) -> None:
    settings = load_settings({"CARE_VAR_DIR": str(isolated_var_dir), "CARE_DATABASE_URL": url})
    assert not is_local_database(url)
    with pytest.raises(MissingKeyError, match="CARE_ENCRYPTION_KEYS") as raised:
        Vault.from_settings(settings)
    assert "loopback" in str(raised.value) and "example" not in str(raised.value)
    assert not settings.dev_keys_file.exists()  # and none are generated


def test_configured_keys_work_with_a_database_elsewhere(isolated_var_dir: Path) -> None:
    from tests.conftest import TEST_KEYS

    settings = load_settings(
        {
            "CARE_VAR_DIR": str(isolated_var_dir),
            "CARE_DATABASE_URL": "postgresql+psycopg://care@db.example.org/care",
            **TEST_KEYS,
        }
    )
    assert Vault.from_settings(settings).encryption_keys
