"""Tokens from the command line: issue, rotate, revoke; seed never makes a guessable one."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from care_models import cli, tokens
from care_models.privacy import Vault
from care_models.schema import AccessToken, AuditLog, DatabaseMark, Organisation
from tests.support.referrals import dump_database

Run = tuple[int, str, str]


@pytest.fixture
def run(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> object:
    monkeypatch.setenv("CARE_DATABASE_URL", database_url)

    def _run(*args: str, **env: str) -> Run:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        try:
            code = cli.main(list(args))
        except SystemExit as exited:  # argparse's own errors
            code = int(exited.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture
def seeded(run: object, engine: Engine) -> Engine:
    code, _out, err = run("seed", "--clients", "30")  # type: ignore[operator]
    assert code == 0, err
    return engine


def _hospital(engine: Engine, vault: Vault, token: str) -> str | None:
    with Session(engine) as session:
        found = tokens.hospital_for_token(session, vault, token)
    return None if found is None else found[0].code


def _counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(AccessToken)) or 0,
            session.scalar(select(func.count()).select_from(AuditLog)) or 0,
        )


def _public_formula_token(code: str) -> str:
    """How the demo token of a hospital used to be derived, from a public seed."""
    digest = hashlib.sha256(f"20260301:{code}".encode()).hexdigest()[:32]
    return f"demo-{code.lower()}-{digest}"


def test_seed_gives_random_development_tokens_in_a_private_file(
    seeded: Engine, vault: Vault, run: object, isolated_var_dir: Path
) -> None:
    path = isolated_var_dir / "dev-tokens.json"
    assert oct(path.stat().st_mode)[-3:] == "600"
    written = json.loads(path.read_text())
    token = written["hospitals"]["H-JC-GEN"]
    assert len(token) >= 43 and _hospital(seeded, vault, token) == "H-JC-GEN"
    assert _hospital(seeded, vault, _public_formula_token("H-JC-GEN")) is None
    assert set(written["staff"]) >= {"S0001", "S0002"}
    assert run("seed", "--clients", "30")[0] == 0  # type: ignore[operator]
    assert json.loads(path.read_text()) == written  # seeding again keeps the tokens
    assert token not in dump_database(seeded)


def test_seed_refuses_production_mode(run: object, engine: Engine, isolated_var_dir: Path) -> None:
    code, _out, err = run(  # type: ignore[operator]
        "seed", CARE_MODE="production", CARE_SYNTHETIC_CLIENTS="30"
    )
    assert code == 2
    assert err.strip().splitlines() == [err.strip()] and err.startswith("error: CARE_MODE:")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0
    assert not (isolated_var_dir / "dev-tokens.json").exists()


def test_seed_refuses_a_database_of_real_clients(seeded: Engine, run: object) -> None:
    with Session(seeded) as session, session.begin():
        session.execute(delete(DatabaseMark))  # clients, and nobody seeded them: real people
    before = dump_database(seeded)
    code, _out, err = run("seed", "--clients", "40")  # type: ignore[operator]
    assert code == 2 and err.startswith("error: seed:") and len(err.strip().splitlines()) == 1
    assert dump_database(seeded) == before


def test_issue_rotate_and_revoke_a_hospital_token(
    seeded: Engine, vault: Vault, run: object
) -> None:
    code, out, err = run("token", "issue", "--hospital", "H-DS-MED", "--days", "30")  # type: ignore[operator]
    assert code == 0, err
    first = out.strip()
    assert len(out.splitlines()) == 1 and len(first) == 43  # 256 bits, urlsafe base64
    assert _hospital(seeded, vault, first) == "H-DS-MED"
    assert first not in dump_database(seeded)  # only its keyed hash is kept
    with Session(seeded) as session:
        row = session.scalars(select(AccessToken).order_by(AccessToken.id.desc())).first()
        assert row is not None
        lifetime = tokens.aware(row.expires_at) - tokens.aware(row.created_at)
    assert lifetime == dt.timedelta(days=30)

    code, out, _err = run("token", "rotate", "--hospital", "H-DS-MED")  # type: ignore[operator]
    second = out.strip()
    assert code == 0 and second != first
    assert _hospital(seeded, vault, second) == "H-DS-MED"
    assert _hospital(seeded, vault, first) == "H-DS-MED"  # the documented grace (a day)
    code, out, _err = run(  # type: ignore[operator]
        "token", "rotate", "--hospital", "H-DS-MED", CARE_TOKEN_ROTATION_GRACE_MINUTES="0"
    )
    third = out.strip()
    assert code == 0 and _hospital(seeded, vault, third) == "H-DS-MED"
    assert _hospital(seeded, vault, first) is None and _hospital(seeded, vault, second) is None

    code, out, _err = run("token", "revoke", "--hospital", "H-DS-MED")  # type: ignore[operator]
    assert code == 0 and "1 live tokens revoked" in out
    assert _hospital(seeded, vault, third) is None
    with Session(seeded) as session:
        audit = session.scalars(
            select(AuditLog).where(AuditLog.entity_id == "H-DS-MED").order_by(AuditLog.id)
        ).all()
    assert [a.action for a in audit] == [
        "token_issue",
        "token_rotate",
        "token_rotate",
        "token_revoke",
    ]
    assert all(t not in (a.purpose or "") for a in audit for t in (first, second, third))


def test_a_coordinators_calendar_token(seeded: Engine, vault: Vault, run: object) -> None:
    code, out, _err = run("token", "issue", "--staff", "S0002")  # type: ignore[operator]
    assert code == 0
    with Session(seeded) as session:
        assert tokens.staff_for_token(session, vault, "S0002", out.strip()) is not None
        assert tokens.staff_for_token(session, vault, "S0003", out.strip()) is None


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["token", "issue"], "--hospital/--staff"),
        (["token", "issue", "--hospital", "H-DS-MED", "--staff", "S0002"], "--hospital/--staff"),
        (["token", "issue", "--hospital", "H-NOWHERE"], "--hospital"),
        (["token", "rotate", "--hospital", "S0002"], "--hospital"),
        (["token", "issue", "--staff", "S9999"], "--staff"),
        (["token", "issue", "--hospital", "H-DS-MED", "--days", "0"], "--days"),
        (["token", "rotate", "--hospital", "H-DS-MED", "--days", "4000"], "--days"),
        (["token", "revoke", "--hospital", "H-DS-MED", "--days", "3"], "--days"),
        (["token", "issue", "--hospital", "H-DS-MED", "--days", "many"], "argument --days"),
        (["token", "renew", "--hospital", "H-DS-MED"], "argument action"),
    ],
)
def test_bad_token_input_is_one_line_and_writes_nothing(
    seeded: Engine, run: object, args: list[str], field: str
) -> None:
    before = _counts(seeded)
    code, out, err = run(*args)  # type: ignore[operator]
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"error: {field}"), err
    assert _counts(seeded) == before
