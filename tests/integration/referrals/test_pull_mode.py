"""Pull mode: the county polls a hospital's FHIR server (the simulator) for referrals.

Every referral arrives exactly once whatever the server does (5xx, timeouts, a page
served twice); the watermark only moves past committed referrals; an invalid
referral is rejected without blocking the others. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from care_hooks.fhir_pull import EPOCH, PullResult, bundle_bytes, pull_hospital, referral_bundles
from care_models.db import session_factory
from care_models.errors import ExternalServiceError
from care_models.fhir.bundle import parse_referral
from care_models.privacy import Vault
from care_models.referrals.store import raw_bundle
from care_models.schema import AuditLog, Organisation, Referral, SyncWatermark
from care_models.synthetic.county import build_county
from care_sim.fhir_server import FaultPlan, FhirServerSimulator, synthetic_referral_bundles

TODAY = dt.date(2025, 3, 14)
HOSPITAL = "H-CJ-UNI"
SOURCE = f"fhir:{HOSPITAL}"
FAST = {"backoff_seconds": 0.01, "timeout_seconds": 2.0}


@pytest.fixture(scope="module")
def bundles() -> list[dict[str, Any]]:
    """14 valid referral Bundles of H-CJ-UNI, in the four synthetic shapes."""
    return synthetic_referral_bundles(14, today=TODAY, seed=11, county=build_county())


@pytest.fixture
def factory(county_engine: Engine) -> sessionmaker[Session]:
    return session_factory(county_engine)


@pytest.fixture
def hospital(factory: sessionmaker[Session]) -> Organisation:
    with factory() as session:
        return session.scalars(select(Organisation).where(Organisation.code == HOSPITAL)).one()


def _pull(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    server: FhirServerSimulator,
    **options: Any,
) -> PullResult:
    return pull_hospital(
        factory, vault, hospital, server.base_url, today=TODAY, **{**FAST, **options}
    )


def _identifier(bundle: dict[str, Any]) -> str:
    request = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    )
    return str(request["identifier"][0]["value"])


def _stored(factory: sessionmaker[Session], hospital: Organisation) -> list[Referral]:
    with factory() as session:
        return list(
            session.scalars(
                select(Referral).where(Referral.hospital_id == hospital.id).order_by(Referral.id)
            )
        )


def _watermark(factory: sessionmaker[Session]) -> str | None:
    with factory() as session:
        row = session.get(SyncWatermark, SOURCE)
        return row.watermark if row else None


def _last_updated(server: FhirServerSimulator) -> str:
    return str(max(sr["meta"]["lastUpdated"] for sr in server.service_requests()))


def _personal_values(bundles: list[dict[str, Any]]) -> set[str]:
    values = set()
    for bundle in bundles:
        for entry in bundle["entry"]:
            patient = entry["resource"]
            if patient["resourceType"] != "Patient":
                continue
            values |= {patient["name"][0]["text"], patient["address"][0]["text"]}
            values |= {t["value"] for t in patient.get("telecom", [])}
            values |= {i["value"] for i in patient.get("identifier", [])}
    return values


def test_pulls_every_page_once_then_nothing_new(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with FhirServerSimulator(bundles[:12], page_size=5) as server:
        first = _pull(factory, vault, hospital, server)
        last = _last_updated(server)
        assert first == PullResult(3, 12, 0, 0, EPOCH, last)
        assert _watermark(factory) == last
        searches = server.requests["/fhir/ServiceRequest"]
        assert searches == 3

        second = _pull(factory, vault, hospital, server)
        assert second == PullResult(1, 0, 0, 0, last, last)
        assert server.requests["/fhir/ServiceRequest"] == searches + 1
    stored = _stored(factory, hospital)
    assert sorted(r.identifier_value for r in stored) == sorted(map(_identifier, bundles[:12]))
    assert {r.source for r in stored} == {"pull"}
    leaked = [v for v in _personal_values(bundles[:12]) if v in caplog.text]
    assert not leaked, "personal data in the logs"


def test_faults_lose_nothing_and_duplicate_nothing(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
) -> None:
    faults = FaultPlan(
        fail_requests={1, 3}, timeout_requests={2}, duplicate_pages={2}, timeout_seconds=3.0
    )
    with FhirServerSimulator(bundles[:12], page_size=5, faults=faults) as server:
        result = _pull(factory, vault, hospital, server, timeout_seconds=0.5)
        # 3 failed attempts, then pages 1, 2, 2 again and 3
        assert server.request_count == 7
        assert (result.pages, result.created, result.existing, result.rejected) == (4, 12, 5, 0)
        assert result.watermark_after == _last_updated(server) == _watermark(factory)
    values = [r.identifier_value for r in _stored(factory, hospital)]
    assert len(values) == len(set(values)) == 12
    assert set(values) == set(map(_identifier, bundles[:12]))


def test_retries_exhausted_raise_and_write_nothing(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
) -> None:
    with (
        FhirServerSimulator(bundles[:6], faults=FaultPlan(always_fail=True)) as server,
        pytest.raises(ExternalServiceError) as raised,
    ):
        _pull(factory, vault, hospital, server, max_retries=2)
    assert server.request_count == 3
    message = str(raised.value)
    assert HOSPITAL in message and "/fhir/ServiceRequest" in message and "503" in message
    assert not [v for v in _personal_values(bundles[:6]) if v in message]
    assert _watermark(factory) is None
    assert _stored(factory, hospital) == []


def test_failure_after_a_page_keeps_that_page_and_the_rerun_finishes(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
) -> None:
    faults = FaultPlan(fail_requests=set(range(2, 10)))
    with FhirServerSimulator(bundles[:12], page_size=5, faults=faults) as server:
        with pytest.raises(ExternalServiceError):
            _pull(factory, vault, hospital, server, max_retries=1)
        page_one = sorted(sr["meta"]["lastUpdated"] for sr in server.service_requests())[4]
        assert _watermark(factory) == page_one
        assert len(_stored(factory, hospital)) == 5

        server.faults = FaultPlan()
        rerun = _pull(factory, vault, hospital, server)
        assert (rerun.created, rerun.existing, rerun.watermark_before) == (7, 0, page_one)
        assert rerun.watermark_after == _last_updated(server)
    assert len(_stored(factory, hospital)) == 12


def test_a_referral_added_later_is_the_only_one_pulled_next(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
) -> None:
    with FhirServerSimulator(bundles[:12], page_size=5) as server:
        first = _pull(factory, vault, hospital, server)
        assert first.created == 12
        server.add(bundles[12])
        second = _pull(factory, vault, hospital, server)
        assert second == PullResult(1, 1, 0, 0, first.watermark_after, _last_updated(server))
        assert second.watermark_after > first.watermark_after
    stored = _stored(factory, hospital)
    assert len(stored) == 13 and stored[-1].identifier_value == _identifier(bundles[12])


def test_an_invalid_referral_is_rejected_and_blocks_nothing(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    invalid = copy.deepcopy(bundles[13])
    encounter = next(
        e["resource"] for e in invalid["entry"] if e["resource"]["resourceType"] == "Encounter"
    )
    start = dt.date.fromisoformat(encounter["period"]["start"])
    encounter["period"]["end"] = (start - dt.timedelta(days=3)).isoformat()
    served = [*bundles[:3], invalid, *bundles[3:6]]
    rejections = _rejections(factory)
    with FhirServerSimulator(served, page_size=5) as server:
        result = _pull(factory, vault, hospital, server)
        assert (result.pages, result.created, result.existing, result.rejected) == (2, 6, 0, 1)
        assert result.watermark_after == _last_updated(server)
        again = _pull(factory, vault, hospital, server)
        assert again.fetched == 0
    assert _rejections(factory) == rejections + 1
    stored = {r.identifier_value for r in _stored(factory, hospital)}
    assert stored == {_identifier(b) for b in served if b is not invalid}
    with factory() as session:
        line = session.scalars(
            select(AuditLog).where(AuditLog.action == "reject").order_by(AuditLog.id.desc())
        ).first()
    assert line is not None and line.actor == HOSPITAL
    assert any(f.endswith(".period.end") for f in line.fields)
    assert not [v for v in _personal_values(served) if v in caplog.text]


def test_stored_raw_referral_is_the_assembled_bundle(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
) -> None:
    system = hospital.identifier_system
    assert system
    with FhirServerSimulator(bundles[:4], page_size=5) as server:
        page = httpx.get(
            f"{server.base_url}/ServiceRequest", params={"status": "active", "_count": "5"}
        ).json()
        assembled = {
            request["identifier"][0]["value"]: bundle_bytes(bundle)
            for request, bundle in referral_bundles(page, server.base_url, system)
        }
        assert _pull(factory, vault, hospital, server).created == 4
    originals = {_identifier(b): b for b in bundles[:4]}
    for referral in _stored(factory, hospital):
        raw = raw_bundle(vault, referral)
        assert raw == assembled[referral.identifier_value]
        assert referral.payload_sha256 == hashlib.sha256(raw).hexdigest()
        document = json.loads(raw)
        assert document["type"] == "transaction"
        full_urls = {e["fullUrl"] for e in document["entry"]}
        assert all(u.startswith("urn:uuid:") for u in full_urls)
        references = _references(document)
        assert references and references <= full_urls  # every reference resolves inside
        record = parse_referral(raw, system, today=TODAY)
        assert record.identifier_value == referral.identifier_value
        assert record == parse_referral(originals[referral.identifier_value], system, today=TODAY)


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            found.add(node["reference"])
        for value in node.values():
            found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found


def _rejections(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        query = select(func.count()).select_from(AuditLog).where(AuditLog.action == "reject")
        return session.scalar(query) or 0
