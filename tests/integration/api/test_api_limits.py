"""Limits of the care API: failed logins per address, one rate for all workers, bytes,
token expiry and revocation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import care_api.app as care_app
from care_api.app import create_app
from care_models import tokens
from care_models.config import Settings
from care_models.privacy import Vault
from care_models.schema import Organisation
from tests.support.limits import mid_minute  # noqa: F401  (a fixture)
from tests.support.referrals import api_settings, bundle_bytes, headers, specs

REDIS_URL = "redis://127.0.0.1:6379/0"
pytestmark = pytest.mark.usefixtures("mid_minute")


def _client(app: FastAPI, address: str = "192.0.2.10") -> TestClient:
    return TestClient(app, client=(address, 40000))


def _counting_lookups(app: FastAPI) -> list[str]:
    """Record every token the app looks up in the database."""
    care = app.state.care
    seen: list[str] = []
    lookup: Callable[[str], Organisation | None] = care.hospital_for

    def counted(token: str) -> Organisation | None:
        seen.append(token)
        return lookup(token)

    care.hospital_for = counted
    return seen


def test_650_wrong_tokens_are_refused_with_429_without_database_lookups(
    county_engine: Engine, vault: Vault
) -> None:
    settings = api_settings(CARE_API_AUTH_FAILURES_PER_MINUTE="20")
    app = create_app(settings=settings, engine=county_engine, vault=vault)
    looked_up = _counting_lookups(app)
    with _client(app) as api:
        codes = [
            api.get("/fhir/Task", headers={"Authorization": f"Bearer wrong-{n}"})
            for n in range(650)
        ]
        valid_but_blocked = api.get("/fhir/Task", headers=headers("H-JC-GEN"))
    with _client(app, "192.0.2.99") as elsewhere:
        other_address = elsewhere.get("/fhir/Task", headers=headers("H-JC-GEN"))
    statuses = [r.status_code for r in codes]
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429] * 630
    assert len([t for t in looked_up if t.startswith("wrong-")]) == 20  # none after the 20th
    assert int(codes[-1].headers["Retry-After"]) >= 1
    assert codes[-1].json()["issue"][0]["code"] == "throttled"
    assert valid_but_blocked.status_code == 429
    assert other_address.status_code == 200


def test_a_known_token_from_an_address_that_then_failed_too_often_is_refused(
    county_engine: Engine, vault: Vault
) -> None:
    """A token the worker already knows skips the lookup, not the address's block: the
    check goes with the request's counts (one statement on the SQLite store)."""
    settings = api_settings(CARE_API_AUTH_FAILURES_PER_MINUTE="3")
    app = create_app(settings=settings, engine=county_engine, vault=vault)
    looked_up = _counting_lookups(app)
    with _client(app) as api:
        known = api.get("/fhir/Task", headers=headers("H-JC-GEN"))
        failed = [api.get("/fhir/Task", headers={"Authorization": "Bearer wrong"}) for _ in "abc"]
        blocked = api.get("/fhir/Task", headers=headers("H-JC-GEN"))
    with _client(app, "192.0.2.99") as elsewhere:
        other_address = elsewhere.get("/fhir/Task", headers=headers("H-JC-GEN"))
    assert known.status_code == 200 and [r.status_code for r in failed] == [401] * 3
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert "failed logins" in blocked.json()["issue"][0]["diagnostics"]
    assert other_address.status_code == 200
    assert looked_up.count(headers("H-JC-GEN")["Authorization"].removeprefix("Bearer ")) == 1


def test_wrong_calendar_tokens_are_limited_per_address_too(
    county_engine: Engine, vault: Vault
) -> None:
    settings = api_settings(CARE_API_AUTH_FAILURES_PER_MINUTE="3")
    with _client(create_app(settings=settings, engine=county_engine, vault=vault)) as api:
        statuses = [
            api.get(f"/feeds/visits/S0002.ics?token=guess{n}").status_code for n in range(5)
        ]
    assert statuses == [401, 401, 401, 429, 429]


def _shared_rate(settings: Settings, engine: Engine, vault: Vault) -> list[int]:
    first, second = (
        create_app(settings=settings, engine=engine, vault=vault),
        create_app(settings=settings, engine=engine, vault=vault),
    )
    assert first.state.care is not second.state.care
    statuses = []
    with _client(first) as one, _client(second) as two:
        for n in range(8):
            api = one if n % 2 == 0 else two
            statuses.append(api.get("/fhir/Task", headers=headers("H-JC-GEN")).status_code)
    return statuses


