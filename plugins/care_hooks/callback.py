"""The hook on a hospital's callback endpoint, which receives the Task status changes.

Its Airflow Connection ``callback_<hospital code>`` is optional: without one the
hook POSTs to ``organisations.callback_url`` with no credentials; with one, the
Connection's host (if any) replaces that URL and its credentials are sent.

One attempt per call, with a short connect timeout: a dead endpoint must cost the run
little. Retries happen across runs, with backoff, a per-hospital circuit breaker and
a dead letter (``care_models.referrals.callbacks``).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from care_hooks.base import CareHttpHook
from care_hooks.http import RetryPolicy, make_client
from care_models.errors import ExternalServiceError
from care_models.schema import Organisation

log = logging.getLogger(__name__)
FHIR_JSON = "application/fhir+json"


def connection_id(hospital_code: str) -> str:
    """``H-CJ-UNI`` -> ``callback_h_cj_uni``."""
    return "callback_" + hospital_code.lower().replace("-", "_")


class HospitalCallbackHook(CareHttpHook):
    """POST Task resources to one hospital's callback endpoint."""

    hook_name = "Hospital callback endpoint"
    default_policy = RetryPolicy(attempts=1)
    default_timeout_seconds = 10.0
    default_connect_seconds = 3.0

    def __init__(
        self,
        hospital_code: str,
        callback_url: str | None = None,
        *,
        connect_seconds: float | None = None,
        **options: Any,
    ) -> None:
        """``options``: ``policy`` and ``timeout_seconds`` (see :class:`CareHttpHook`)."""
        super().__init__(connection_id(hospital_code), **options)
        self.hospital_code = hospital_code
        self.callback_url = callback_url
        self.connect_seconds = connect_seconds or self.default_connect_seconds
        self._client: httpx.Client | None = None

    def get_conn(self) -> httpx.Client:
        """A client whose connect timeout is short: a closed or unreachable port fails fast."""
        headers, auth = self.credentials()
        return make_client(
            timeout_seconds=self.timeout_seconds,
            connect_seconds=self.connect_seconds,
            headers=headers,
            auth=auth,
        )

    def url(self) -> str | None:
        return self.base_url() or self.callback_url

    def post_task(self, body: dict[str, object]) -> bool:
        """Whether the hospital acknowledged the Task (2xx); False when it refused or failed."""
        url = self.url()
        if url is None:
            return False
        if self._client is None:
            self._client = self.get_conn()
        client = self._client
        what = f"callback of {self.hospital_code}"
        try:
            response = self.policy.send(
                lambda: client.post(url, json=body, headers={"Content-Type": FHIR_JSON}), what
            )
        except ExternalServiceError as error:
            log.warning("%s", error)
            return False
        if not response.is_success:  # the hospital refuses this; retrying will not help
            log.warning("%s answered HTTP %s", what, response.status_code)
        return response.is_success

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class HospitalCallbacks:
    """A sender for :func:`care_models.callbacks.deliver_callbacks`: one hook per hospital.

    Close it when done (``contextlib.closing``): that closes the hooks' clients.
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        timeout_seconds: float | None = None,
        connect_seconds: float | None = None,
    ) -> None:
        self.policy = policy
        self.timeout_seconds = timeout_seconds
        self.connect_seconds = connect_seconds
        self._hooks: dict[str, HospitalCallbackHook] = {}

    def __call__(self, hospital: Organisation, body: dict[str, object]) -> bool:
        hook = self._hooks.get(hospital.code)
        if hook is None:
            hook = HospitalCallbackHook(
                hospital.code,
                hospital.callback_url,
                policy=self.policy,
                timeout_seconds=self.timeout_seconds,
                connect_seconds=self.connect_seconds,
            )
            self._hooks[hospital.code] = hook
        return hook.post_task(body)

    def close(self) -> None:
        for hook in self._hooks.values():
            hook.close()
