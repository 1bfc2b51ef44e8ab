"""The quick door (care_models/fhir/screen.py) changes no answer; it only skips work.

Each body is answered twice, through the door and with the door shut (the long way:
``json.loads``, the limits' walks, the profile on the dicts), and the answers must be
the same. The door must also open for what hospitals send, or it saves nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

import msgspec.inspect as mi
import pytest

import care_models.fhir.bundle as bundle_module
from care_models.fhir import profile
from care_models.fhir.bundle import BundleRejected, parse_referral
from care_models.fhir.limits import IDENTIFIER_ELEMENTS, InputLimits, _references
from care_models.fhir.screen import screened
from care_models.synthetic import referrals as sr
from care_models.synthetic.county import build_county
from tests.support.mutations import mutations

TODAY = dt.date(2026, 12, 1)
LIMITS = InputLimits()


def _specs() -> list[sr.ReferralSpec]:
    return sr.referral_specs(build_county(), len(sr.SHAPES), today=TODAY, seed=11)


def _documents() -> Iterator[tuple[dict[str, Any], str]]:
    for spec, shape in zip(_specs(), sr.SHAPES, strict=True):
        yield sr.build_bundle(spec, shape), sr.identifier_system(spec.hospital_code)


def _answer(body: bytes, system: str, limits: InputLimits = LIMITS) -> Any:
    try:
        return parse_referral(body, system, today=TODAY, limits=limits)
    except BundleRejected as rejected:
        return (rejected.status, rejected.issues)


def _both(body: bytes, system: str, limits: InputLimits = LIMITS) -> tuple[Any, Any]:
    """The answer through the door, and with it shut."""
    quick = _answer(body, system, limits)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bundle_module, "screened", lambda body, limits: None)
        slow = _answer(body, system, limits)
    return quick, slow


@pytest.mark.parametrize("ascii_only", [False, True], ids=["utf8", "escaped"])
def test_the_door_opens_for_every_shape_hospitals_send(ascii_only: bool) -> None:
    for document, system in _documents():
        body = json.dumps(document, ensure_ascii=ascii_only).encode()
        quick = screened(body, LIMITS)
        assert quick is not None
        assert quick[0] == json.loads(body)
        answer, slow = _both(body, system)
        assert answer == slow and not isinstance(answer, tuple)


def test_the_door_answers_as_the_long_way_on_mutated_bundles() -> None:
    document, system = next(_documents())
    opened = 0
    for mutated in mutations(document, random.Random(7)):
        body = json.dumps(mutated, ensure_ascii=False).encode()
        if screened(body, LIMITS) is None:
            continue  # the long way both times: nothing to compare
        opened += 1
        quick, slow = _both(body, system)
        assert quick == slow, json.dumps(mutated, ensure_ascii=False)[:500]
    assert opened > 500  # the door opened often, and stayed shut often (see the profile)


def _plant(body: bytes, raw: bytes) -> bytes:
    """The body with ``raw`` written into the Patient's family name."""
    document = json.loads(body)
    document["entry"][0]["resource"]["name"][0]["family"] = "@@PLANT@@"
    return json.dumps(document, ensure_ascii=False).encode().replace(b"@@PLANT@@", raw)