def test_two_workers_share_one_rate_on_this_machine(county_engine: Engine, vault: Vault) -> None:
    settings = api_settings(CARE_API_RATE_PER_MINUTE="5")
    assert _shared_rate(settings, county_engine, vault) == [200] * 5 + [429] * 3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_workers_share_one_rate_through_redis(county_engine: Engine, vault: Vault) -> None:
    settings = api_settings(CARE_API_RATE_PER_MINUTE="5", CARE_RATE_LIMIT_STORAGE=REDIS_URL)
    assert _shared_rate(settings, county_engine, vault) == [200] * 5 + [429] * 3


def test_a_429_says_when_to_retry(county_engine: Engine, vault: Vault) -> None:
    settings = api_settings(CARE_API_RATE_PER_MINUTE="1")
    with _client(create_app(settings=settings, engine=county_engine, vault=vault)) as api:
        api.get("/fhir/Task", headers=headers("H-JC-GEN"))
        refused = api.get("/fhir/Task", headers=headers("H-JC-GEN"))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 120


def test_body_bytes_per_hospital_are_limited(county_engine: Engine, vault: Vault) -> None:
    settings = api_settings(CARE_API_MAX_BODY_BYTES="16384", CARE_API_BYTES_PER_MINUTE="16384")
    spec = specs(1)[0]
    body = bundle_bytes(spec)
    fits = 16384 // len(body)
    with _client(create_app(settings=settings, engine=county_engine, vault=vault)) as api:
        statuses = [
            api.post("/fhir/Bundle", content=body, headers=headers(spec.hospital_code))
            for _ in range(fits + 1)
        ]
        other = api.get("/fhir/Task", headers=headers("H-CA-CEN"))
    assert [r.status_code for r in statuses] == [201] + [200] * (fits - 1) + [429]
    assert statuses[-1].json()["issue"][0]["expression"] == ["Bundle"]
    assert "Retry-After" in statuses[-1].headers
    assert other.status_code == 200  # another hospital's bytes are its own


def test_an_unreachable_limit_store_is_a_503_not_unlimited(
    county_engine: Engine, vault: Vault
) -> None:
    settings = api_settings(CARE_RATE_LIMIT_STORAGE="redis://127.0.0.1:1/0")
    with _client(create_app(settings=settings, engine=county_engine, vault=vault)) as api:
        response = api.get("/fhir/Task", headers=headers("H-JC-GEN"))
    assert response.status_code == 503 and response.headers["Retry-After"]


def _issue(engine: Engine, vault: Vault, **kwargs: object) -> str:
    with Session(engine) as session, session.begin():
        return tokens.issue(
            session,
            vault,
            tokens.Holder("hospital", "H-DS-MED"),
            valid_for=dt.timedelta(days=1),
            actor="test",
            **kwargs,  # type: ignore[arg-type]
        ).token


def test_a_revoked_token_stops_within_the_cache_bound(county_engine: Engine, vault: Vault) -> None:
    token = _issue(county_engine, vault)
    bearer = {"Authorization": f"Bearer {token}"}
    app = create_app(settings=api_settings(), engine=county_engine, vault=vault)
    with _client(app) as api:
        assert api.get("/fhir/Task", headers=bearer).status_code == 200
        with Session(county_engine) as session, session.begin():
            tokens.revoke(session, tokens.Holder("hospital", "H-DS-MED"), actor="test")
        with _client(
            create_app(settings=api_settings(), engine=county_engine, vault=vault)
        ) as fresh:
            assert fresh.get("/fhir/Task", headers=bearer).status_code == 401  # at once
        assert api.get("/fhir/Task", headers=bearer).status_code == 200  # remembered, for now
        care = app.state.care
        later = care.clock() + care_app.TOKEN_CACHE_SECONDS + 1
        care.clock = lambda: later
        assert api.get("/fhir/Task", headers=bearer).status_code == 401  # after the bound


def test_an_expired_token_is_refused(county_engine: Engine, vault: Vault) -> None:
    token = _issue(county_engine, vault, now=tokens.utcnow() - dt.timedelta(days=2))
    with _client(create_app(settings=api_settings(), engine=county_engine, vault=vault)) as api:
        response = api.get("/fhir/Task", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
