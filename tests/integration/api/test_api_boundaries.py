"""The parsing edge of the care API: hostile input is a 4xx OperationOutcome, never a 500.

Each case was a 500 (or an accepted Bundle) before the edge was built: the token is
checked before the body is read, the body is strict UTF-8 and bounded JSON, Task ids
and search parameters are checked, references must resolve, and nothing a hospital
sent is echoed into a message or an audit row.
"""

from __future__ import annotations

import concurrent.futures
import copy
import json
import logging
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from care_api.app import create_app
from care_models.config import load_settings
from care_models.privacy import Vault
from tests.support.referrals import (
    bundle_bytes,
    dump_database,
    headers,
    resource,
    row_counts,
    serve,
    specs,
)

WRITTEN = ("referrals", "referral_status_events", "clients", "cases")
RRN_LIKE = "900101-1234567"


@pytest.fixture
def api(county_engine: Engine, vault: Vault) -> Iterator[TestClient]:
    settings = load_settings(
        {"CARE_API_MAX_BODY_BYTES": str(8 << 20), "CARE_API_RATE_PER_MINUTE": "6000"}
    )
    app = create_app(settings=settings, engine=county_engine, vault=vault)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _post(api: TestClient, body: bytes, hospital: str, **extra: str) -> httpx.Response:
    return api.post("/fhir/Bundle", content=body, headers={**headers(hospital), **extra})


