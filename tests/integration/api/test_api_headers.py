"""What every care API response carries, and what production mode does not serve.

The app runs in-process (``TestClient``) without a database: the routes tried here
(capability statement, a refused search, the web page, the documentation) need none.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from care_api.app import create_app
from care_models.config import load_settings
from care_models.privacy import Vault
from tests.conftest import TEST_KEYS

DOCUMENTATION = ("/docs", "/redoc", "/openapi.json")
ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def _client(mode: str, vault: Vault) -> TestClient:
    settings = load_settings({"CARE_MODE": mode, **TEST_KEYS})
    return TestClient(create_app(settings=settings, vault=vault))


@pytest.fixture(scope="module")
def production() -> Iterator[TestClient]:
    keys = Vault.from_keys([TEST_KEYS["CARE_ENCRYPTION_KEYS"]], TEST_KEYS["CARE_MATCH_KEY"])
    with _client("production", keys) as client:
        yield client


@pytest.mark.parametrize("path", DOCUMENTATION)
def test_production_serves_no_documentation(production: TestClient, path: str) -> None:
    assert production.get(path).status_code == 404


@pytest.mark.parametrize("path", DOCUMENTATION)
def test_development_serves_the_documentation(vault: Vault, path: str) -> None:
    with _client("development", vault) as client:
        answer = client.get(path)
    assert answer.status_code == 200
    if path == "/docs":  # the interactive page keeps working: no API policy forced on it
        assert "content-security-policy" not in answer.headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/fhir/metadata", 200), ("GET", "/fhir/Task", 401), ("GET", "/nowhere", 404)],
)
def test_every_api_answer_carries_the_security_headers(
    production: TestClient, method: str, path: str, status: int
) -> None:
    answer = production.request(method, path)
    assert answer.status_code == status
    for name, value in ALWAYS.items():
        assert answer.headers.get(name) == value, name
    assert answer.headers["cache-control"] == "no-store"
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert len(answer.headers.get_list("x-content-type-options")) == 1


def test_a_more_specific_cache_control_is_kept(production: TestClient) -> None:
    script = production.get("/web/static/referral.js")
    assert script.status_code == 200
    assert script.headers["cache-control"] == "no-cache"
    assert script.headers["x-content-type-options"] == "nosniff"


def test_the_web_page_keeps_its_own_content_security_policy(production: TestClient) -> None:
    page = production.get("/web/referrals")
    assert page.status_code == 200
    policies = page.headers.get_list("content-security-policy")
    assert len(policies) == 1 and "script-src 'self'" in policies[0]
    assert page.headers["cache-control"] == "no-store"
