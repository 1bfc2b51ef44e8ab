"""FHIR R4 discharge referrals <-> the domain.

A hospital sends a transaction Bundle holding a Patient, an Encounter (admission
with a planned or actual discharge), Condition(s), a ServiceRequest carrying the
hospital's referral identifier, optionally an Observation or QuestionnaireResponse
with difficulties in activities of daily living (ADL) and a living-situation
Observation, and a Task. Parsing uses the fhir.resources R4B models (the package's
default R5 models reject R4 payloads), behind a fast check of the referral profile
that accepts only what they accept; the rules fhir.resources does not enforce
(coded values, identifiers, plausible dates) are checked here. Every problem is an
:class:`Issue` naming the element (a FHIRPath ``expression``) and the rule.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from care_models.fhir import profile
from care_models.fhir.issues import BundleRejected, Issue
from care_models.fhir.limits import (
    InputLimits,
    check_references,
    check_values,
    expression,
    load_json,
)
from care_models.fhir.screen import screened
from care_models.privacy import PersonalFields

__all__ = [
    "BundleRejected",
    "InputLimits",
    "Issue",
    "ReferralRecord",
    "parse_profiled_referral",
    "parse_referral",
]

RRN_SYSTEM = "urn:care:kr:rrn"
NEED_SYSTEM = "urn:care:referral-need"
ADL_SYSTEM = "urn:care:adl"
ADL_OBSERVATION_CODE = "adl-difficulties"
LOINC = "http://loinc.org"
LIVING_SITUATION_LOINC = "63512-8"  # how many people live at this address (patient included)
MAX_DISCHARGE_AHEAD_DAYS = 30
ADL_ACTIVITIES = ("eating", "toileting", "dressing", "bathing", "walking")

# Needs a hospital can name, and the category (of the five) each belongs to.
NEED_CODES: Mapping[str, str] = {
    "home_medical": "health_medical",
    "nursing": "health_medical",
    "rehabilitation": "health_medical",
    "nutrition": "health_medical",
    "mental_health": "health_medical",
    "long_term_care": "care_ltc",
    "daily_care": "care_ltc",
    "housing": "housing",
    "meals": "daily_living",
    "transport": "daily_living",
    "safety": "safety_other",
}

BUNDLE_TYPES = (
    "document",
    "message",
    "transaction",
    "transaction-response",
    "batch",
    "batch-response",
    "history",
    "searchset",
    "collection",
)
GENDERS = ("male", "female", "other", "unknown")
ENCOUNTER_STATUSES = (
    "planned",
    "arrived",
    "triaged",
    "in-progress",
    "onleave",
    "finished",
    "cancelled",
    "entered-in-error",
    "unknown",
)
REQUEST_STATUSES = (
    "draft",
    "active",
    "on-hold",
    "revoked",
    "completed",
    "entered-in-error",
    "unknown",
)
ORDER_INTENTS = (
    "order",
    "original-order",
    "reflex-order",
    "filler-order",
    "instance-order",
    "option",
)
REQUEST_INTENTS = ("proposal", "plan", "directive", *ORDER_INTENTS)
TASK_STATUSES = (
    "draft",
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
)
TASK_INTENTS = ("unknown", "proposal", "plan", *ORDER_INTENTS)
CONDITION_CLINICAL = ("active", "recurrence", "relapse", "inactive", "remission", "resolved")
REQUIRED_ONE = ("Patient", "Encounter", "ServiceRequest", "Task")


@dataclass
class ReferralRecord:
    """What the county takes from a valid referral Bundle."""

    identifier_system: str
    identifier_value: str
    person: PersonalFields
    sex: str
    admission_date: dt.date
    discharge_date: dt.date
    discharged: bool
    needs: list[str] = field(default_factory=list)
    adl_difficulties: list[str] = field(default_factory=list)
    household_size: int | None = None
    conditions: list[str] = field(default_factory=list)
    if_none_exist: str | None = None

    @property
    def living_alone(self) -> bool | None:
        return None if self.household_size is None else self.household_size == 1

    def gate_row(self) -> dict[str, Any]:
        """The non-personal fields the intake gate checks."""
        return {
            "identifier": f"{self.identifier_system}|{self.identifier_value}",
            "sex": self.sex,
            "birth_year": self.person.birth_date.year,
            "admission_date": self.admission_date.isoformat(),
            "discharge_date": self.discharge_date.isoformat(),
            "stay_days": (self.discharge_date - self.admission_date).days,
            "needs_count": len(self.needs),
            "adl_difficulties": len(self.adl_difficulties),
            "has_phone": self.person.phone is not None,
            "has_address": bool(self.person.address),
        }


# -- small readers --------------------------------------------------------------------


def _codes(concepts: Iterable[Mapping[str, Any]] | None, system: str) -> list[str]:
    return [
        c["code"]
        for concept in concepts or []
        for c in concept.get("coding") or []
        if c.get("system") == system and c.get("code")
    ]


def _reference_id(reference: Mapping[str, Any] | None) -> str | None:
    return (reference or {}).get("reference")


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


class _Checker:
    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def fail(self, code: str, expression: str, rule: str) -> None:
        self.issues.append(Issue(code, expression, rule))

    def coded(self, value: Any, allowed: Sequence[str], expression: str) -> None:
        if value is None:
            self.fail("required", expression, "is required")
        elif value not in allowed:
            self.fail(
                "code-invalid",
                expression,
                f"is not a valid code (expected one of {', '.join(allowed)})",
            )


# -- parsing ------------------------------------------------------------------------------


def decode_json(body: bytes, limits: InputLimits | None = None) -> dict[str, Any]:
    """Strict UTF-8, bounded JSON (see :mod:`care_models.fhir.limits`); 400 otherwise."""
    return load_json(body, limits or InputLimits())


RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,39}")
# pydantic errors whose message is a rule of ours, not one that can quote the input.
QUOTING_ERRORS = ("value_error", "assertion_error")


def _model_rule(error: Mapping[str, Any]) -> str:
    """The rule a pydantic error states, unless its message could carry the input."""
    kind, message, value = error.get("type", ""), str(error.get("msg", "")), error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not an element of this resource"
    if kind in QUOTING_ERRORS or (isinstance(value, str) and value and value in message):
        return f"is not a valid value for this element ({kind})"
    return message


def _model_issue(document: dict[str, Any], error: Mapping[str, Any]) -> Issue:
    """A pydantic error as an Issue: the element's FHIRPath and a readable rule."""
    loc = [p for p in error["loc"] if isinstance(p, int | str)]
    if error.get("type") == "extra_forbidden" and loc:
        loc = loc[:-1]  # the unknown key is input: name its parent
    resource_type = "Bundle"
    if len(loc) >= 3 and loc[0] == "entry" and isinstance(loc[1], int):
        entries = document.get("entry") or []
        entry = entries[loc[1]] if loc[1] < len(entries) else None
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            found = entry["resource"].get("resourceType")
            resource_type = found if RESOURCE_TYPE.fullmatch(str(found)) else "resource"
    where = expression(tuple(loc))
    element = where.split(".", 3)[3] if len(loc) > 3 else where.removeprefix("Bundle.")
    rule = f"{resource_type}.{element} {_model_rule(error)}"
    code = "required" if error.get("type") == "missing" else "structure"
    return Issue(code, where, rule)


