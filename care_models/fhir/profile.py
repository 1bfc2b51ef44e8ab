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
from msgspec import UNSET, Meta, Struct, UnsetType

__all__ = ["conforms"]

# Narrower than fhir.resources' own types (see the module docstring).
Text = Annotated[str, Meta(min_length=1, pattern=r"\S")]
Code = Annotated[str, Meta(pattern=r"\A[^\s]+( [^\s]+)*\Z")]
Uri = Annotated[str, Meta(pattern=r"\A[!-~]+\Z")]
Id = Annotated[str, Meta(pattern=r"\A[A-Za-z0-9.-]{1,64}\Z")]
Integer = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
Date = dt.date  # msgspec takes exactly YYYY-MM-DD, a real day of years 1 to 9999


class _Element(Struct, forbid_unknown_fields=True):
    """A FHIR element: unknown keys refused, so the profile never guesses."""


# -- data types ----------------------------------------------------------------------------


class Coding(_Element):
    system: Uri | UnsetType = UNSET
    version: Text | UnsetType = UNSET
    code: Code | UnsetType = UNSET
    display: Text | UnsetType = UNSET


class CodeableConcept(_Element):
    coding: Annotated[list[Coding], Meta(min_length=1)] | UnsetType = UNSET
    text: Text | UnsetType = UNSET


class Reference(_Element):
    reference: Text | UnsetType = UNSET
    display: Text | UnsetType = UNSET


class Identifier(_Element):
    system: Uri | UnsetType = UNSET
    value: Text | UnsetType = UNSET


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
    system: Code | UnsetType = UNSET
    value: Text | UnsetType = UNSET
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
    ifNoneExist: Text | UnsetType = UNSET


class BundleEntry(_Element):
    fullUrl: Uri | UnsetType = UNSET
    resource: ProfileResource | UnsetType = UNSET
    request: BundleEntryRequest | UnsetType = UNSET


class Bundle(_Element, tag_field="resourceType", tag="Bundle"):
    type: Code
    id: Id | UnsetType = UNSET
    entry: Annotated[list[BundleEntry], Meta(min_length=1)] | UnsetType = UNSET


def conforms(document: Any) -> bool:
    """True if the profile accepts ``document``; then fhir.resources accepts it too."""
    try:
        msgspec.convert(document, Bundle)
    except msgspec.ValidationError:
        return False
    return True
