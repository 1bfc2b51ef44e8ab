"""The outer wall's quick pass misses nothing: each planted fault is found and named."""

from __future__ import annotations

import copy
import datetime as dt
import random
from typing import Any

import pytest

from care_models.fhir.issues import BundleRejected
from care_models.fhir.limits import InputLimits, check_references, check_values, expression
from care_models.synthetic import referrals as sr
from care_models.synthetic.county import build_county

LIMITS = InputLimits(depth=12, string_chars=200, identifier_chars=100)


def _bundle(seed: int) -> dict[str, Any]:
    spec = sr.referral_specs(build_county(), 1, today=dt.date(2026, 12, 1), seed=seed)[0]
    return sr.build_bundle(spec, sr.SHAPES[seed % len(sr.SHAPES)])


def _strings(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in _strings(value, (*path, key))]
    if isinstance(node, list):
        return [p for i, value in enumerate(node) for p in _strings(value, (*path, i))]
    return [path] if isinstance(node, str) else []


def _set(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    parent: Any = document
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value


@pytest.mark.parametrize("seed", range(8))
def test_a_clean_bundle_passes(seed: int) -> None:
    document = _bundle(seed)
    check_values(document, LIMITS)
    assert check_references(document) == []


@pytest.mark.parametrize("seed", range(40))
def test_every_planted_fault_is_found_where_it_is(seed: int) -> None:
    rng = random.Random(seed)
    document = _bundle(seed)
    path = rng.choice(_strings(document))
    value: Any = document
    for part in path:
        value = value[part]
    fault = rng.choice(["control", "surrogate", "long", "deep"])
    faulty = copy.deepcopy(document)
    if fault == "control":
        _set(faulty, path, value[:1] + "\x07" + value[1:])
    elif fault == "surrogate":
        _set(faulty, path, value + "\ud800")
    elif fault == "long":
        _set(faulty, path, "x" * (LIMITS.string_chars + 1))
    else:
        nested: Any = value
        for _ in range(LIMITS.depth):
            nested = [nested]
        _set(faulty, path, nested)
    with pytest.raises(BundleRejected) as raised:
        check_values(faulty, LIMITS)
    where = raised.value.issues[0].expression
    assert where == ("Bundle" if fault == "deep" else expression(path))


def test_an_unknown_reference_is_named() -> None:
    document = _bundle(1)
    document["entry"][1]["resource"]["subject"]["reference"] = "urn:uuid:nobody"
    issues = check_references(document)
    assert [i.expression for i in issues] == ["Bundle.entry[1].resource.subject.reference"]
