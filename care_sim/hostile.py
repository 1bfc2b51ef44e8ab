"""Hostile requests for the care API: what a careless or malicious hospital might send.

One generator, driven by a ``random.Random``, serves the property-based test (through
Hypothesis's ``randoms()``, so failures shrink and replay) and ``bench/fuzz.py`` (a
seeded Random, 10,000 cases). Each :class:`Case` starts from a valid synthetic
referral Bundle or from nothing, and breaks it in one way: a mutated element, random
JSON, an odd encoding, huge or deep values, a reference to nothing, an odd Task id or
search parameter, or no token at all.

The values planted include personal-looking ones (an RRN-shaped number, a name) so a
check can look for them in answers, logs and the database.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from care_models.synthetic import referrals as sr

RRN_LIKE = "900101-1234567"
NAME_LIKE = "홍길동"
ODD_STRINGS = (
    "",
    "\u0000",
    "a\u0000b",
    "\u001f",
    "\u0085",
    "\ud800",
    "²",
    "١٢٣",
    "9" * 30,
    "9" * 400,
    "가" * 5000,
    '=HYPERLINK("http://x")',
    RRN_LIKE,
    NAME_LIKE,
    "urn:uuid:nowhere",
    "Patient/1",
    "#contained",
    "male",
    "transaction",
    "\u202e",
    "'; DROP TABLE referrals; --",
)
ODD_NUMBERS = ("1" + "0" * 5000, "-0", "1e999", "NaN", "Infinity", "1.5e-400", "9" * 40)
ODD_TASK_IDS = ("²", "١٢", "9" * 30, "-1", "1e3", "0x1f", " 1", "%00", "1" * 19, "abc", "0")
ENCODINGS = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "latin-1", "cp949")
KINDS = (
    "mutated",
    "mutated",
    "mutated",
    "random-json",
    "encoding",
    "raw-text",
    "deep",
    "entries",
    "reference",
    "task-id",
    "search",
    "no-token",
    "valid",
)


@dataclass(frozen=True)
class Case:
    """One request: where, what, and whose token (None: no token)."""

    kind: str
    method: str
    path: str
    hospital: str | None
    body: bytes = b""
    content_type: str = "application/fhir+json"


def case(rng: random.Random, specs: Sequence[sr.ReferralSpec]) -> Case:
    """A random hostile request built from one of ``specs`` (valid referrals)."""
    kind = rng.choice(KINDS)
    spec = rng.choice(specs)
    hospital = spec.hospital_code
    bundle = sr.build_bundle(spec)
    if kind == "task-id":
        return Case(kind, "GET", f"/fhir/Task/{quote(rng.choice(ODD_TASK_IDS))}", hospital)
    if kind == "search":
        name = rng.choice(("identifier", "_count", "_lastUpdated", "_sort", "x"))
        value = rng.choice((*ODD_STRINGS, *ODD_NUMBERS, "gt2026-01-01", "lt1"))
        return Case(
            kind,
            "GET",
            f"/fhir/Task?{name}={quote(value, safe='', errors='surrogatepass')}",
            hospital,
        )
    if kind == "no-token":
        return Case(kind, "POST", "/fhir/Bundle", None, _body(rng, "mutated", bundle))
    body = _body(rng, kind, bundle)
    content_type = rng.choice(
        ("application/fhir+json",) * 8
        + ("application/json; charset=utf-16", "text/plain", "application/fhir+json; charset=x")
    )
    return Case(kind, "POST", "/fhir/Bundle", hospital, body, content_type)


def _dump(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8", errors="surrogatepass")


def _body(rng: random.Random, kind: str, bundle: dict[str, Any]) -> bytes:
    makers: dict[str, Callable[[], bytes]] = {
        "valid": lambda: _dump(bundle),
        "mutated": lambda: _dump(_mutated(rng, bundle)),
        "random-json": lambda: _dump(_random_json(rng, 4)),
        "encoding": lambda: _encoded(rng, bundle),
        "raw-text": lambda: _raw_text(rng, bundle),
        "deep": lambda: _deep(rng),
        "entries": lambda: _many_entries(rng, bundle),
        "reference": lambda: _dump(_dangling(rng, bundle)),
    }
    return makers[kind]()


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _paths(value, (*prefix, index))
    return found


def _mutated(rng: random.Random, bundle: dict[str, Any]) -> Any:
    """One element replaced, removed or given a sibling, somewhere in the Bundle."""
    document = copy.deepcopy(bundle)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_paths(document)[1:] or [()])
        if not path:
            break
        parent: Any = document
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        action = rng.random()
        if action < 0.5:
            parent[last] = _value(rng)
        elif action < 0.7 and isinstance(parent, dict):
            del parent[last]
        elif isinstance(parent, dict):
            parent[rng.choice((RRN_LIKE, NAME_LIKE, "extra", "resourceType"))] = _value(rng)
        else:
            parent.append(_value(rng))
    return document


def _value(rng: random.Random) -> Any:
    pick = rng.random()
    if pick < 0.5:
        return rng.choice(ODD_STRINGS)
    if pick < 0.7:
        return _random_json(rng, 2)
    if pick < 0.85:
        return rng.choice((0, -1, 2**63, 10**30, 1.5, True, None, [], {}))
    return [rng.choice(ODD_STRINGS)] * rng.randint(1, 50)


def _random_json(rng: random.Random, depth: int) -> Any:
    pick = rng.random()
    if depth <= 0 or pick < 0.4:
        return rng.choice((None, True, 0, -7, 3.25, 2**70, rng.choice(ODD_STRINGS)))
    if pick < 0.7:
        return [_random_json(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    keys = ("resourceType", "type", "entry", "resource", "reference", RRN_LIKE, "x")
    return {rng.choice(keys): _random_json(rng, depth - 1) for _ in range(rng.randint(0, 4))}


def _encoded(rng: random.Random, bundle: dict[str, Any]) -> bytes:
    text = json.dumps(bundle, ensure_ascii=False)
    encoding = rng.choice((*ENCODINGS, "bom"))
    if encoding == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    return text.encode(encoding, errors="replace")


def _raw_text(rng: random.Random, bundle: dict[str, Any]) -> bytes:
    """Text the JSON serialiser would never write: odd numbers, bad bytes, truncation."""
    text = _dump(bundle)
    pick = rng.random()
    if pick < 0.4:
        number = rng.choice(ODD_NUMBERS).encode()
        return text.replace(b'"transaction"', b'"transaction", "n": ' + number, 1)
    if pick < 0.6:
        cut = rng.randint(0, len(text))
        return text[:cut]
    if pick < 0.8:
        where = rng.randint(0, len(text))
        return (
            text[:where] + rng.choice((b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80")) + text[where:]
        )
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))


def _deep(rng: random.Random) -> bytes:
    levels = rng.choice((40, 500, 5000, 200_000))
    opener, closer = rng.choice(((b"[", b"]"), (b'{"a":', b"}")))
    closed = rng.random() < 0.5
    return (
        b'{"resourceType": "Bundle", "x": '
        + opener * levels
        + b"1"
        + (closer * levels if closed else b"")
        + b"}"
    )


def _many_entries(rng: random.Random, bundle: dict[str, Any]) -> bytes:
    document = copy.deepcopy(bundle)
    extra = rng.choice((101, 2000, 10_005))
    template = document["entry"][-1]
    document["entry"] += [
        {**template, "fullUrl": f"urn:uuid:00000000-0000-0000-0000-{i:012d}"} for i in range(extra)
    ]
    return _dump(document)


def _dangling(rng: random.Random, bundle: dict[str, Any]) -> Any:
    document = copy.deepcopy(bundle)
    references = [p for p in _paths(document) if p and p[-1] == "reference"]
    path = rng.choice(references)
    parent: Any = document
    for part in path[:-1]:
        parent = parent[part]
    parent["reference"] = rng.choice(("urn:uuid:nowhere", "Patient/404", RRN_LIKE, ""))
    return document