def _validate_models(document: dict[str, Any]) -> None:
    """Structural validation with the fhir.resources R4B models."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError as PydanticError

    fallback = Issue("structure", "Bundle", "does not match the FHIR R4 Bundle structure")
    try:
        Bundle.model_validate(document)
    except PydanticError as exc:
        issues = [_model_issue(document, error) for error in exc.errors()[:20]]
        raise BundleRejected(issues or [fallback], 422) from None
    except (TypeError, KeyError, AttributeError):  # the models' own lookups on odd input
        raise BundleRejected([fallback], 422) from None


def _entries(document: Mapping[str, Any]) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    by_type: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, entry in enumerate(document.get("entry") or []):
        resource = (entry or {}).get("resource") or {}
        by_type.setdefault(resource.get("resourceType", "?"), []).append((index, resource))
    return by_type


def parse_referral(
    body: bytes | dict[str, Any],
    identifier_system: str,
    *,
    today: dt.date,
    require_transaction: bool = True,
    limits: InputLimits | None = None,
) -> ReferralRecord:
    """Parse and check a referral Bundle; raise BundleRejected listing every broken rule.

    The limits (:mod:`care_models.fhir.limits`) are checked first, then the structure:
    by the referral profile (:mod:`care_models.fhir.profile`) when the Bundle has its
    shape, else by the fhir.resources models, which name the issues; then that every
    reference resolves inside the Bundle, then our rules.
    """
    record = _parse(body, identifier_system, today, require_transaction, limits, models=True)
    assert record is not None  # with the models, every Bundle gets a verdict
    return record


def parse_profiled_referral(
    body: bytes, identifier_system: str, *, today: dt.date, limits: InputLimits | None = None
) -> ReferralRecord | None:
    """:func:`parse_referral` without the fhir.resources models: None for a Bundle
    outside the referral profile, which only they can decide. What it answers is what
    parse_referral answers; it just never takes their milliseconds (the API calls it
    on its event loop, and sends a None to its validation pool)."""
    return _parse(body, identifier_system, today, True, limits, models=False)


def _parse(
    body: bytes | dict[str, Any],
    identifier_system: str,
    today: dt.date,
    require_transaction: bool,
    limits: InputLimits | None,
    *,
    models: bool,
) -> ReferralRecord | None:
    limits = limits or InputLimits()
    bundle: profile.Bundle | None = None
    quick = screened(body, limits) if isinstance(body, bytes) else None
    if quick is not None:  # within the limits, as the profile's shape shows
        document, bundle = quick
    elif isinstance(body, bytes):
        document = decode_json(body, limits)
    else:
        document = body
        check_values(document, limits)
    if document.get("resourceType") != "Bundle":
        raise BundleRejected([Issue("structure", "Bundle.resourceType", "must be 'Bundle'")], 400)
    check = _Checker()
    check.coded(document.get("type"), BUNDLE_TYPES, "Bundle.type")
    if (
        require_transaction
        and document.get("type") in BUNDLE_TYPES
        and document.get("type") != "transaction"
    ):
        check.fail("business-rule", "Bundle.type", "a referral must be a 'transaction' Bundle")
    if check.issues:
        raise BundleRejected(check.issues)
    if bundle is None:
        bundle = profile.profiled(document)  # it accepts only what fhir.resources accepts
    if bundle is None:
        if not models:
            return None
        _validate_models(document)
    references = profile.references(bundle) if bundle is not None else None
    unresolved = check_references(document, references)
    if unresolved:
        raise BundleRejected(unresolved)
    record = _extract(document, identifier_system, today, check)
    if check.issues or record is None:
        raise BundleRejected(check.issues)
    return record


def _one(
    check: _Checker, entries: dict[str, list[tuple[int, dict[str, Any]]]], resource_type: str
) -> tuple[int, dict[str, Any]] | None:
    found = entries.get(resource_type) or []
    if len(found) != 1:
        check.fail(
            "required" if not found else "business-rule",
            f"Bundle.entry.ofType({resource_type})",
            f"exactly one {resource_type} is required, found {len(found)}",
        )
        return None
    return found[0]


def _extract(
    document: dict[str, Any], identifier_system: str, today: dt.date, check: _Checker
) -> ReferralRecord | None:
    entries = _entries(document)
    found = {t: _one(check, entries, t) for t in REQUIRED_ONE}
    if not entries.get("Condition"):
        check.fail(
            "required", "Bundle.entry.ofType(Condition)", "at least one Condition is required"
        )
    if any(v is None for v in found.values()):
        return None
    (p_i, patient), (e_i, encounter) = found["Patient"], found["Encounter"]  # type: ignore[misc]
    (s_i, request), (t_i, task) = found["ServiceRequest"], found["Task"]  # type: ignore[misc]
    person, sex = _patient(check, p_i, patient, today)
    admission, discharge, discharged = _encounter(check, e_i, encounter, today)
    identifier = _service_request(check, s_i, request, identifier_system)
    _task(check, t_i, task)
    for index, condition in entries.get("Condition", []):
        base = f"Bundle.entry[{index}].resource"
        if not _reference_id(condition.get("subject")):
            check.fail("required", f"{base}.subject", "Condition.subject is required")
        status = _codes(
            [condition.get("clinicalStatus") or {}],
            "http://terminology.hl7.org/CodeSystem/condition-clinical",
        )
        for code in status:
            check.coded(code, CONDITION_CLINICAL, f"{base}.clinicalStatus")
    if (
        check.issues
        or person is None
        or admission is None
        or discharge is None
        or identifier is None
    ):
        return None
    request_entry = document["entry"][s_i]
    return ReferralRecord(
        identifier_system=identifier[0],
        identifier_value=identifier[1],
        person=person,
        sex=sex,
        admission_date=admission,
        discharge_date=discharge,
        discharged=discharged,
        needs=sorted(
            set(
                _codes(request.get("category"), NEED_SYSTEM)
                + _codes([request.get("code") or {}], NEED_SYSTEM)
            )
        ),
        adl_difficulties=_adl(entries),
        household_size=_household_size(entries),
        conditions=[
            c
            for _, cond in entries.get("Condition", [])
            for c in _codes([cond.get("code") or {}], "http://hl7.org/fhir/sid/icd-10")
        ],
        if_none_exist=((request_entry.get("request") or {}).get("ifNoneExist")),
    )


def _patient(
    check: _Checker, index: int, patient: dict[str, Any], today: dt.date
) -> tuple[PersonalFields | None, str]:
    base = f"Bundle.entry[{index}].resource"
    gender = patient.get("gender")
    check.coded(gender, GENDERS, f"{base}.gender")
    birth = _date(patient.get("birthDate"))
    if birth is None:
        check.fail("required", f"{base}.birthDate", "birthDate is required (YYYY-MM-DD)")
    elif birth >= today:
        check.fail("value", f"{base}.birthDate", "birthDate must be in the past")
    names = patient.get("name") or []
    name = (
        (
            names[0].get("text")
            or "".join([names[0].get("family") or "", *(names[0].get("given") or [])])
        )
        if names
        else ""
    )
    if not name.strip():
        check.fail("required", f"{base}.name", "a name is required")
    phones = [t.get("value") for t in patient.get("telecom") or [] if t.get("system") == "phone"]
    addresses = patient.get("address") or []
    address = (
        (addresses[0].get("text") or " ".join(addresses[0].get("line") or [])) if addresses else ""
    )
    if not address.strip():
        check.fail("required", f"{base}.address", "an address is required to visit at home")
    rrns = [
        i.get("value")
        for i in patient.get("identifier") or []
        if i.get("system") == RRN_SYSTEM and i.get("value")
    ]
    if birth is None or not name.strip() or not address.strip():
        return None, gender or "unknown"
    return PersonalFields(
        name=name.strip(),
        birth_date=birth,
        address=address.strip(),
        phone=phones[0] if phones else None,
        rrn=rrns[0] if rrns else None,
    ), gender or "unknown"


def _encounter(
    check: _Checker, index: int, encounter: dict[str, Any], today: dt.date
) -> tuple[dt.date | None, dt.date | None, bool]:
    base = f"Bundle.entry[{index}].resource"
    status = encounter.get("status")
    check.coded(status, ENCOUNTER_STATUSES, f"{base}.status")
    if not _reference_id(encounter.get("subject")):
        check.fail("required", f"{base}.subject", "Encounter.subject is required")
    period = encounter.get("period") or {}
    admission, discharge = _date(period.get("start")), _date(period.get("end"))
    if admission is None:
        check.fail("required", f"{base}.period.start", "the admission date is required")
    if discharge is None:
        check.fail(
            "required", f"{base}.period.end", "the planned or actual discharge date is required"
        )
    if admission and discharge and discharge < admission:
        check.fail("value", f"{base}.period.end", "discharge must not be before admission")
    if discharge and discharge > today + dt.timedelta(days=MAX_DISCHARGE_AHEAD_DAYS):
        check.fail(
            "value",
            f"{base}.period.end",
            f"discharge must be at most {MAX_DISCHARGE_AHEAD_DAYS} days ahead",
        )
    if admission and admission > today:
        check.fail("value", f"{base}.period.start", "admission must not be in the future")
    return admission, discharge, status == "finished"


def _service_request(
    check: _Checker, index: int, request: dict[str, Any], identifier_system: str
) -> tuple[str, str] | None:
    base = f"Bundle.entry[{index}].resource"
    check.coded(request.get("status"), REQUEST_STATUSES, f"{base}.status")
    check.coded(request.get("intent"), REQUEST_INTENTS, f"{base}.intent")
    if not _reference_id(request.get("subject")):
        check.fail("required", f"{base}.subject", "ServiceRequest.subject is required")
    identifiers = [i for i in request.get("identifier") or [] if i.get("value")]
    if not identifiers:
        check.fail(
            "required",
            f"{base}.identifier",
            "the hospital's referral identifier (system and value) is required",
        )
        return None
    own = [i for i in identifiers if i.get("system") == identifier_system]
    if not own:
        check.fail(
            "security",
            f"{base}.identifier.system",
            f"identifier system must be the submitting hospital's ({identifier_system})",
        )
        return None
    for code in _codes(request.get("category"), NEED_SYSTEM):
        if code not in NEED_CODES:
            check.fail(
                "code-invalid",
                f"{base}.category",
                f"is not a known need (one of {', '.join(NEED_CODES)})",
            )
    return identifier_system, str(own[0]["value"])


def _task(check: _Checker, index: int, task: dict[str, Any]) -> None:
    base = f"Bundle.entry[{index}].resource"
    check.coded(task.get("status"), TASK_STATUSES, f"{base}.status")
    check.coded(task.get("intent"), TASK_INTENTS, f"{base}.intent")


def _adl(entries: dict[str, list[tuple[int, dict[str, Any]]]]) -> list[str]:
    found: set[str] = set()
    for _, observation in entries.get("Observation", []):
        if ADL_OBSERVATION_CODE in _codes([observation.get("code") or {}], ADL_SYSTEM):
            for component in observation.get("component") or []:
                for code in _codes([component.get("code") or {}], ADL_SYSTEM):
                    if code in ADL_ACTIVITIES and component.get("valueBoolean") is True:
                        found.add(code)
    for _, response in entries.get("QuestionnaireResponse", []):
        for item in response.get("item") or []:
            answers = item.get("answer") or []
            if item.get("linkId") in ADL_ACTIVITIES and any(
                a.get("valueBoolean") is True for a in answers
            ):
                found.add(item["linkId"])
    return sorted(found)


def _household_size(entries: dict[str, list[tuple[int, dict[str, Any]]]]) -> int | None:
    for _, observation in entries.get("Observation", []):
        if LIVING_SITUATION_LOINC in _codes([observation.get("code") or {}], LOINC):
            value = observation.get("valueInteger")
            return int(value) if isinstance(value, int) else None
    return None


# -- answers ---------------------------------------------------------------------------------


def operation_outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": i.severity,
                "code": i.code,
                "expression": [i.expression],
                "diagnostics": i.diagnostics,
            }
            for i in issues
        ],
    }
