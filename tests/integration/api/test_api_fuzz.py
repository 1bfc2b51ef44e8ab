"""Property-based fuzzing of the care API and the Bundle parser (Hypothesis).

Whatever a hospital sends, the API answers without a 5xx, every 4xx is an
OperationOutcome, and a refused request writes no referral, status event, client or
case. The cases come from :mod:`care_sim.hostile` (mutated synthetic Bundles, random
JSON, odd encodings, huge and deep values, odd ids and parameters), driven by
Hypothesis's ``randoms()``: bounded (a fixed number of examples), derandomized and
without an example database, so a CI run is the same run every time.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from care_api.app import create_app
from care_models.config import load_settings
from care_models.fhir.bundle import BundleRejected, parse_referral
from care_models.privacy import Vault
from care_models.synthetic import referrals as sr
from care_models.workdays import seoul_today
from care_sim import hostile
from tests.support.referrals import dump_database, headers, row_counts, specs

WRITTEN = ("referrals", "referral_status_events", "clients", "cases")
SPECS = specs(12)
BOUNDED = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def api(county_engine: Engine, vault: Vault) -> Iterator[TestClient]:
    app_settings = load_settings({"CARE_API_RATE_PER_MINUTE": "100000"})
    app = create_app(settings=app_settings, engine=county_engine, vault=vault)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@BOUNDED
@given(rng=st.randoms(use_true_random=False))
def test_no_request_gets_a_5xx_and_refusals_write_nothing(
    api: TestClient, county_engine: Engine, rng: random.Random
) -> None:
    case = hostile.case(rng, SPECS)
    request_headers = headers(case.hospital) if case.hospital else {}
    request_headers.pop("Content-Type", None)
    if case.method == "POST":
        request_headers["Content-Type"] = case.content_type
    before = row_counts(county_engine, WRITTEN)
    response = api.request(case.method, case.path, content=case.body, headers=request_headers)
    assert response.status_code < 500, (case.kind, response.status_code)
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/fhir+json")
        assert response.json()["resourceType"] == "OperationOutcome"
        assert row_counts(county_engine, WRITTEN) == before, case.kind
    for planted in (hostile.RRN_LIKE, hostile.NAME_LIKE):
        assert planted not in response.text


def test_nothing_planted_reaches_the_database(api: TestClient, county_engine: Engine) -> None:
    """After a fixed run of hostile requests, no planted value is stored in clear."""
    rng = random.Random(20261203)
    for _ in range(60):
        case = hostile.case(rng, SPECS)
        request_headers = headers(case.hospital) if case.hospital else {}
        if case.method == "POST":
            request_headers["Content-Type"] = case.content_type
        api.request(case.method, case.path, content=case.body, headers=request_headers)
    everything = dump_database(county_engine)
    assert hostile.RRN_LIKE not in everything and hostile.NAME_LIKE not in everything


@BOUNDED
@given(rng=st.randoms(use_true_random=False))
def test_the_parser_refuses_with_bundle_rejected_only(rng: random.Random) -> None:
    case = hostile.case(rng, SPECS)
    spec = SPECS[0]
    try:
        parse_referral(case.body, sr.identifier_system(spec.hospital_code), today=seoul_today())
    except BundleRejected as rejected:
        assert 400 <= rejected.status < 500
        for issue in rejected.issues:
            assert hostile.RRN_LIKE not in issue.diagnostics + issue.expression
            assert hostile.NAME_LIKE not in issue.diagnostics + issue.expression