def _outcome(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/fhir+json"), response.text
    outcome: dict[str, Any] = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    return outcome


def _text(spec_bundle: dict[str, Any]) -> bytes:
    return json.dumps(spec_bundle, ensure_ascii=False).encode()


def test_the_token_is_checked_before_the_body_is_read(api: TestClient) -> None:
    spec = specs(1)[0]
    oversized = bundle_bytes(spec) + b" " * (9 << 20)
    response = api.post(
        "/fhir/Bundle", content=oversized, headers={"Content-Type": "application/fhir+json"}
    )
    assert response.status_code == 401  # not 413: an anonymous body is never read
    assert _outcome(response)["issue"][0]["code"] == "login"


def _deep(_bundle: dict[str, Any]) -> bytes:
    return b'{"resourceType": "Bundle", "type": "transaction", "x": ' + b"[" * 100_000


def _big_number(bundle: dict[str, Any]) -> bytes:
    text = _text(bundle).decode()
    return text.replace(
        '"type": "transaction"', '"type": "transaction", "n": 1' + "0" * 5000, 1
    ).encode()


def _utf16(bundle: dict[str, Any]) -> bytes:
    return json.dumps(bundle, ensure_ascii=False).encode("utf-16")


def _utf32(bundle: dict[str, Any]) -> bytes:
    return json.dumps(bundle, ensure_ascii=False).encode("utf-32-le")


def _utf8_bom(bundle: dict[str, Any]) -> bytes:
    return b"\xef\xbb\xbf" + _text(bundle)


def _nul_in_identifier(bundle: dict[str, Any]) -> bytes:
    request = resource(bundle, "ServiceRequest")
    request["identifier"][0]["value"] += "\u0000"
    return _text(bundle)


def _long_identifier(bundle: dict[str, Any]) -> bytes:
    resource(bundle, "ServiceRequest")["identifier"][0]["value"] = "7" * 150
    return _text(bundle)


def _ten_thousand_entries(bundle: dict[str, Any]) -> bytes:
    condition = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition")
    for i in range(10_000):
        extra = copy.deepcopy(condition)
        extra["fullUrl"] = f"urn:uuid:00000000-0000-0000-0000-{i:012d}"
        bundle["entry"].append(extra)
    return _text(bundle)


def _dangling_reference(bundle: dict[str, Any]) -> bytes:
    resource(bundle, "Encounter")["subject"] = {"reference": "urn:uuid:nobody-in-this-bundle"}
    return _text(bundle)


@pytest.mark.parametrize(
    ("make", "status", "rule"),
    [
        (_deep, 400, "nested deeper"),
        (_big_number, 400, "numbers must be at most"),
        (_utf16, 400, "UTF-8"),
        (_utf32, 400, "UTF-8"),
        (_utf8_bom, 400, "byte order mark"),
        (_nul_in_identifier, 400, "control characters"),
        (_long_identifier, 400, "at most 100 characters"),
        (_ten_thousand_entries, 413, "at most 100 entries"),
        (_dangling_reference, 422, "must name an entry of this Bundle"),
    ],
    ids=[
        "deep",
        "big-number",
        "utf-16",
        "utf-32",
        "utf-8-bom",
        "nul",
        "long-identifier",
        "10000-entries",
        "dangling-reference",
    ],
)
def test_hostile_bodies_are_refused_with_the_rule_and_nothing_written(
    api: TestClient,
    county_engine: Engine,
    make: Callable[[dict[str, Any]], bytes],
    status: int,
    rule: str,
) -> None:
    from care_models.synthetic import referrals as sr

    spec = specs(1)[0]
    before = row_counts(county_engine, WRITTEN)
    response = _post(api, make(sr.build_bundle(spec)), spec.hospital_code)
    assert response.status_code == status, response.text
    assert any(rule in issue["diagnostics"] for issue in _outcome(response)["issue"])
    assert row_counts(county_engine, WRITTEN) == before


@pytest.mark.parametrize("task_id", ["²", "١٢", "9" * 30, "-1", "1e3"])
def test_odd_task_ids_are_a_404_outcome(api: TestClient, task_id: str) -> None:
    response = api.get(f"/fhir/Task/{task_id}", headers=headers("H-JC-GEN"))
    assert response.status_code == 404
    assert _outcome(response)["issue"][0]["code"] == "not-found"


@pytest.mark.parametrize(
    "query",
    ["_count=abc", "_count=" + "9" * 5000, "identifier=a%00b", "identifier=" + "x" * 300],
    ids=["count-word", "count-huge", "identifier-nul", "identifier-long"],
)
def test_odd_search_parameters_are_a_400_outcome(api: TestClient, query: str) -> None:
    response = api.get(f"/fhir/Task?{query}", headers=headers("H-JC-GEN"))
    assert response.status_code == 400, response.text
    assert _outcome(response)["issue"][0]["code"] == "invalid"


def test_a_changed_resubmission_is_a_409_with_the_existing_task(
    api: TestClient, county_engine: Engine, vault: Vault
) -> None:
    spec = specs(1)[0]
    first = _post(api, bundle_bytes(spec), spec.hospital_code)

    def moved(bundle: dict[str, Any]) -> None:
        patient = resource(bundle, "Patient")
        patient["telecom"] = [{"system": "phone", "value": "010-0000-1111"}]
        patient["address"] = [{"text": "어딘가 새 주소 1", "country": "KR"}]

    changed = _post(api, bundle_bytes(spec, moved), spec.hospital_code)
    assert first.status_code == 201
    assert changed.status_code == 409, changed.text
    outcome = _outcome(changed)
    assert outcome["issue"][0]["code"] == "conflict"
    assert outcome["contained"][0]["id"] == first.json()["id"]
    assert "010-0000-1111" not in changed.text
    # the same content re-serialised (other whitespace) is still the same referral: 200
    same = json.dumps(json.loads(bundle_bytes(spec)), indent=2, ensure_ascii=False).encode()
    assert _post(api, same, spec.hospital_code).status_code == 200
    assert row_counts(county_engine, ("referrals",)) == {"referrals": 1}


def _rrn_in_gender(bundle: dict[str, Any]) -> None:
    resource(bundle, "Patient")["gender"] = RRN_LIKE


def _name_in_status(bundle: dict[str, Any], name: str) -> None:
    resource(bundle, "ServiceRequest")["status"] = name
    resource(bundle, "Task")["intent"] = name
    resource(bundle, "ServiceRequest")["category"] = [
        {"coding": [{"system": "urn:care:referral-need", "code": name}]}
    ]


def test_rejections_never_echo_the_input(api: TestClient, county_engine: Engine) -> None:
    spec = specs(1)[0]
    name = spec.person.name

    def hostile(bundle: dict[str, Any]) -> None:
        _rrn_in_gender(bundle)
        _name_in_status(bundle, name)

    response = _post(api, bundle_bytes(spec, hostile), spec.hospital_code)
    assert response.status_code == 422
    diagnostics = " ".join(i["diagnostics"] for i in _outcome(response)["issue"])
    assert "expected one of" in diagnostics  # the rule and its allowed values instead
    everything = dump_database(county_engine)
    for value in (RRN_LIKE, name):
        assert value not in response.text
        assert value not in everything  # audit_log.purpose and fields included
    # an unknown key holding the value is not echoed either
    response = _post(
        api,
        bundle_bytes(spec, lambda b: resource(b, "Patient").update({RRN_LIKE: name})),
        spec.hospital_code,
    )
    assert response.status_code == 422 and RRN_LIKE not in response.text
    assert name not in response.text and RRN_LIKE not in dump_database(county_engine)


def test_an_unexpected_error_is_one_outcome_and_one_log_line(
    api: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(f"database said something about {RRN_LIKE}")

    monkeypatch.setattr("care_api.app.find_tasks", broken)
    with caplog.at_level(logging.INFO):
        response = api.get("/fhir/Task?identifier=abc", headers=headers("H-JC-GEN"))
    assert response.status_code == 500
    issue = _outcome(response)["issue"][0]
    assert issue["code"] == "exception" and "Traceback" not in response.text
    ours = [r for r in caplog.records if r.name.startswith("care")]  # not the test's client
    errors = [r for r in ours if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is None
    logged = " ".join(r.getMessage() for r in ours)
    assert RRN_LIKE not in logged and "abc" not in logged
    assert "RuntimeError" in errors[0].getMessage()


def _outside_profile(bundle: dict[str, Any]) -> None:
    """An element the referral profile does not know: the fhir.resources models decide."""
    resource(bundle, "Patient")["meta"] = {"lastUpdated": "2026-11-30T10:00:00+09:00"}


def test_validation_by_the_models_runs_off_the_loop_and_a_full_pool_is_a_503(
    county_engine: Engine, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from care_api import app as app_module

    entered, release = threading.Event(), threading.Event()
    real = app_module.validate_referral

    def slow(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(30)  # a Bundle that takes long to validate
        return real(*args, **kwargs)

    monkeypatch.setattr(app_module, "validate_referral", slow)
    settings = load_settings({"CARE_API_VALIDATION_WORKERS": "1", "CARE_API_VALIDATION_QUEUE": "0"})
    app = create_app(settings=settings, engine=county_engine, vault=vault)
    spec = specs(1)[0]
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        post = partial(
            client.post,
            "/fhir/Bundle",
            content=bundle_bytes(spec, _outside_profile),
            headers=headers(spec.hospital_code),
        )
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(post)
            try:
                assert entered.wait(10)
                # the loop still answers while a validation runs...
                assert client.get("/fhir/metadata", timeout=5).status_code == 200
                # ...and a Bundle beyond the pool's room is refused at once
                full = post()
            finally:
                release.set()
            assert first.result().status_code == 201
    assert full.status_code == 503 and full.headers["retry-after"].isdigit()
    assert _outcome(full)["issue"][0]["code"] == "transient"


def test_a_bundle_in_the_profile_is_validated_on_the_loop_without_the_pool(
    county_engine: Engine, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from care_api import app as app_module

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the pool is for Bundles outside the referral profile")

    monkeypatch.setattr(app_module, "validate_referral", refuse)
    app = create_app(settings=load_settings(), engine=county_engine, vault=vault)
    good, bad = specs(2, seed=31)
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        stored = client.post(
            "/fhir/Bundle", content=bundle_bytes(good), headers=headers(good.hospital_code)
        )

        def late_discharge(bundle: dict[str, Any]) -> None:
            resource(bundle, "Encounter")["period"]["end"] = "2099-01-01"

        refused = client.post(
            "/fhir/Bundle",
            content=bundle_bytes(bad, late_discharge),
            headers=headers(bad.hospital_code),
        )
    assert stored.status_code == 201
    assert refused.status_code == 422
    assert _outcome(refused)["issue"][0]["expression"][0].endswith(".period.end")
