"""The referral API: valid Bundles accepted once, bad input refused with nothing written."""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_api.app import create_app
from care_models.privacy import Vault
from care_models.schema import AuditLog, Referral, ReferralStatusEvent
from care_models.synthetic import referrals as sr
from tests.support.limits import mid_minute  # noqa: F401  (a fixture)
from tests.support.referrals import (
    api_settings,
    bundle_bytes,
    headers,
    resource,
    row_counts,
    serve,
    specs,
)

WRITTEN = ("referrals", "referral_status_events", "clients", "cases")


@pytest.fixture
def api(county_engine: Engine, vault: Vault) -> Iterator[TestClient]:
    settings = api_settings(CARE_API_MAX_BODY_BYTES="65536")
    with TestClient(create_app(settings=settings, engine=county_engine, vault=vault)) as client:
        yield client


def _post(api: TestClient, body: bytes, hospital: str, **extra: str) -> httpx.Response:
    return api.post("/fhir/Bundle", content=body, headers={**headers(hospital), **extra})


@pytest.mark.parametrize("shape", sr.SHAPES)
def test_each_hospital_shape_is_accepted_as_a_received_task(
    api: TestClient, county_engine: Engine, shape: str
) -> None:
    spec = next(s for s in specs(16) if sr.hospital_shape(s.hospital_code) == shape)
    response = _post(api, bundle_bytes(spec), spec.hospital_code)
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["resourceType"] == "Task" and task["status"] == "received"
    assert task["identifier"][0]["value"] == spec.number
    assert response.headers["location"].endswith(f"/fhir/Task/{task['id']}/_history/1")
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert row_counts(county_engine, ("referrals",)) == {"referrals": 1}


def test_resubmission_returns_the_existing_task_with_200(
    api: TestClient, county_engine: Engine
) -> None:
    spec = specs(1)[0]
    first = _post(api, bundle_bytes(spec), spec.hospital_code)
    again = _post(api, bundle_bytes(spec), spec.hospital_code)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert row_counts(county_engine, ("referrals", "referral_status_events")) == {
        "referrals": 1,
        "referral_status_events": 1,
    }


def test_if_none_exist_names_an_existing_referral(api: TestClient, county_engine: Engine) -> None:
    first, second = specs(9)[0], specs(9)[8]  # same hospital, different numbers
    assert first.hospital_code == second.hospital_code
    created = _post(api, bundle_bytes(first), first.hospital_code).json()

    def point_at_first(bundle: dict[str, Any]) -> None:
        entry = next(
            e for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
        )
        entry["request"]["ifNoneExist"] = (
            f"identifier={sr.identifier_system(first.hospital_code)}|{first.number}"
        )

    response = _post(api, bundle_bytes(second, point_at_first), second.hospital_code)
    assert response.status_code == 200 and response.json()["id"] == created["id"]
    assert row_counts(county_engine, ("referrals",)) == {"referrals": 1}


def _drop_subject(bundle: dict[str, Any]) -> None:
    del resource(bundle, "ServiceRequest")["subject"]


def _bogus_status(bundle: dict[str, Any]) -> None:
    resource(bundle, "ServiceRequest")["status"] = "bogus"


def _discharge_far_ahead(bundle: dict[str, Any]) -> None:
    resource(bundle, "Encounter")["period"]["end"] = "2099-01-01"


def _discharge_before_admission(bundle: dict[str, Any]) -> None:
    period = resource(bundle, "Encounter")["period"]
    period["end"] = "2000-01-01"


def _other_hospitals_identifier(bundle: dict[str, Any]) -> None:
    resource(bundle, "ServiceRequest")["identifier"][0]["system"] = "urn:care:hospital:x:referral"


def _wrong_resource_type(bundle: dict[str, Any]) -> None:
    bundle["resourceType"] = "Patient"


def _bogus_gender(bundle: dict[str, Any]) -> None:
    resource(bundle, "Patient")["gender"] = "M"


def _bogus_bundle_type(bundle: dict[str, Any]) -> None:
    bundle["type"] = "bogus"


@pytest.mark.parametrize(
    ("mutate", "status", "expression", "rule"),
    [
        (_wrong_resource_type, 400, "Bundle.resourceType", "must be 'Bundle'"),
        (_bogus_bundle_type, 422, "Bundle.type", "not a valid code"),
        (_drop_subject, 422, "subject", "ServiceRequest.subject is required"),
        (_bogus_status, 422, "status", "is not a valid code"),
        (_bogus_gender, 422, "gender", "is not a valid code"),
        (_discharge_far_ahead, 422, "period.end", "at most 30 days ahead"),
        (_discharge_before_admission, 422, "period.end", "not be before admission"),
        (_other_hospitals_identifier, 422, "identifier.system", "submitting hospital"),
    ],
    ids=[
        "wrong-resource-type",
        "bogus-bundle-type",
        "missing-subject",
        "bogus-status",
        "bogus-gender",
        "discharge-too-far-ahead",
        "discharge-before-admission",
        "foreign-identifier-system",
    ],
)
def test_invalid_bundles_get_an_operation_outcome_and_write_nothing(
    api: TestClient, county_engine: Engine, mutate: Any, status: int, expression: str, rule: str
) -> None:
    spec = specs(1)[0]
    before = row_counts(county_engine, WRITTEN)
    response = _post(api, bundle_bytes(spec, mutate), spec.hospital_code)
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = next(i for i in outcome["issue"] if rule in i["diagnostics"])
    assert expression in issue["expression"][0]
    assert row_counts(county_engine, WRITTEN) == before
    with Session(county_engine) as session:
        audits = session.scalars(select(AuditLog).where(AuditLog.action == "reject")).all()
    assert len(audits) == 1 and audits[0].actor == spec.hospital_code
    assert spec.person.name not in json.dumps(audits[0].fields) + str(audits[0].purpose)


