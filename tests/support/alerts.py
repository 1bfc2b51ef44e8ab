"""Small hand-built rows for the alert tests: a town, clients, the four vendors, devices."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from care_models.schema import Alert, Client, Device, Organisation, Town

VENDORS = {
    "V-PLUG": "smart_plug",
    "V-SENSOR": "emergency_sensor",
    "V-AICALL": "ai_call",
    "V-SPEAKER": "ai_speaker",
}
NOW = dt.datetime(2026, 12, 3, 3, 0, tzinfo=dt.UTC)  # 12:00 in Seoul
START = NOW - dt.timedelta(days=5)


def device_name(vendor: str, n: int) -> str:
    return f"{vendor}-{n:06d}"


def seed_rows(engine: Engine, devices_per_vendor: int = 3) -> dict[str, list[str]]:
    """One client per device number, each with one device of every vendor; a removed
    device ``<vendor>-000099`` per vendor. Returns the active devices per vendor."""
    with Session(engine) as session, session.begin():
        town = Town(code="JC-01", name="진천읍", kind="eup", latitude=36.85, longitude=127.43)
        session.add(town)
        session.flush()
        clients = []
        for n in range(1, devices_per_vendor + 2):
            client = Client(
                code=f"C{n:05d}",
                name_enc="x",
                birth_date_enc="x",
                address_enc="x",
                birth_year=1940,
                sex="female",
                town_id=town.id,
                household_type="living_alone",
                risk_tier="at_risk",
            )
            session.add(client)
            clients.append(client)
        session.flush()
        active: dict[str, list[str]] = {}
        for code, device_type in VENDORS.items():
            vendor = Organisation(
                code=code, name=code, kind="vendor", in_county=False, device_type=device_type
            )
            session.add(vendor)
            session.flush()
            for n in range(1, devices_per_vendor + 1):
                session.add(_device(vendor.id, clients[n - 1].id, device_type, n, "active"))
                active.setdefault(code, []).append(device_name(code, n))
            session.add(_device(vendor.id, clients[-1].id, device_type, 99, "removed"))
    return active


def _device(vendor_id: int, client_id: int, device_type: str, n: int, status: str) -> Device:
    return Device(
        vendor_id=vendor_id,
        external_id=device_name(_code(vendor_id, device_type), n),
        client_id=client_id,
        device_type=device_type,
        installed_on=dt.date(2026, 1, 5),
        status=status,
    )


def _code(_vendor_id: int, device_type: str) -> str:
    return next(code for code, t in VENDORS.items() if t == device_type)


def alert_count(factory: sessionmaker[Session], vendor: str | None = None) -> int:
    with factory() as session:
        query = select(func.count(Alert.id))
        if vendor is not None:
            query = query.join(Organisation, Organisation.id == Alert.vendor_id).where(
                Organisation.code == vendor
            )
        return int(session.scalar(query) or 0)


def external_ids(factory: sessionmaker[Session], vendor: str) -> list[str]:
    with factory() as session:
        return sorted(
            session.scalars(
                select(Alert.external_id)
                .join(Organisation, Organisation.id == Alert.vendor_id)
                .where(Organisation.code == vendor)
            )
        )


@contextmanager
def vendor_connection(
    monkeypatch: pytest.MonkeyPatch, vendor: str, host: str, **extra: Any
) -> Iterator[None]:
    """An Airflow Connection ``vendor_<code>`` (environment variable) for the test."""
    name = "AIRFLOW_CONN_VENDOR_" + vendor.upper().replace("-", "_")
    connection: dict[str, Any] = {"conn_type": "http", "host": host}
    login = extra.pop("login", None)
    if login:
        connection["login"], connection["password"] = login
    connection["extra"] = extra
    monkeypatch.setenv(name, json.dumps(connection))
    yield
