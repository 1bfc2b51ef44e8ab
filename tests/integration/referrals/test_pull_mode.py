"""Pull mode: the county polls a hospital's FHIR server (the simulator) for referrals.

Every referral arrives exactly once whatever the server does (5xx, timeouts, a page
served twice, a failed middle page, a malformed page); the watermark is committed
only after a complete run, and the overlap re-reads are harmless; an invalid
referral is rejected without blocking the others; the simulator answers only the
includes asked for, as a standard server does. Runs on SQLite and PostgreSQL.
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
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

import care_hooks.fhir
import care_hooks.fhir_page
from care_hooks.fhir import pull_all
from care_hooks.fhir_pull import (
    EPOCH,
    PullResult,
    bundle_bytes,
    pull_hospital,
    referral_bundles,
    search_params,
)
from care_hooks.http import RetryPolicy
from care_models.db import session_factory
from care_models.errors import CareError, ConfigurationError, DataError, ExternalServiceError
from care_models.fhir.bundle import parse_referral
from care_models.privacy import Vault
from care_models.referrals.store import raw_bundle
from care_models.schema import (
    AuditLog,
    OperationalAlert,
    Organisation,
    Referral,
    ReferralStatusEvent,
    SyncWatermark,
)
from care_models.synthetic.county import build_county
from care_models.workdays import seoul_today
from care_sim.fhir_server import FaultPlan, FhirServerSimulator, synthetic_referral_bundles

TODAY = dt.date(2025, 3, 14)
HOSPITAL = "H-CJ-UNI"
SOURCE = f"fhir:{HOSPITAL}"
FAST = {"backoff_seconds": 0.01, "timeout_seconds": 2.0}
# For what does not depend on the database's dialect (HTTP, credentials, parsing).
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


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


def test_pulls_every_page_once_then_only_the_overlap_again(
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

        second = _pull(factory, vault, hospital, server)  # all within the overlap
        assert second == PullResult(3, 0, 12, 0, last, last)
        assert server.requests["/fhir/ServiceRequest"] == searches * 2
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


def test_failure_after_a_page_keeps_its_referrals_not_the_watermark(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
) -> None:
    faults = FaultPlan(fail_requests=set(range(2, 10)))
    with FhirServerSimulator(bundles[:12], page_size=5, faults=faults) as server:
        with pytest.raises(ExternalServiceError):
            _pull(factory, vault, hospital, server, max_retries=1)
        assert _watermark(factory) is None
        assert len(_stored(factory, hospital)) == 5

        server.faults = FaultPlan()
        rerun = _pull(factory, vault, hospital, server)
        assert (rerun.created, rerun.existing, rerun.watermark_before) == (7, 5, EPOCH)
        assert rerun.watermark_after == _last_updated(server)
    assert len(_stored(factory, hospital)) == 12


def test_a_referral_added_later_is_the_only_one_created_next(
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
        assert second == PullResult(3, 1, 12, 0, first.watermark_after, _last_updated(server))
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
        again = _pull(factory, vault, hospital, server)  # the overlap: read, not recorded
        assert (again.created, again.existing, again.rejected) == (0, 6, 1)
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
        params = search_params(EPOCH, 5)
        page = httpx.get(f"{server.base_url}/ServiceRequest", params=params).json()
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


# -- trust at the boundaries ---------------------------------------------------------------


def _task_versions(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(ReferralStatusEvent)) or 0


@SQLITE_ONLY
def test_the_search_asks_sorted_from_the_watermark_with_the_standard_includes(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
) -> None:
    with FhirServerSimulator(bundles[:2], page_size=5) as server:
        _pull(factory, vault, hospital, server)
        (query,) = server.searches
    params = dict(query)
    assert params["_sort"] == "_lastUpdated"
    assert params["_lastUpdated"].startswith("ge")
    revincludes = {v for k, v in query if k.startswith("_revinclude")}
    assert {"Task:focus", "Condition:subject", "Observation:subject"} <= revincludes


def test_a_failed_middle_page_loses_nothing_and_the_rerun_fetches_each_once(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
) -> None:
    """Page 2 of 3 fails; the hospital had edited its oldest referrals (newest stamps)."""
    with FhirServerSimulator(bundles[:12], page_size=5, faults=FaultPlan({2})) as server:
        for request in server.service_requests()[:5]:
            server.update(f"ServiceRequest/{request['id']}")
        with pytest.raises(ExternalServiceError):
            _pull(factory, vault, hospital, server, max_retries=0)
        assert _watermark(factory) is None  # an incomplete run commits no watermark

        server.faults = FaultPlan()
        rerun = _pull(factory, vault, hospital, server)
        assert rerun.created + rerun.existing == 12
        assert rerun.watermark_after == _last_updated(server) == _watermark(factory)
        versions = _task_versions(factory)
        again = _pull(factory, vault, hospital, server)  # the overlap re-reads: harmless
        assert again.created == 0 and again.rejected == 0
    values = [r.identifier_value for r in _stored(factory, hospital)]
    assert sorted(values) == sorted(map(_identifier, bundles[:12]))
    assert _task_versions(factory) == versions


@SQLITE_ONLY
def test_a_server_requiring_a_bearer_token_gets_the_connections(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from care_hooks.fhir import FhirServerHook

    fast = {"policy": RetryPolicy(attempts=1), "timeout_seconds": 2.0}
    with FhirServerSimulator(bundles[:2], bearer_token="s3cret-token") as server:
        connection = {"conn_type": "fhir", "host": server.base_url}
        monkeypatch.setenv("AIRFLOW_CONN_FHIR_H_CJ_UNI", json.dumps(connection))
        with pytest.raises(ExternalServiceError, match="401"):
            FhirServerHook(HOSPITAL, **fast).pull(factory, vault, hospital, today=TODAY)
        assert _stored(factory, hospital) == []

        connection["password"] = "s3cret-token"
        monkeypatch.setenv("AIRFLOW_CONN_FHIR_H_CJ_UNI", json.dumps(connection))
        result = FhirServerHook(HOSPITAL, **fast).pull(factory, vault, hospital, today=TODAY)
        assert result.created == 2


@SQLITE_ONLY
def test_oauth2_client_credentials_from_the_connection(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from care_hooks.fhir import FhirServerHook

    clients = {"county-care": "client-secret"}
    with FhirServerSimulator(bundles[:2], bearer_token="issued", clients=clients) as server:
        connection = {
            "conn_type": "fhir",
            "host": server.base_url,
            "login": "county-care",
            "password": "client-secret",
            "extra": {"token_url": server.token_url},
        }
        monkeypatch.setenv("AIRFLOW_CONN_FHIR_H_CJ_UNI", json.dumps(connection))
        hook = FhirServerHook(HOSPITAL, policy=RetryPolicy(attempts=1))
        assert hook.pull(factory, vault, hospital, today=TODAY).created == 2
        assert server.requests["/oauth/token"] == 1


MALFORMED_PAGES = {
    "entry that is a list": b'{"resourceType":"Bundle","type":"searchset","entry":[[1,2]]}',
    "resource not an object": (
        b'{"resourceType":"Bundle","type":"searchset","entry":[{"resource":"Patient"}]}'
    ),
    "deeply nested JSON": b'{"resourceType":"Bundle","type":"searchset","entry":'
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}",
    "number over 4,300 digits": b'{"resourceType":"Bundle","type":"searchset","total":'
    + b"9" * 5_000
    + b"}",
    "entry of wrong type": b'{"resourceType":"Bundle","type":"searchset","entry":"x"}',
    "link of wrong type": b'{"resourceType":"Bundle","type":"searchset","link":{"url":1}}',
    "resourceType of wrong type": (
        b'{"resourceType":"Bundle","type":"searchset","entry":'
        b'[{"fullUrl":["x"],"resource":{"resourceType":{"a":1},"id":2}}]}'
    ),
    "nesting inside a resource": b'{"resourceType":"Bundle","type":"searchset","entry":'
    b'[{"fullUrl":"http://h/ServiceRequest/1","search":{"mode":"match"},"resource":'
    b'{"resourceType":"ServiceRequest","id":"1","note":'
    + b'{"a":' * 900
    + b"1"
    + b"}" * 900
    + b"}}]}",
}


@SQLITE_ONLY
def test_a_malformed_page_is_a_typed_error_of_that_hospital(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
) -> None:
    with FhirServerSimulator(bundles[:1]) as server:
        for what, body in MALFORMED_PAGES.items():
            server.faults = FaultPlan(raw_answers={server.request_count + 1: body})
            with pytest.raises(CareError) as raised:
                _pull(factory, vault, hospital, server, max_retries=0)
            assert HOSPITAL in str(raised.value), what
            assert isinstance(raised.value, ExternalServiceError | DataError), what
    assert _stored(factory, hospital) == [] and _watermark(factory) is None


def test_one_hospitals_bad_page_or_bug_stops_no_other_hospital(
    database_url: str,
    factory: sessionmaker[Session],
    hospital: Organisation,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from care_tasks.referrals import pull_all_hospitals

    monkeypatch.setenv("CARE_DATABASE_URL", database_url)
    today = seoul_today()
    mine = synthetic_referral_bundles(3, today=today, seed=12, county=build_county())
    others = synthetic_referral_bundles(2, today=today, hospital_code="H-ES-GEN")
    junk = FaultPlan(raw_answers={1: MALFORMED_PAGES["entry that is a list"]})
    real_pull = care_hooks.fhir.pull_hospital

    def buggy(factory: Any, vault: Any, hospital: Organisation, *args: Any, **kw: Any) -> Any:
        if hospital.code == "H-JC-GEN":  # a bug, not a care error: its text may be personal
            raise KeyError("홍길동")
        return real_pull(factory, vault, hospital, *args, **kw)

    monkeypatch.setattr(care_hooks.fhir, "pull_hospital", buggy)
    with (
        FhirServerSimulator([], faults=junk) as broken,
        FhirServerSimulator(mine) as good,
        FhirServerSimulator(others, faults=FaultPlan(raw_answers={1: b"[" * 50_000})) as deep,
    ):
        servers = {"H-CA-CEN": broken, "H-CJ-UNI": good, "H-ES-GEN": deep, "H-JC-GEN": good}
        for code, server in servers.items():
            _connect(monkeypatch, code, server.base_url)
        totals = pull_all_hospitals()
    assert totals["hospitals"] == 1 and totals["created"] == 3
    assert totals["failed_hospitals"] == 3
    assert len(_stored(factory, hospital)) == 3
    assert "pull failed for 3 hospitals: H-CA-CEN, H-ES-GEN, H-JC-GEN" in caplog.text
    assert "홍길동" not in caplog.text
    with factory() as session:  # the administrators see each failed hospital, no value
        alerts = session.scalars(select(OperationalAlert).order_by(OperationalAlert.entity_id))
        opened = [(a.kind, a.entity_id, a.resolved_at, a.detail) for a in alerts]
    assert [(kind, code) for kind, code, *_ in opened] == [
        ("pull_failed", "H-CA-CEN"),
        ("pull_failed", "H-ES-GEN"),
        ("pull_failed", "H-JC-GEN"),
    ]
    assert all(resolved is None and "홍길동" not in detail for *_, resolved, detail in opened)


def _connect(monkeypatch: pytest.MonkeyPatch, code: str, url: str) -> None:
    connection = {"conn_type": "fhir", "host": url}
    monkeypatch.setenv("AIRFLOW_CONN_FHIR_" + code.replace("-", "_"), json.dumps(connection))


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("bound", "value", "message"),
    [("MAX_PAGE_BYTES", 1_000, "exceeds 1000 bytes"), ("MAX_REQUEST_SECONDS", -1.0, "took over")],
)
def test_a_page_too_large_or_too_slow_is_cut_off(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    bound: str,
    value: float,
    message: str,
) -> None:
    monkeypatch.setattr(care_hooks.fhir_page, bound, value)
    with (
        FhirServerSimulator(bundles[:2]) as server,
        pytest.raises(ExternalServiceError, match=message),
    ):
        _pull(factory, vault, hospital, server, max_retries=0)
    assert _stored(factory, hospital) == []


@SQLITE_ONLY
def test_a_misconfigured_connection_fails_the_run_after_the_others_are_pulled(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FhirServerSimulator(bundles[:2]) as good:
        _connect(monkeypatch, "H-CA-CEN", "http://fhir.example.org/fhir")  # not https
        _connect(monkeypatch, "H-CJ-UNI", good.base_url)
        with pytest.raises(ConfigurationError, match="fhir_h_ca_cen"):
            pull_all(factory, vault, today=TODAY, timeout_seconds=2.0)
    assert len(_stored(factory, hospital)) == 2


@SQLITE_ONLY
def test_a_lost_database_stops_the_run_for_the_retries(
    factory: sessionmaker[Session], vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr(care_hooks.fhir, "pull_hospital", lost)
    _connect(monkeypatch, "H-CJ-UNI", "http://127.0.0.1:9/fhir")
    with pytest.raises(OperationalError):
        pull_all(factory, vault, today=TODAY)


@SQLITE_ONLY
def test_only_the_observations_a_referral_needs_are_pulled(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    bundles: list[dict[str, Any]],
) -> None:
    """The Patient revinclude brings every Observation about the patient; labs stay out."""
    served = copy.deepcopy(bundles[1])  # the ADL Observation shape
    patient_url = next(
        e["fullUrl"] for e in served["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    lab = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
        "subject": {"reference": patient_url},
        "valueQuantity": {"value": 97, "unit": "mg/dL"},
    }
    served["entry"].append(
        {"fullUrl": "urn:uuid:0d9c2f55-6f4e-4f36-9d1b-1a2b3c4d5e6f", "resource": lab}
    )
    with FhirServerSimulator([served]) as server:
        assert _pull(factory, vault, hospital, server).created == 1
    (referral,) = _stored(factory, hospital)
    document = json.loads(raw_bundle(vault, referral))
    codes = {
        c["code"]
        for e in document["entry"]
        if e["resource"]["resourceType"] == "Observation"
        for c in e["resource"]["code"]["coding"]
    }
    assert codes and "2345-7" not in codes