def test_malformed_json_is_a_400_with_nothing_written(
    api: TestClient, county_engine: Engine
) -> None:
    response = _post(api, b'{"resourceType": "Bundle", ', "H-JC-GEN")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["issue"][0]["diagnostics"]
    assert row_counts(county_engine, ("referrals", "referral_status_events")) == {
        "referrals": 0,
        "referral_status_events": 0,
    }


def test_an_oversize_bundle_is_refused_before_it_is_read(
    api: TestClient, county_engine: Engine
) -> None:
    spec = specs(1)[0]

    def pad(bundle: dict[str, Any]) -> None:
        resource(bundle, "Task")["description"] = "가" * 70000

    response = _post(api, bundle_bytes(spec, pad), spec.hospital_code)
    assert response.status_code == 413
    assert response.json()["issue"][0]["code"] == "too-costly"
    assert row_counts(county_engine, ("referrals",)) == {"referrals": 0}


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
def test_a_missing_or_wrong_token_is_401(
    api: TestClient, county_engine: Engine, authorization: str | None
) -> None:
    spec = specs(1)[0]
    request_headers = {"Content-Type": "application/fhir+json"}
    if authorization:
        request_headers["Authorization"] = authorization
    response = api.post("/fhir/Bundle", content=bundle_bytes(spec), headers=request_headers)
    assert response.status_code == 401
    assert response.json()["issue"][0]["code"] == "login"
    assert row_counts(county_engine, ("referrals",)) == {"referrals": 0}


def test_wrong_content_type_is_415(api: TestClient) -> None:
    spec = specs(1)[0]
    response = _post(api, bundle_bytes(spec), spec.hospital_code, **{"Content-Type": "text/xml"})
    assert response.status_code == 415


def test_another_hospitals_task_is_a_404(api: TestClient) -> None:
    spec = specs(1)[0]
    task_id = _post(api, bundle_bytes(spec), spec.hospital_code).json()["id"]
    assert api.get(f"/fhir/Task/{task_id}", headers=headers(spec.hospital_code)).status_code == 200
    other = api.get(f"/fhir/Task/{task_id}", headers=headers("H-CA-CEN"))
    assert other.status_code == 404
    search = api.get(f"/fhir/Task?identifier={spec.number}", headers=headers("H-CA-CEN"))
    assert search.json()["total"] == 0


def test_task_search_by_identifier_and_last_updated(api: TestClient) -> None:
    first, second = specs(9)[0], specs(9)[8]
    created = _post(api, bundle_bytes(first), first.hospital_code).json()
    _post(api, bundle_bytes(second), second.hospital_code)
    found = api.get(
        f"/fhir/Task?identifier={sr.identifier_system(first.hospital_code)}|{first.number}",
        headers=headers(first.hospital_code),
    ).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [created["id"]]
    later = api.get(
        "/fhir/Task?_lastUpdated=gt2099-01-01T00:00:00Z", headers=headers(first.hospital_code)
    ).json()
    assert later["total"] == 0
    earlier = api.get(
        "/fhir/Task?_lastUpdated=gt2000-01-01", headers=headers(first.hospital_code)
    ).json()
    assert earlier["total"] == 2


@pytest.mark.usefixtures("mid_minute")
def test_rate_limit_per_hospital(county_engine: Engine, vault: Vault) -> None:
    settings = api_settings(CARE_API_RATE_PER_MINUTE="3")
    with TestClient(create_app(settings=settings, engine=county_engine, vault=vault)) as api:
        codes = [api.get("/fhir/Task", headers=headers("H-JC-GEN")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert api.get("/fhir/Task", headers=headers("H-DS-MED")).status_code == 200


def test_fifty_concurrent_identical_submissions_create_one_referral(
    county_engine: Engine, vault: Vault
) -> None:
    spec = specs(1)[0]
    body = bundle_bytes(spec)
    app = create_app(
        settings=api_settings(CARE_API_RATE_PER_MINUTE="6000"),
        engine=county_engine,
        vault=vault,
    )
    with serve(app) as base, httpx.Client(base_url=base, timeout=60) as client:

        def submit(_: int) -> tuple[int, str]:
            response = client.post(
                "/fhir/Bundle", content=body, headers=headers(spec.hospital_code)
            )
            return response.status_code, response.json()["id"]

        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(submit, range(50)))
    statuses = sorted(code for code, _ in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 49
    assert len({task_id for _, task_id in results}) == 1
    with Session(county_engine) as session:
        assert len(session.scalars(select(Referral)).all()) == 1
        assert len(session.scalars(select(ReferralStatusEvent)).all()) == 1


def test_the_raw_bundle_is_kept_exactly_but_encrypted(
    api: TestClient, county_engine: Engine, vault: Vault
) -> None:
    spec = specs(1)[0]
    body = bundle_bytes(spec)
    _post(api, body, spec.hospital_code)
    with Session(county_engine) as session:
        referral = session.scalars(select(Referral)).one()
        assert vault.decrypt(referral.raw_payload_enc, "referrals.raw_payload").encode() == body
    assert spec.person.name not in referral.raw_payload_enc
