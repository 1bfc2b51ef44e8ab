"""The referral profile: a fast structural check in front of fhir.resources.

fhir.resources validates a Bundle element by element in Python, about 0.7 ms for a
referral of ten entries: most of the API's CPU for a POST. The msgspec Structs here
describe the elements a discharge referral uses (see
:mod:`care_models.synthetic.referrals` for the shape hospitals send) and check one
in about 30 µs.

They decide one way only. A Bundle they accept is one fhir.resources accepts,
because every element they know is at least as strict as fhir.resources' model of
it:

- required wherever fhir.resources requires it;
- a list where it takes a list, one value where it takes one, and never an empty
  list or a null;
- a narrower form: a code without leading, trailing or doubled spaces, a string with
  some visible character, a URI of printable ASCII, a calendar date ``YYYY-MM-DD``
  where it takes any date or date-time, a 32-bit integer, a JSON boolean;
- any element they do not name is refused (an extension, a primitive's ``_element``,
  ``meta``, another resource type).

They also keep the input limits' default caps (:mod:`care_models.fhir.limits`): a
string's length, the identifiers' shorter one, and a bounded nesting. So a Bundle
they accept needs no walk of the limits (see :mod:`care_models.fhir.screen`).

Whatever they refuse goes to fhir.resources, which decides and names every issue, as
before. So the verdict and the issues are always fhir.resources'; a Bundle in the
common shape just costs a twentieth. ``tests/unit/fhir/test_profile.py`` holds the
invariant two ways: field by field against the fhir.resources models, and on
thousands of mutated Bundles (whatever the profile accepts, fhir.resources accepts).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
import msgspec.inspect as mi
from msgspec import UNSET, Meta, Struct, UnsetType

from care_models.fhir.limits import InputLimits

__all__ = ["conforms", "profiled", "references"]

# Every string of a conforming Bundle keeps the default limits' caps, so that a Bundle
# the profile accepts needs no walk of the limits (see care_models.fhir.screen);
# elements named as identifiers (limits.IDENTIFIER_ELEMENTS) keep the identifiers' cap.
CAPS = InputLimits()
_LONG, _SHORT = CAPS.string_chars, CAPS.identifier_chars

# Narrower than fhir.resources' own types (see the module docstring).
Text = Annotated[str, Meta(min_length=1, max_length=_LONG, pattern=r"\S")]
Code = Annotated[str, Meta(max_length=_LONG, pattern=r"\A[^\s]+( [^\s]+)*\Z")]
Uri = Annotated[str, Meta(max_length=_LONG, pattern=r"\A[!-~]+\Z")]
Id = Annotated[str, Meta(max_length=64, pattern=r"\A[A-Za-z0-9.-]{1,64}\Z")]
KeyText = Annotated[str, Meta(min_length=1, max_length=_SHORT, pattern=r"\S")]
KeyCode = Annotated[str, Meta(max_length=_SHORT, pattern=r"\A[^\s]+( [^\s]+)*\Z")]
KeyUri = Annotated[str, Meta(max_length=_SHORT, pattern=r"\A[!-~]+\Z")]
Integer = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
Date = dt.date  # msgspec takes exactly YYYY-MM-DD, a real day of years 1 to 9999


class _Element(Struct, forbid_unknown_fields=True):
    """A FHIR element: unknown keys refused, so the profile never guesses."""


# -- data types ----------------------------------------------------------------------------


class Coding(_Element):
    system: KeyUri | UnsetType = UNSET
    version: Text | UnsetType = UNSET
    code: Code | UnsetType = UNSET
    display: Text | UnsetType = UNSET


class CodeableConcept(_Element):
    coding: Annotated[list[Coding], Meta(min_length=1)] | UnsetType = UNSET
    text: Text | UnsetType = UNSET


class Reference(_Element):
    reference: KeyText | UnsetType = UNSET
    display: Text | UnsetType = UNSET


class Identifier(_Element):
    system: KeyUri | UnsetType = UNSET
    value: KeyText | UnsetType = UNSET


class Period(_Element):
    start: Date | UnsetType = UNSET
    end: Date | UnsetType = UNSET


class HumanName(_Element):
    text: Text | UnsetType = UNSET
    family: Text | UnsetType = UNSET
    given: Annotated[list[Text], Meta(min_length=1)] | UnsetType = UNSET


class Address(_Element):
    text: Text | UnsetType = UNSET
    line: Annotated[list[Text], Meta(min_length=1)] | UnsetType = UNSET
    city: Text | UnsetType = UNSET
    postalCode: Text | UnsetType = UNSET
    country: Text | UnsetType = UNSET


class ContactPoint(_Element):
    system: KeyCode | UnsetType = UNSET
    value: KeyText | UnsetType = UNSET
    use: Code | UnsetType = UNSET


# -- resources -----------------------------------------------------------------------------


class _Resource(_Element, tag_field="resourceType", kw_only=True):  # id after the rest
    id: Id | UnsetType = UNSET


class Patient(_Resource, tag="Patient"):
    identifier: Annotated[list[Identifier], Meta(min_length=1)] | UnsetType = UNSET
    name: Annotated[list[HumanName], Meta(min_length=1)] | UnsetType = UNSET
    telecom: Annotated[list[ContactPoint], Meta(min_length=1)] | UnsetType = UNSET
    gender: Code | UnsetType = UNSET
    birthDate: Date | UnsetType = UNSET
    address: Annotated[list[Address], Meta(min_length=1)] | UnsetType = UNSET


class Encounter(_Resource, tag="Encounter"):
    status: Code
    encounter_class: Coding = msgspec.field(name="class")
    subject: Reference | UnsetType = UNSET
    period: Period | UnsetType = UNSET


class Condition(_Resource, tag="Condition"):
    subject: Reference
    clinicalStatus: CodeableConcept | UnsetType = UNSET
    code: CodeableConcept | UnsetType = UNSET


class ServiceRequest(_Resource, tag="ServiceRequest"):
    status: Code
    intent: Code
    subject: Reference
    identifier: Annotated[list[Identifier], Meta(min_length=1)] | UnsetType = UNSET
    category: Annotated[list[CodeableConcept], Meta(min_length=1)] | UnsetType = UNSET
    code: CodeableConcept | UnsetType = UNSET
    encounter: Reference | UnsetType = UNSET
    authoredOn: Date | UnsetType = UNSET


class ObservationComponent(_Element):
    code: CodeableConcept
    valueBoolean: bool | UnsetType = UNSET


class Observation(_Resource, tag="Observation"):
    status: Code
    code: CodeableConcept
    subject: Reference | UnsetType = UNSET
    component: Annotated[list[ObservationComponent], Meta(min_length=1)] | UnsetType = UNSET
    valueInteger: Integer | UnsetType = UNSET


class QuestionnaireAnswer(_Element):
    valueBoolean: bool | UnsetType = UNSET


class QuestionnaireItem(_Element):
    linkId: Text
    answer: Annotated[list[QuestionnaireAnswer], Meta(min_length=1)] | UnsetType = UNSET


class QuestionnaireResponse(_Resource, tag="QuestionnaireResponse"):
    status: Code
    subject: Reference | UnsetType = UNSET
    item: Annotated[list[QuestionnaireItem], Meta(min_length=1)] | UnsetType = UNSET


class Task(_Resource, tag="Task"):
    status: Code
    intent: Code
    identifier: Annotated[list[Identifier], Meta(min_length=1)] | UnsetType = UNSET
    focus: Reference | UnsetType = UNSET
    task_for: Reference | UnsetType = msgspec.field(name="for", default=UNSET)
    description: Text | UnsetType = UNSET


ProfileResource = (
    Patient | Encounter | Condition | ServiceRequest | Observation | QuestionnaireResponse | Task
)


class BundleEntryRequest(_Element):
    method: Literal["POST", "PUT"]
    url: Uri
    ifNoneExist: KeyText | UnsetType = UNSET


class BundleEntry(_Element):
    fullUrl: KeyUri | UnsetType = UNSET
    resource: ProfileResource | UnsetType = UNSET
    request: BundleEntryRequest | UnsetType = UNSET


class Bundle(_Element, tag_field="resourceType", tag="Bundle"):
    type: Code
    id: Id | UnsetType = UNSET
    entry: Annotated[list[BundleEntry], Meta(min_length=1)] | UnsetType = UNSET


def profiled(document: Any) -> Bundle | None:
    """The Bundle in the profile's shape, or None if the profile refuses it."""
    try:
        return msgspec.convert(document, Bundle)
    except msgspec.ValidationError:
        return None


