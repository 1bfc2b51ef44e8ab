"""The one HTTP client factory and the one retry policy of the care hooks.

:func:`make_client` builds every outgoing :class:`httpx.Client` (typed timeout,
connection limits, the platform's User-Agent, no redirects followed).
:class:`RetryPolicy` sends a request through tenacity: bounded attempts, exponential
backoff with jitter, and retries of transient faults only.

What the hooks raise::

    care_models.errors.CareError
    └── ExternalServiceError        the remote system answered badly or not at all
        └── RetriesExhausted        a transient fault persisted through every attempt

Transient (retried): :class:`httpx.TimeoutException` (connect, read, write, pool),
:class:`httpx.NetworkError` (connection refused or reset), a dropped connection
(:class:`httpx.RemoteProtocolError`) and answers HTTP 5xx or 429. Anything else is
final at once: an invalid URL or an unsupported scheme become ExternalServiceError,
any other answer is returned for the hook to judge.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import tenacity

from care_models.errors import ConfigurationError, ExternalServiceError

log = logging.getLogger(__name__)

USER_AGENT = "integrated-care/0.1 (+airflow)"
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


class RetriesExhausted(ExternalServiceError):
    """Every attempt met a transient fault; ``problem`` describes the last one."""

    def __init__(self, what: str, problem: str, attempts: int) -> None:
        self.problem = problem
        self.attempts = attempts
        super().__init__(f"{what} {problem} after {attempts} attempts")


class _TransientAnswer(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


_RETRIED: tuple[type[Exception], ...] = (*TRANSIENT_ERRORS, _TransientAnswer)


def is_transient_status(status: int) -> bool:
    return status >= 500 or status == 429


def make_client(
    *,
    timeout_seconds: float = 10.0,
    connect_seconds: float = 5.0,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    max_connections: int = 10,
) -> httpx.Client:
    """An httpx client with the platform's timeouts, limits and User-Agent."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout_seconds, connect=min(connect_seconds, timeout_seconds)),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=5),
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        auth=auth,
        follow_redirects=False,
    )


def _problem(error: BaseException) -> str:
    if isinstance(error, _TransientAnswer):
        return str(error)
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    return f"connection failed ({type(error).__name__})"


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` tries, waits growing from ``backoff_seconds`` with jitter."""

    attempts: int = 4
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0

    def send(self, request: Callable[[], httpx.Response], what: str) -> httpx.Response:
        """The first non-transient answer to ``request``; ``what`` names it in errors.

        Raises RetriesExhausted when the last attempt fails transiently too, and
        ExternalServiceError for a request that cannot be sent (invalid URL, scheme).
        """

        def attempt() -> httpx.Response:
            response = request()
            if is_transient_status(response.status_code):
                raise _TransientAnswer(response)
            return response

        def warn(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "%s %s (attempt %d of %d)",
                what,
                _problem(error) if error else "failed",
                state.attempt_number,
                self.attempts,
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.attempts)),
            wait=tenacity.wait_exponential_jitter(
                multiplier=self.backoff_seconds,
                max=self.max_backoff_seconds,
                jitter=self.backoff_seconds,
            ),
            retry=tenacity.retry_if_exception_type(_RETRIED),
            before_sleep=warn,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _RETRIED as error:
            raise RetriesExhausted(what, _problem(error), max(1, self.attempts)) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            raise ExternalServiceError(f"{what}: not a valid URL") from None
        except httpx.HTTPError as error:
            raise ExternalServiceError(f"{what} failed ({type(error).__name__})") from None


# -- where requests may go, and with which credentials ---------------------------------------


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_secure_url(url: str, setting: str) -> str:
    """``url`` when it is https, or http to a loopback host; ConfigurationError otherwise.

    Hospital servers and token endpoints carry personal data and credentials, so
    plain http is only for a server on this machine (the simulator, the tests).
    """
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return url
    raise ConfigurationError(
        setting, "must be an https URL (plain http only to a loopback address)"
    )


class ClientCredentials(httpx.Auth):
    """OAuth2 client credentials (RFC 6749 4.4): a bearer token from ``token_url``.

    The client authenticates with HTTP basic (``client_id``, ``secret``); the token
    is kept until ``expires_in`` (minus a margin) and fetched again once on a 401.
    """

    # False: only the token answer is read here; the pages stay streamed within bounds.
    requires_response_body = False
    MARGIN_SECONDS = 30.0
    MAX_TOKEN_BYTES = 64 * 1024

    def __init__(self, token_url: str, client_id: str, secret: str, scope: str | None) -> None:
        self.token_url = token_url
        self.client_id, self.secret, self.scope = client_id, secret, scope
        self._token: str | None = None
        self._expires = 0.0

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        form = {"grant_type": "client_credentials", **({"scope": self.scope} if self.scope else {})}
        token_request = httpx.Request(
            "POST",
            self.token_url,
            data=form,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            extensions={"timeout": request.extensions.get("timeout", {})},
        )
        return next(httpx.BasicAuth(self.client_id, self.secret).auth_flow(token_request))

    def _keep(self, response: httpx.Response) -> None:
        what = f"token endpoint {urlsplit(self.token_url).path}"
        if response.status_code != 200:
            raise ExternalServiceError(f"{what} answered HTTP {response.status_code}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.MAX_TOKEN_BYTES:
            raise ExternalServiceError(f"{what} answered over {self.MAX_TOKEN_BYTES} bytes")
        try:
            answer = json.loads(response.read())  # httpx reads it whole (timeouts bound it)
            token, lifetime = answer["access_token"], float(answer.get("expires_in") or 300)
        except (ValueError, KeyError, TypeError, RecursionError):
            raise ExternalServiceError(f"{what} answered no access_token") from None
        if not isinstance(token, str) or not token:
            raise ExternalServiceError(f"{what} answered no access_token")
        self._token = token
        self._expires = time.monotonic() + min(max(lifetime - self.MARGIN_SECONDS, 0.0), 86_400)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        fresh = self._token is None or time.monotonic() >= self._expires
        if fresh:
            self._keep((yield self._token_request(request)))
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401 and not fresh:  # revoked early: one new token
            self._keep((yield self._token_request(request)))
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request
