"""The referral profile decides one way: what it accepts, fhir.resources accepts.

Checked field by field against the fhir.resources R4B models, and on mutated
Bundles of every shape the synthetic hospitals send. See care_models/fhir/profile.py.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import random
import types
import typing
from typing import Any

import msgspec
import pytest
from pydantic import ValidationError

from care_models.fhir import profile
from care_models.fhir.bundle import BundleRejected, parse_profiled_referral, parse_referral
from care_models.synthetic import referrals as sr
from care_models.synthetic.county import build_county
from tests.support.mutations import mutations

R4B = "fhir.resources.R4B"
# Each Struct of the profile and the fhir.resources model it narrows.
MODELS: dict[Any, str] = {
    profile.Coding: "coding.Coding",
    profile.CodeableConcept: "codeableconcept.CodeableConcept",
    profile.Reference: "reference.Reference",
    profile.Identifier: "identifier.Identifier",
    profile.Period: "period.Period",
    profile.HumanName: "humanname.HumanName",
    profile.Address: "address.Address",
    profile.ContactPoint: "contactpoint.ContactPoint",
    profile.Patient: "patient.Patient",
    profile.Encounter: "encounter.Encounter",
    profile.Condition: "condition.Condition",
    profile.ServiceRequest: "servicerequest.ServiceRequest",
    profile.ObservationComponent: "observation.ObservationComponent",
    profile.Observation: "observation.Observation",
    profile.QuestionnaireAnswer: "questionnaireresponse.QuestionnaireResponseItemAnswer",
    profile.QuestionnaireItem: "questionnaireresponse.QuestionnaireResponseItem",
    profile.QuestionnaireResponse: "questionnaireresponse.QuestionnaireResponse",
    profile.Task: "task.Task",
    profile.BundleEntryRequest: "bundle.BundleEntryRequest",
    profile.BundleEntry: "bundle.BundleEntry",
    profile.Bundle: "bundle.Bundle",
}
TODAY = dt.date(2026, 12, 1)


def fhir_model(struct: type) -> Any:
    module, name = MODELS[struct].rsplit(".", 1)
    return getattr(importlib.import_module(f"{R4B}.{module}"), name)


def _strip(annotation: Any) -> Any:
    """The annotation without Annotated, None and UNSET."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kept = [a for a in typing.get_args(annotation) if a not in (type(None), msgspec.UnsetType)]
        if len(kept) == 1:
            return _strip(kept[0])
        return typing.Union[tuple(_strip(a) for a in kept)]  # noqa: UP007
    return annotation


def _is_list(annotation: Any) -> bool:
    return typing.get_origin(_strip(annotation)) is list


def _item(annotation: Any) -> Any:
    stripped = _strip(annotation)
    return _strip(typing.get_args(stripped)[0]) if _is_list(stripped) else stripped


def _structs(annotation: Any) -> list[type]:
    item = _item(annotation)
    options = typing.get_args(item) if typing.get_origin(item) is typing.Union else (item,)
    return [o for o in options if isinstance(o, type) and issubclass(o, msgspec.Struct)]


@pytest.mark.parametrize("struct", list(MODELS), ids=lambda s: s.__name__)
def test_every_element_of_the_profile_is_as_strict_as_fhir_resources(struct: Any) -> None:
    model = fhir_model(struct)
    by_alias = {(f.alias or name): f for name, f in model.model_fields.items()}
    ours = {f.encode_name: f for f in msgspec.structs.fields(struct)}
    tag_field = struct.__struct_config__.tag_field
    for key, field in ours.items():
        assert key in by_alias, f"{struct.__name__}.{key} is not an element of {model.__name__}"
        theirs = by_alias[key]
        assert _is_list(field.type) == _is_list(theirs.annotation), f"{key}: cardinality"
        for nested in _structs(field.type):
            if key == "resource":  # any resource there; each of ours is checked on its own
                continue
            expected = getattr(_item(theirs.annotation), "__name__", "").removesuffix("Type")
            assert fhir_model(nested).__name__ == expected, f"{struct.__name__}.{key}"
    for key, theirs in by_alias.items():
        extra = theirs.json_schema_extra or {}
        if theirs.is_required() or (isinstance(extra, dict) and extra.get("element_required")):
            assert key in ours and ours[key].required, f"{struct.__name__}.{key} is required"
        if isinstance(extra, dict) and extra.get("one_of_many_required"):
            group = [k for k in ours if k.startswith(str(extra["one_of_many"]))]
            assert len(group) == 1 and ours[group[0]].required, f"{struct.__name__}.{key}"
    if tag_field:  # a resource: the tag is its own resource type
        assert struct.__struct_config__.tag == model.get_resource_type()


# -- on mutated Bundles ------------------------------------------------------------------


def _fhir_accepts(document: dict[str, Any]) -> bool:
    from fhir.resources.R4B.bundle import Bundle

    try:
        Bundle.model_validate(document)
    except (ValidationError, TypeError, KeyError, AttributeError, ValueError):
        return False
    return True


def _specs() -> list[sr.ReferralSpec]:
    return sr.referral_specs(build_county(), 12, today=TODAY, seed=5)


def _bundles() -> list[dict[str, Any]]:
    return [sr.build_bundle(s, shape) for s, shape in zip(_specs(), sr.SHAPES * 3, strict=True)]


def test_the_profile_takes_every_shape_the_synthetic_hospitals_send() -> None:
    for document in _bundles():
        assert profile.conforms(json.loads(json.dumps(document)))


def test_whatever_the_profile_accepts_fhir_resources_accepts() -> None:
    rng = random.Random(20261204)
    checked = refused = 0
    for document in _bundles()[: len(sr.SHAPES)]:
        for mutated in mutations(document, rng):
            if profile.conforms(mutated):
                checked += 1
                assert _fhir_accepts(mutated), json.dumps(mutated)[:2000]
            else:
                refused += 1
    assert checked > 500 and refused > 5000  # both sides of the decision were exercised


def _answer(parse: Any, body: bytes, system: str) -> Any:
    try:
        return parse(body, system, today=TODAY)
    except BundleRejected as rejected:
        return (rejected.status, rejected.issues)


def test_the_profiled_parse_answers_as_the_full_one_or_not_at_all() -> None:
    rng = random.Random(4)
    spec = _specs()[1]
    system = sr.identifier_system(spec.hospital_code)
    answered = 0
    for mutated in mutations(sr.build_bundle(spec), rng):
        body = json.dumps(mutated, ensure_ascii=False).encode()
        quick = _answer(parse_profiled_referral, body, system)
        if quick is not None:
            answered += 1
            assert quick == _answer(parse_referral, body, system)
    assert answered > 500


def test_a_bundle_outside_the_profile_gets_the_same_answer_as_before() -> None:
    spec = _specs()[0]
    document = sr.build_bundle(spec)
    document["entry"][0]["resource"]["meta"] = {"lastUpdated": "2026-11-30T10:00:00+09:00"}
    assert not profile.conforms(document)  # fhir.resources decides, and takes it
    system = sr.identifier_system(spec.hospital_code)
    body = json.dumps(document).encode()
    assert parse_profiled_referral(body, system, today=TODAY) is None
    record = parse_referral(body, system, today=TODAY)
    assert record.identifier_value == spec.number
