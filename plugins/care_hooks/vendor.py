"""The hook on a device vendor's API, whose Airflow Connection is ``vendor_<code>``.

One Connection per vendor: its host is the API's base URL (https, or http to a
loopback address: the simulators), its extra names the ``vendor_type`` (the rules
file in ``care_models/alerts/rules/``, which also says how the vendor pages) and the
authentication, one of:

- ``{"api_key": "...", "api_key_header": "X-Api-Key"}``: a key in a header (the
  header's name defaults to ``X-Api-Key``);
- ``{"query_key": "...", "query_key_param": "key"}``: a key as a query parameter;
- and what every care hook takes (:class:`care_hooks.base.CareHttpHook`): a
  ``token`` extra (bearer), a login and password (HTTP basic), OAuth2 client
  credentials.

:meth:`VendorHook.fetch_page` GETs one page through the shared retry policy (5xx,
429, timeouts and dropped connections retried, a bounded number of times, then
:class:`~care_hooks.http.RetriesExhausted`, an ExternalServiceError), every attempt
bounded in time (:data:`MAX_REQUEST_SECONDS`) and size (:data:`MAX_PAGE_BYTES`), and
checks it: a JSON object whose records, next cursor and "more" flag are where the
rules say and of the right types, else :class:`MalformedResponseError` (not
retried: the same page gives the same answer), naming the vendor, the element and
the rule, never a value.
"""

from __future__ import annotations

import json
import time
from functools import cached_property
from typing import Any

import httpx

from care_hooks.base import CareHttpHook
from care_hooks.http import RetryPolicy
from care_models.alerts.ingest import VendorPage
from care_models.alerts.mapping import VendorRules, get_path, load_rules
from care_models.errors import ConfigurationError, ExternalServiceError, MalformedResponseError

MAX_PAGE_BYTES = 8 * 1024 * 1024
MAX_REQUEST_SECONDS = 30.0
DEFAULT_PAGE_SIZE = 200


def connection_id(vendor_code: str) -> str:
    """``V-PLUG`` -> ``vendor_v_plug``."""
    return "vendor_" + vendor_code.lower().replace("-", "_")


class VendorHook(CareHttpHook):
    """Pages of one polled vendor's alerts (see the module docstring)."""

    hook_name = "Device vendor API"
    # At most 4 tries per page, waits 0.2 s doubling up to 5 s.
    default_policy = RetryPolicy(attempts=4, backoff_seconds=0.2, max_backoff_seconds=5.0)
    default_timeout_seconds = 5.0

    def __init__(
        self,
        vendor_code: str,
        *,
        vendor_type: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        **options: Any,
    ) -> None:
        """``options``: ``policy`` and ``timeout_seconds`` (see :class:`CareHttpHook`)."""
        super().__init__(connection_id(vendor_code), **options)
        self.vendor_code = vendor_code
        self._vendor_type = vendor_type
        self.page_size = page_size
        self._client: httpx.Client | None = None

    # -- configuration -------------------------------------------------------------

    def _extra(self) -> dict[str, Any]:
        connection = self.connection
        return dict(connection.extra_dejson or {}) if connection is not None else {}

    @property
    def vendor_type(self) -> str:
        found = self._vendor_type or self._extra().get("vendor_type")
        if not isinstance(found, str) or not found:
            raise ConfigurationError(f"Connection {self.conn_id}", "extra needs a vendor_type")
        return found

    @cached_property
    def rules(self) -> VendorRules:
        rules = load_rules(self.vendor_type)
        if rules.paging is None:
            raise ConfigurationError(
                f"Connection {self.conn_id}", f"vendor type {rules.vendor_type} is not polled"
            )
        return rules

    def pulls(self) -> bool:
        """Whether the vendor is pulled from (its Connection names a host)."""
        return self.base_url() is not None

    def credentials(self) -> tuple[dict[str, str], httpx.Auth | None]:
        extra = self._extra()
        if extra.get("api_key"):
            header = str(extra.get("api_key_header") or "X-Api-Key")
            return {header: str(extra["api_key"])}, None
        return super().credentials()

    def _query_key(self) -> dict[str, str]:
        extra = self._extra()
        if extra.get("query_key"):
            return {str(extra.get("query_key_param") or "key"): str(extra["query_key"])}
        return {}

    # -- pages ---------------------------------------------------------------------

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = self.get_conn()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> VendorHook:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def fetch_page(self, cursor: str) -> VendorPage:
        """The page after ``cursor`` ("" for the start), fetched within bounds, checked."""
        base = self.base_url()
        if base is None:
            raise ExternalServiceError(f"vendor {self.vendor_code}: no Connection {self.conn_id}")
        paging = self.rules.paging
        assert paging is not None
        url = base.rstrip("/") + paging.path
        params = {
            paging.cursor_param: cursor,
            paging.size_param: str(self.page_size),
            **self._query_key(),
        }
        what = f"vendor {self.vendor_code}: GET {paging.path}"
        timeout = httpx.Timeout(self.timeout_seconds)
        client = self.client()
        response = self.policy.send(lambda: _fetch(client, url, params, timeout, what), what)
        if response.status_code != 200:
            raise ExternalServiceError(f"{what} answered HTTP {response.status_code}")
        return check_page(_decode(response.content, what), self.rules, what)


def _fetch(
    client: httpx.Client, url: str, params: dict[str, str], timeout: httpx.Timeout, what: str
) -> httpx.Response:
    """One attempt: the whole answer read within the time and size bounds."""
    deadline = time.monotonic() + MAX_REQUEST_SECONDS
    headers = {"Accept": "application/json"}
    with client.stream("GET", url, params=params, timeout=timeout, headers=headers) as response:
        if response.status_code != 200:
            return httpx.Response(response.status_code, request=response.request)
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_PAGE_BYTES:
                raise ExternalServiceError(f"{what}: the answer exceeds {MAX_PAGE_BYTES} bytes")
            if time.monotonic() > deadline:
                raise ExternalServiceError(
                    f"{what}: the answer took over {MAX_REQUEST_SECONDS:.0f} s"
                )
        return httpx.Response(200, content=bytes(body), request=response.request)


def _decode(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedResponseError(f"{what}: the answer is not JSON") from None


def check_page(document: Any, rules: VendorRules, what: str) -> VendorPage:
    """The page in our terms; MalformedResponseError unless it has the rules' shape."""
    paging = rules.paging
    assert paging is not None
    if not isinstance(document, dict):
        raise MalformedResponseError(f"{what}: the page must be a JSON object")
    records = get_path(document, paging.records)
    if not isinstance(records, list):
        raise MalformedResponseError(f"{what}: {paging.records} must be a list")
    cursor = get_path(document, paging.next_cursor)
    if isinstance(cursor, bool) or not isinstance(cursor, str | int) or str(cursor) == "":
        raise MalformedResponseError(f"{what}: {paging.next_cursor} must be a cursor")
    flag = get_path(document, paging.more)
    if not isinstance(flag, bool):
        raise MalformedResponseError(f"{what}: {paging.more} must be true or false")
    return VendorPage(records, str(cursor), flag == paging.more_when)