def conforms(document: Any) -> bool:
    """True if the profile accepts ``document``; then fhir.resources accepts it too."""
    return profiled(document) is not None


# -- what a conforming Bundle holds, read from the Structs' own types ----------------------


def _nesting(info: mi.Type) -> int:
    """The most containers a value of this type nests (a Struct is a JSON object)."""
    if isinstance(info, mi.StructType):
        return 1 + max((_nesting(f.type) for f in info.fields), default=0)
    if isinstance(info, mi.ListType):
        return 1 + _nesting(info.item_type)
    if isinstance(info, mi.UnionType):
        return max(_nesting(t) for t in info.types)
    return 0


def _structs(info: mi.Type) -> list[mi.StructType]:
    if isinstance(info, mi.ListType):
        return _structs(info.item_type)
    if isinstance(info, mi.UnionType):
        return [s for t in info.types for s in _structs(t)]
    return [info] if isinstance(info, mi.StructType) else []


def _paths_to_references(info: mi.StructType, leads: dict[type, tuple[str, ...]]) -> bool:
    """Fill ``leads``: for each Struct, the fields through which a Reference is reached."""
    if info.cls is Reference:
        return True
    if info.cls not in leads:
        leads[info.cls] = ()  # no type of the profile contains itself
        # A list, not a generator: every Struct of a union is filled in, not only those
        # up to the first that reaches a Reference.
        leads[info.cls] = tuple(
            field.name
            for field in info.fields
            if any([_paths_to_references(s, leads) for s in _structs(field.type)])
        )
    return bool(leads[info.cls])


# Every container of a conforming Bundle nests at most this deep (see limits.check_values).
DEPTH = _nesting(mi.type_info(Bundle))
# The longest integer a conforming Bundle holds: a 32-bit one, sign included.
NUMBER_CHARS = len(str(-(2**31)))
_LEADS: dict[type, tuple[str, ...]] = {}
_paths_to_references(mi.type_info(Bundle), _LEADS)  # type: ignore[arg-type]


def references(bundle: Bundle) -> list[str]:
    """Every ``reference`` a conforming Bundle holds, without a walk of all its values."""
    found: list[str] = []
    pending: list[Any] = [bundle]
    while pending:
        struct = pending.pop()
        if type(struct) is Reference:
            if struct.reference is not UNSET:
                found.append(struct.reference)
            continue
        for name in _LEADS[type(struct)]:
            value = getattr(struct, name)
            if isinstance(value, list):
                pending.extend(value)
            elif value is not UNSET:
                pending.append(value)
    return found
