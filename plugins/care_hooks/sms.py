"""The hook on the SMS gateway, whose Airflow Connection is ``sms_gateway``.

The Connection's host is the gateway's base URL (https, or http to loopback); its
``api_key`` extra is sent as ``X-Api-Key`` (or any credentials a care hook takes).
Sends carry our message's natural key as ``reference``: the gateway answers a
repeated reference with the first message id, so retrying a send whose answer was
lost never texts a person twice. 5xx, 429 and timeouts are retried a bounded number
of times (the shared policy); other refusals raise ``ExternalServiceError`` at once.

It implements :class:`care_models.notify.SmsSender`, so the domain stays Airflow-free.
"""

from __future__ import annotations

from typing import Any

import httpx

from care_hooks.base import CareHttpHook
from care_hooks.http import RetryPolicy
from care_models.errors import ExternalServiceError, MalformedResponseError
from care_models.notify import Receipt

CONNECTION_ID = "sms_gateway"


class SmsGatewayHook(CareHttpHook):
    """Send texts and read delivery receipts through the county's SMS gateway."""

    hook_name = "SMS gateway"
    default_policy = RetryPolicy(attempts=3, backoff_seconds=0.5, max_backoff_seconds=5.0)
    default_timeout_seconds = 10.0

    def __init__(self, conn_id: str = CONNECTION_ID, **options: Any) -> None:
        super().__init__(conn_id, **options)
        self._client: httpx.Client | None = None

    def credentials(self) -> tuple[dict[str, str], httpx.Auth | None]:
        connection = self.connection
        extra = dict(connection.extra_dejson or {}) if connection is not None else {}
        if extra.get("api_key"):
            return {"X-Api-Key": str(extra["api_key"])}, None
        return super().credentials()

    def _url(self, path: str) -> str:
        base = self.base_url()
        if base is None:
            raise ExternalServiceError(f"SMS gateway: no Connection {self.conn_id}")
        return base.rstrip("/") + path

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = self.get_conn()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def send(self, to: str, text: str, reference: str) -> str:
        """Hand one text to the gateway; its message id."""
        url, client = self._url("/v1/messages"), self.client()
        body = {"to": to, "text": text, "reference": reference}
        what = "SMS gateway: POST /v1/messages"
        response = self.policy.send(lambda: client.post(url, json=body), what)
        if response.status_code not in (200, 201, 202):
            raise ExternalServiceError(f"{what} answered HTTP {response.status_code}")
        message_id = _json(response, what).get("message_id")
        if not isinstance(message_id, str) or not message_id:
            raise MalformedResponseError(f"{what}: the answer has no message_id")
        return message_id

    def receipts(self, after: str) -> tuple[list[Receipt], str]:
        """Receipts after the cursor ``after``, and the cursor to ask from next."""
        url, client = self._url("/v1/receipts"), self.client()
        what = "SMS gateway: GET /v1/receipts"
        response = self.policy.send(lambda: client.get(url, params={"after": after or "0"}), what)
        if response.status_code != 200:
            raise ExternalServiceError(f"{what} answered HTTP {response.status_code}")
        document = _json(response, what)
        rows, cursor = document.get("receipts"), document.get("next")
        if not isinstance(rows, list) or not isinstance(cursor, int):
            raise MalformedResponseError(f"{what}: receipts must be a list and next a number")
        receipts = []
        for row in rows:
            if not isinstance(row, dict) or row.get("status") not in ("delivered", "failed"):
                raise MalformedResponseError(f"{what}: a receipt lacks a known status")
            receipts.append(Receipt(str(row.get("message_id")), str(row["status"])))
        return receipts, str(cursor)


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        raise MalformedResponseError(f"{what}: the answer is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedResponseError(f"{what}: the answer is not an object")
    return document