FAMILY = "Bundle.entry[0].resource.name[0].family"
FAULTS: dict[str, tuple[bytes, int, str]] = {  # planted bytes, status, where the issue is
    "raw DEL": (b"Kim\x7f", 400, FAMILY),
    "raw C1 control": ("Kim\u0085".encode(), 400, FAMILY),
    "escaped bell": (b"Kim\\u0007", 400, FAMILY),
    "escaped backspace": (b"Kim\\b", 400, FAMILY),
    "escaped form feed": (b"Kim\\f", 400, FAMILY),
    "escaped DEL": (b"Kim\\u007F", 400, FAMILY),
    "escaped C1 control": (b"Kim\\u009f", 400, FAMILY),
    "lone surrogate": (b"Kim\\ud800", 400, FAMILY),
    "over-long string": (b"x" * (LIMITS.string_chars + 1), 400, FAMILY),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_planted_fault_takes_the_long_way_and_is_named(fault: str) -> None:
    document, system = next(_documents())
    body = _plant(json.dumps(document).encode(), FAULTS[fault][0])
    assert screened(body, LIMITS) is None
    quick, slow = _both(body, system)
    assert quick == slow
    status, issues = quick
    assert (status, issues[0].expression) == FAULTS[fault][1:]


@pytest.mark.parametrize(
    "variant",
    ["long identifier", "deep", "long number", "too many entries", "bom", "utf-16", "nan"],
)
def test_what_the_limits_refuse_elsewhere_takes_the_long_way(variant: str) -> None:
    document, system = next(_documents())
    patient = document["entry"][0]["resource"]
    if variant == "long identifier":
        patient["identifier"][0]["value"] = "9" * (LIMITS.identifier_chars + 1)
    elif variant == "deep":
        nested: Any = "x"
        for _ in range(LIMITS.depth):
            nested = [nested]
        patient["extension"] = nested
    elif variant == "too many entries":
        document["entry"] = document["entry"] * (LIMITS.entries // len(document["entry"]) + 1)
    text = json.dumps(document, ensure_ascii=False)
    if variant == "long number":
        text = text.replace('"gender"', '"multipleBirthInteger": 1' + "0" * 40 + ', "gender"')
    body = {
        "bom": b"\xef\xbb\xbf" + text.encode(),
        "utf-16": text.encode("utf-16"),
        "nan": text.replace('"gender"', '"multipleBirthInteger": NaN, "gender"').encode(),
    }.get(variant, text.encode())
    assert screened(body, LIMITS) is None
    quick, slow = _both(body, system)
    assert quick == slow
    assert quick[0] in (400, 413)


def test_limits_set_below_the_defaults_shut_the_door() -> None:
    document, system = next(_documents())
    document["entry"][0]["resource"]["identifier"][0]["value"] = "9" * 95
    body = json.dumps(document, ensure_ascii=False).encode()
    tight = InputLimits(identifier_chars=90)
    assert screened(body, LIMITS) is not None
    assert screened(body, tight) is None
    status, issues = _answer(body, system, tight)
    assert (status, issues[0].expression) == (400, "Bundle.entry[0].resource.identifier[0].value")


def test_the_references_read_from_the_structs_are_the_walks() -> None:
    rng = random.Random(3)
    compared = 0
    for document, _ in list(_documents())[:2]:
        for candidate in [document, *mutations(document, rng)]:
            found = profile.profiled(candidate)
            if found is None:
                continue
            walked: list[str] = []
            _references(candidate, walked)
            assert sorted(profile.references(found)) == sorted(walked)
            compared += 1
    assert compared > 1000


def _strings(info: Any, name: str = "", seen: set[type] | None = None) -> Iterator[Any]:
    seen = set() if seen is None else seen
    if isinstance(info, mi.StrType):
        yield name, info
    elif isinstance(info, mi.ListType):
        yield from _strings(info.item_type, name, seen)
    elif isinstance(info, mi.UnionType):
        for option in info.types:
            yield from _strings(option, name, seen)
    elif isinstance(info, mi.StructType) and info.cls not in seen:
        seen.add(info.cls)
        for field in info.fields:
            yield from _strings(field.type, field.encode_name, seen)


def test_every_string_of_the_profile_keeps_the_default_caps() -> None:
    found = list(_strings(mi.type_info(profile.Bundle)))
    assert len(found) > 30
    for name, info in found:
        cap = LIMITS.identifier_chars if name in IDENTIFIER_ELEMENTS else LIMITS.string_chars
        assert info.max_length is not None and info.max_length <= cap, name
    assert LIMITS.depth >= profile.DEPTH
