"""Home coordinates: exact ones only encrypted; gates, maps and routing get a 0.001° grid."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from care_models import migrations
from care_models.privacy import COORDINATE_DECIMALS, Vault, coarse, exact_location
from care_models.queries import load_query
from care_models.schema import Client
from care_models.synthetic.county import build_county


def _on_grid(value: float) -> bool:
    return round(value, COORDINATE_DECIMALS) == value


def test_clients_keep_a_coarse_copy_and_the_exact_place_encrypted(
    county_engine: Engine, vault: Vault
) -> None:
    exact = {c.code: (c.latitude, c.longitude) for c in build_county().clients}
    with Session(county_engine) as session:
        clients = session.scalars(select(Client)).all()
        gate_rows = (
            session.execute(load_query("gates/select_county_clients", county_engine.dialect.name))
            .mappings()
            .all()
        )
    assert clients and any(not _on_grid(lat) for lat, _ in exact.values())  # the test can fail
    for client in clients:
        assert client.latitude is not None and client.longitude is not None
        assert _on_grid(client.latitude) and _on_grid(client.longitude)
        lat, lon = exact[client.code]
        assert (client.latitude, client.longitude) == (coarse(lat), coarse(lon))
        assert abs(client.latitude - lat) <= 0.0005 and abs(client.longitude - lon) <= 0.0005
        assert client.location_enc and client.location_enc.startswith("v1.")
        assert exact_location(vault, client) == (lat, lon)
    for row in gate_rows:
        assert _on_grid(row["latitude"]) and _on_grid(row["longitude"])
        assert row["personal_fields_encrypted"] == 1


def test_the_migration_encrypts_and_coarsens_existing_homes(
    engine: Engine, vault: Vault, monkeypatch: object
) -> None:
    migrations.downgrade(engine, "0002")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO towns (code, name, kind, latitude, longitude, urban) "
                "VALUES ('T1', '진천읍', 'eup', 36.8553, 127.4356, true)"
            )
        )
        town_id = connection.execute(text("SELECT id FROM towns")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO clients (code, name_enc, birth_date_enc, address_enc, birth_year, "
                "sex, town_id, latitude, longitude, household_type, risk_tier, ltc_grade, "
                "basic_livelihood, medical_aid, consent_given, created_at, updated_at) VALUES "
                "('C1', :n, :b, :a, 1940, 'female', :t, 36.861234, 127.443219, 'living_alone', "
                "'caution', 'none', false, false, true, :now, :now)"
            ),
            {
                "n": vault.encrypt("이름", "clients.name"),
                "b": vault.encrypt("1940-01-01", "clients.birth_date"),
                "a": vault.encrypt("주소", "clients.address"),
                "t": town_id,
                "now": dt.datetime(2026, 3, 1),
            },
        )
    migrations.upgrade(engine)  # the keys come from the settings (the test environment's)
    with Session(engine) as session:
        client = session.scalars(select(Client)).one()
        assert (client.latitude, client.longitude) == (36.861, 127.443)
        assert exact_location(vault, client) == (36.861234, 127.443219)
