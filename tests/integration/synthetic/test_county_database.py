"""Loading the synthetic county: idempotent, constrained, and no personal field in clear."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from care_models.privacy import Vault, reveal
from care_models.schema import AuditLog, Client, Town
from care_models.synthetic.county import PROVIDERS, VENDORS, build_county
from care_models.synthetic.load import county_counts, load_county


def test_loading_twice_adds_no_row(county_engine: Engine, vault: Vault) -> None:
    with Session(county_engine) as session:
        first = county_counts(session)
    with Session(county_engine) as session, session.begin():
        second = load_county(session, vault, build_county())
    assert first == second
    assert first["clients"] == 450 and first["towns"] == 7 and first["staff"] == 12
    assert first["organisations"] == 8 + len(PROVIDERS) + len(VENDORS)


def test_raw_database_holds_no_personal_value_in_clear(county_engine: Engine) -> None:
    county = build_county()
    secrets = set()
    for client in county.clients[:60]:
        p = client.person
        secrets |= {
            p.name,
            p.address,
            p.phone or "",
            p.rrn or "",
            (p.rrn or "").replace("-", ""),
            p.birth_date.isoformat(),
        }
    secrets.discard("")
    with county_engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM clients")).all()
    dump = "\n".join(str(value) for row in rows for value in row)
    leaked = [s for s in secrets if s in dump]
    assert leaked == []


def test_reveal_decrypts_and_writes_one_audit_row(county_engine: Engine, vault: Vault) -> None:
    expected = build_county().clients[0]
    with Session(county_engine) as session, session.begin():
        client = session.scalars(select(Client).where(Client.code == expected.code)).one()
        values = reveal(
            session, vault, client, ["name", "phone"], actor="S0001", purpose="home visit day sheet"
        )
    assert values == {"name": expected.person.name, "phone": expected.person.phone}
    with Session(county_engine) as session:
        audit = session.scalars(select(AuditLog)).all()
    assert [(a.actor, a.action, a.entity_id, a.fields) for a in audit] == [
        ("S0001", "read", expected.code, ["name", "phone"])
    ]
    assert expected.person.name not in str(audit[0].purpose)


def test_rrn_hash_is_unique_per_person(county_engine: Engine) -> None:
    with Session(county_engine) as session:
        existing = session.scalars(select(Client).limit(1)).one()
        row = {
            c.name: getattr(existing, c.name)
            for c in Client.__table__.columns
            if c.name not in ("id", "created_at", "updated_at")
        }
        row["code"] = "C9999999"
        with pytest.raises(IntegrityError):
            session.execute(insert(Client), [row])


def test_coded_columns_are_checked_by_the_database(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(Town(code="X", name="x", kind="village", latitude=36.8, longitude=127.4))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
        session.add(Town(code="X", name="x", kind="eup", latitude=51.5, longitude=-0.1))
        with pytest.raises(IntegrityError):
            session.flush()


def test_a_failed_load_writes_nothing(engine: Engine, vault: Vault) -> None:
    county = build_county(clients=30)
    county.clients[-1].risk_tier = "unknown-tier"
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        load_county(session, vault, county)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Client)) == 0
        assert session.scalar(select(func.count()).select_from(Town)) == 0


def test_timestamps_default_on_both_backends(county_engine: Engine) -> None:
    with Session(county_engine) as session:
        created = session.scalar(select(Client.created_at).limit(1))
    assert isinstance(created, dt.datetime)
