"""One searchset page of a hospital FHIR server: fetched within bounds, checked before use.

A pull must never be stopped, or hung, by what one hospital's server answers, so a
page is read through :func:`get_searchset`:

- every attempt is bounded: the client's connect and read timeouts, at most
  :data:`MAX_REQUEST_SECONDS` for the whole answer (a server dripping a byte at a
  time does not hold the pull) and at most :data:`MAX_PAGE_BYTES`;
- the body must be JSON (numbers over Python's 4,300-digit limit are refused) no
  deeper than :data:`MAX_DEPTH`, checked without recursion;
- the document must have the shape the pull relies on: a ``searchset`` Bundle whose
  ``link`` and ``entry`` are lists of objects, each entry's ``resource`` an object
  with a string ``resourceType``, and ``fullUrl``, ``id``, ``search.mode`` and
  ``meta.lastUpdated`` strings when present.

A page that breaks these raises :class:`MalformedResponseError` (not retried: the
same page gives the same answer) naming the hospital, the URL path, the element and
the rule, never a value of the body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from care_hooks.http import RetryPolicy
from care_models.errors import ExternalServiceError, MalformedResponseError

FHIR_JSON = "application/fhir+json"
MAX_PAGE_BYTES = 20 * 1024 * 1024
MAX_REQUEST_SECONDS = 60.0
MAX_DEPTH = 64  # a referral's resources nest about 8 deep


def get_searchset(
    client: httpx.Client,
    url: str,
    params: httpx.QueryParams | None,
    *,
    hospital_code: str,
    policy: RetryPolicy,
    timeout: httpx.Timeout,
) -> dict[str, Any]:
    """GET a searchset Bundle through the shared retry policy, bounded and checked."""
    what = f"FHIR server of {hospital_code}: GET {urlsplit(url).path or '/'}"
    response = policy.send(lambda: _fetch(client, url, params, timeout, what), what)
    if response.status_code != 200:
        raise ExternalServiceError(f"{what} answered HTTP {response.status_code}")
    document = _decode(response.content, what)
    check_searchset(document, what)
    return document


def _fetch(
    client: httpx.Client,
    url: str,
    params: httpx.QueryParams | None,
    timeout: httpx.Timeout,
    what: str,
) -> httpx.Response:
    """One attempt: the whole answer read within the time and size bounds."""
    deadline = time.monotonic() + MAX_REQUEST_SECONDS
    headers = {"Accept": FHIR_JSON}
    with client.stream("GET", url, params=params, timeout=timeout, headers=headers) as response:
        if response.status_code != 200:  # judged by status alone: no body needed
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
    except (ValueError, RecursionError):  # ValueError covers too long integers as well
        raise MalformedResponseError(
            f"{what}: the answer is not JSON within the limits "
            f"(UTF-8, integers under 4,300 digits, at most {MAX_DEPTH} levels)"
        ) from None


def _depth_within(document: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            stack.extend((child, depth + 1) for child in children)
    return True


def _fail(what: str, element: str, rule: str) -> MalformedResponseError:
    return MalformedResponseError(f"{what}: {element} {rule}")


def _optional_string(node: Mapping[str, Any], key: str, element: str, what: str) -> None:
    if key in node and not isinstance(node[key], str):
        raise _fail(what, f"{element}.{key}", "must be a string")


def _object(node: Any, element: str, what: str) -> Mapping[str, Any]:
    if not isinstance(node, dict):
        raise _fail(what, element, "must be an object")
    return node


def _list(node: Mapping[str, Any], key: str, element: str, what: str) -> list[Any]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(what, f"{element}.{key}", "must be a list")
    return value


def check_searchset(document: Any, what: str) -> None:
    """Raise MalformedResponseError unless ``document`` has the shape the pull relies on."""
    if not _depth_within(document, MAX_DEPTH):
        raise _fail(what, "Bundle", f"nests deeper than {MAX_DEPTH} levels")
    bundle = _object(document, "Bundle", what)
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "searchset":
        raise _fail(what, "Bundle", "must be a Bundle of type searchset")
    for n, link in enumerate(_list(bundle, "link", "Bundle", what)):
        element = f"Bundle.link[{n}]"
        for key in ("relation", "url"):
            _optional_string(_object(link, element, what), key, element, what)
    for n, entry in enumerate(_list(bundle, "entry", "Bundle", what)):
        element = f"Bundle.entry[{n}]"
        _optional_string(_object(entry, element, what), "fullUrl", element, what)
        if "search" in entry:
            search = _object(entry["search"], f"{element}.search", what)
            _optional_string(search, "mode", f"{element}.search", what)
        resource = _object(entry.get("resource"), f"{element}.resource", what)
        if not isinstance(resource.get("resourceType"), str):
            raise _fail(what, f"{element}.resource.resourceType", "must be a string")
        _optional_string(resource, "id", f"{element}.resource", what)
        if "meta" in resource:
            meta = _object(resource["meta"], f"{element}.resource.meta", what)
            for key in ("lastUpdated", "versionId"):
                _optional_string(meta, key, f"{element}.resource.meta", what)
