"""``python -m care_models vendors secret|revoke VENDOR``: a secret printed once, kept encrypted."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models import cli
from care_models.alerts.signing import live_secrets
from care_models.config import load_settings
from care_models.privacy import Vault
from care_models.schema import VendorSecret
from tests.support.alerts import seed_rows


def test_register_rotate_and_revoke(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_rows(engine)
    monkeypatch.setenv("CARE_DATABASE_URL", database_url)
    assert cli.main(["vendors", "secret", "V-SPEAKER"]) == 0
    first = capsys.readouterr().out.strip()
    assert cli.main(["vendors", "secret", "V-SPEAKER"]) == 0
    second = capsys.readouterr().out.strip()
    assert first and second and first != second
    vault = Vault.from_settings(load_settings())
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session:
        assert set(live_secrets(session, vault, "V-SPEAKER", now)) == {first, second}
        assert first not in session.scalars(select(VendorSecret.secret_enc)).all()
    assert cli.main(["vendors", "revoke", "V-SPEAKER"]) == 0
    assert "2 secrets revoked" in capsys.readouterr().out
    assert cli.main(["vendors", "secret", "V-NOBODY"]) == 2
    assert "V-NOBODY" in capsys.readouterr().err
