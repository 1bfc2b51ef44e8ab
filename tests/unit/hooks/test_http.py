"""The shared HTTP policy and the hooks' Connection handling, without a network."""

from __future__ import annotations

import json

import httpx
import pytest

from care_hooks.callback import HospitalCallbackHook
from care_hooks.fhir import FhirServerHook
from care_hooks.http import ClientCredentials, RetriesExhausted, RetryPolicy, make_client
from care_models.errors import ConfigurationError, ExternalServiceError

FAST = RetryPolicy(attempts=3, backoff_seconds=0.001)


def _client(statuses: list[int], seen: list[httpx.Request]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(statuses[min(len(seen), len(statuses)) - 1])

    return httpx.Client(transport=httpx.MockTransport(answer))


@pytest.mark.parametrize("transient", [503, 429])
def test_transient_answers_are_retried_until_one_succeeds(transient: int) -> None:
    seen: list[httpx.Request] = []
    with _client([transient, 200], seen) as client:
        response = FAST.send(lambda: client.get("http://h.test/x"), "GET /x")
    assert response.status_code == 200 and len(seen) == 2


def test_a_refusal_is_returned_at_once() -> None:
    seen: list[httpx.Request] = []
    with _client([404], seen) as client:
        assert FAST.send(lambda: client.get("http://h.test/x"), "GET /x").status_code == 404
    assert len(seen) == 1


def test_retries_run_out_into_an_external_service_error() -> None:
    seen: list[httpx.Request] = []
    with _client([502], seen) as client, pytest.raises(RetriesExhausted) as raised:
        FAST.send(lambda: client.get("http://h.test/x"), "GET /x")
    assert isinstance(raised.value, ExternalServiceError)
    assert str(raised.value) == "GET /x HTTP 502 after 3 attempts" and len(seen) == 3


def test_connection_errors_are_retried() -> None:
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    with (
        httpx.Client(transport=httpx.MockTransport(refuse)) as client,
        pytest.raises(RetriesExhausted, match="connection failed"),
    ):
        FAST.send(lambda: client.get("http://h.test/x"), "GET /x")
    assert len(calls) == 3


def test_the_client_factory_sets_timeouts_and_user_agent() -> None:
    with make_client(timeout_seconds=3.0) as client:
        assert client.timeout == httpx.Timeout(3.0, connect=3.0)
        assert client.headers["User-Agent"].startswith("integrated-care/")


def test_fhir_hook_reads_its_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = {"conn_type": "fhir", "host": "fhir.example.org", "extra": {"token": "t0ken"}}
    monkeypatch.setenv("AIRFLOW_CONN_FHIR_H_TEST", json.dumps(connection))
    hook = FhirServerHook("H-TEST")
    assert hook.pulls() and hook.base_url() == "https://fhir.example.org/fhir"
    with hook.get_conn() as client:
        assert client.headers["Authorization"] == "Bearer t0ken"


def test_callback_hook_works_from_the_callback_url_without_a_connection() -> None:
    hook = HospitalCallbackHook("H-NONE", "http://cb.test/tasks", policy=FAST)
    assert hook.connection is None and hook.url() == "http://cb.test/tasks"
    assert hook.credentials() == ({}, None)
    assert not FhirServerHook("H-NONE").pulls()


def _hook(monkeypatch: pytest.MonkeyPatch, **connection: object) -> FhirServerHook:
    monkeypatch.setenv("AIRFLOW_CONN_FHIR_H_TEST", json.dumps(connection))
    return FhirServerHook("H-TEST")


def test_a_host_only_connection_is_https_whatever_its_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook = _hook(monkeypatch, conn_type="http", host="fhir.example.org", port=8443)
    assert hook.base_url() == "https://fhir.example.org:8443/fhir"


@pytest.mark.parametrize(
    "url", ["http://fhir.example.org/fhir", "http://10.0.0.8/fhir", "ftp://fhir.example.org"]
)
def test_plain_http_is_refused_outside_loopback(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    hook = _hook(monkeypatch, conn_type="http", host=url)
    with pytest.raises(ConfigurationError, match="fhir_h_test"):
        hook.base_url()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8090/fhir", "http://localhost/fhir"])
def test_plain_http_is_allowed_on_loopback(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    assert _hook(monkeypatch, conn_type="http", host=url).base_url() == url


def test_a_password_without_login_is_a_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _hook(monkeypatch, conn_type="fhir", host="fhir.example.org", password="p4ss")
    with hook.get_conn() as client:
        assert client.headers["Authorization"] == "Bearer p4ss"


def test_a_token_url_over_plain_http_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _hook(
        monkeypatch,
        conn_type="fhir",
        host="fhir.example.org",
        login="county",
        password="secret",
        extra={"token_url": "http://auth.example.org/token"},
    )
    with pytest.raises(ConfigurationError, match="token_url"):
        hook.get_conn()


def _token_server(tokens: list[str], seen: list[str]) -> httpx.MockTransport:
    """A token endpoint handing out ``tokens`` in turn, and an API taking the last one."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            seen.append("token")
            assert request.headers["Authorization"].startswith("Basic ")
            assert b"grant_type=client_credentials" in request.content
            return httpx.Response(200, json={"access_token": tokens[0], "expires_in": 3600})
        seen.append(request.headers.get("Authorization", ""))
        return httpx.Response(200 if request.headers.get("Authorization") == "Bearer new" else 401)

    return httpx.MockTransport(answer)


def test_client_credentials_fetch_a_token_once_and_again_after_a_401() -> None:
    tokens, seen = ["old"], []
    auth = ClientCredentials("https://auth.test/token", "county", "secret", None)
    with httpx.Client(transport=_token_server(tokens, seen), auth=auth) as client:
        assert client.get("https://h.test/fhir/x").status_code == 401  # a fresh token refused
        tokens[0] = "new"
        assert client.get("https://h.test/fhir/x").status_code == 200  # refetched once
        assert client.get("https://h.test/fhir/x").status_code == 200  # kept
    assert seen == ["token", "Bearer old", "Bearer old", "token", "Bearer new", "Bearer new"]


def test_a_token_endpoint_refusal_is_an_external_service_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client"})

    auth = ClientCredentials("https://auth.test/token", "county", "wrong", None)
    with (
        httpx.Client(transport=httpx.MockTransport(refuse), auth=auth) as client,
        pytest.raises(ExternalServiceError, match="token endpoint /token answered HTTP 401"),
    ):
        client.get("https://h.test/fhir/x")
