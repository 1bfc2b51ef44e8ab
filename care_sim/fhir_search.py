"""Standard FHIR search semantics for the simulator: parameters, includes, page tokens.

What :mod:`care_sim.fhir_server` understands of a ``ServiceRequest`` search, kept
apart from the HTTP server: the first page's parameters checked into a state
(anything not understood is a 400, never ignored), ``_lastUpdated`` comparisons,
``_include``/``_revinclude`` rules (``Type:param``, maybe ``:iterate``) and the
opaque page token carrying the state to the next page.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from care_models.fhir.instants import parse_instant

# Search parameter of an _include/_revinclude -> the element it follows.
REFERENCE_PARAMS = {
    "subject": "subject",
    "patient": "subject",
    "encounter": "encounter",
    "focus": "focus",
    "for": "for",
}
SEARCH_PARAMS = {"status", "_lastUpdated", "_sort", "_count", "_include", "_revinclude"}
SORTS = ("_lastUpdated", "-_lastUpdated")


class BadRequest(Exception):
    """The search cannot be answered as asked (HTTP 400); the message says why."""


@dataclass(frozen=True)
class Include:
    """One ``_include`` or ``_revinclude`` value: ``Type:param``, maybe ``:iterate``."""

    kind: str
    element: str
    iterate: bool

    @classmethod
    def parse(cls, name: str, value: str) -> Include:
        kind, _, param = value.partition(":")
        if not kind or param not in REFERENCE_PARAMS:
            raise BadRequest(f"{name}: only Type:param with param in {sorted(REFERENCE_PARAMS)}")
        return cls(kind, REFERENCE_PARAMS[param], name.endswith(":iterate"))


def targets(resource: Mapping[str, Any], element: str) -> list[str]:
    """The ``Type/id`` references one element of a resource holds (one or a list)."""
    value = resource.get(element)
    values = value if isinstance(value, list) else [value]
    return [v["reference"] for v in values if isinstance(v, dict) and "reference" in v]


def stamp(resource: Mapping[str, Any]) -> dt.datetime:
    return parse_instant(resource["meta"]["lastUpdated"])


def search_state(params: Mapping[str, list[str]]) -> dict[str, Any]:
    """The whole of a first-page search, checked (400 on anything not understood)."""
    unknown = sorted(n for n in params if n.split(":")[0] not in SEARCH_PARAMS)
    if unknown or any(":" in n and n.split(":")[1] != "iterate" for n in params):
        raise BadRequest(f"unsupported search parameters: {', '.join(unknown) or 'a modifier'}")
    try:
        count = int((params.get("_count") or ["5"])[0])
    except ValueError:
        raise BadRequest("_count must be an integer") from None
    sort: str | None = (params.get("_sort") or [""])[0] or None
    if sort is not None and sort not in SORTS:
        raise BadRequest(f"_sort: one of {', '.join(SORTS)}")
    filters = params.get("_lastUpdated") or []
    for value in filters:
        _date_filter(value)  # 400 when malformed
    rules: dict[str, list[list[Any]]] = {"_include": [], "_revinclude": []}
    for name, values in params.items():
        if name.split(":")[0] in rules:
            for value in values:
                rule = Include.parse(name, value)
                rules[name.split(":")[0]].append([rule.kind, rule.element, rule.iterate])
    return {
        "status": [s for v in params.get("status") or [] for s in v.split(",") if s],
        "lu": filters,
        "sort": sort,
        "n": count,
        "o": 0,
        "p": 1,
        "inc": rules["_include"],
        "rev": rules["_revinclude"],
    }


def _date_filter(value: str) -> tuple[str, dt.datetime]:
    prefix = value[:2] if value[:2] in ("gt", "ge", "lt", "le", "eq", "ne") else "eq"
    raw = value[2:] if value[:2] == prefix else value
    try:
        return prefix, parse_instant(raw)
    except ValueError:
        raise BadRequest(f"_lastUpdated: {value!r} is not a FHIR instant") from None


def compare(moment: dt.datetime, value: str) -> bool:
    prefix, bound = _date_filter(value)
    return {
        "gt": moment > bound,
        "ge": moment >= bound,
        "lt": moment < bound,
        "le": moment <= bound,
        "eq": moment == bound,
        "ne": moment != bound,
    }[prefix]


def encode(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_STATE_KEYS = {"status", "lu", "sort", "n", "o", "p", "inc", "rev"}


def decode_token(token: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(state, dict) or not set(state) >= _STATE_KEYS:
            raise ValueError
        return state
    except ValueError:
        raise BadRequest("_page: unknown or expired page token") from None
