"""Synthetic discharge referral Bundles, in the shapes the county's 8 partner hospitals send.

Used by the demo, the tests, the FHIR server simulator and the intake benchmark.
Each hospital has its own shape: some send ADL difficulties as an Observation,
some as a QuestionnaireResponse, some a living-situation Observation, some only
the required resources. People are either clients the county already knows (so
matching is exercised) or new residents of its towns.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from typing import Any

from care_models.fhir.bundle import (
    ADL_ACTIVITIES,
    ADL_OBSERVATION_CODE,
    ADL_SYSTEM,
    LIVING_SITUATION_LOINC,
    LOINC,
    NEED_SYSTEM,
    RRN_SYSTEM,
)
from care_models.privacy import PersonalFields
from care_models.synthetic.county import (
    COUNTY,
    FEMALE_NAMES,
    HOSPITALS,
    MALE_NAMES,
    PROVINCE,
    SURNAMES,
    TOWNS,
    County,
    _phone,
    _rrn,
    _weighted,
)

SHAPES = ("adl-observation", "questionnaire", "minimal", "multi-condition")
CONDITIONS = (
    ("I63.9", "뇌경색"),
    ("S72.0", "대퇴골 경부 골절"),
    ("J18.9", "폐렴"),
    ("E11.9", "제2형 당뇨병"),
    ("I50.9", "심부전"),
    ("F03", "치매"),
    ("M17.9", "무릎 관절증"),
    ("N18.9", "만성 신장병"),
)
NEED_SETS = (
    ("home_medical", "nursing"),
    ("long_term_care", "daily_care"),
    ("daily_care", "meals"),
    ("rehabilitation", "nursing"),
    ("housing", "safety"),
    ("home_medical", "long_term_care", "daily_care"),
    ("nursing",),
)


def hospital_shape(hospital_code: str) -> str:
    codes = [h[0] for h in HOSPITALS]
    return SHAPES[codes.index(hospital_code) % len(SHAPES)]


def identifier_system(hospital_code: str) -> str:
    return f"urn:care:hospital:{hospital_code.lower()}:referral"


@dataclass(frozen=True)
class ReferralSpec:
    hospital_code: str
    number: str
    person: PersonalFields
    sex: str
    admission: dt.date
    discharge: dt.date
    discharged: bool
    needs: tuple[str, ...]
    adl: tuple[str, ...]
    household_size: int | None
    conditions: tuple[tuple[str, str], ...]


def _ref(kind: str, ids: dict[str, str]) -> dict[str, str]:
    return {"reference": ids[kind]}


def build_bundle(spec: ReferralSpec, shape: str | None = None) -> dict[str, Any]:
    """A FHIR R4 transaction Bundle for one referral."""
    shape = shape or hospital_shape(spec.hospital_code)
    system = identifier_system(spec.hospital_code)
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"{system}|{spec.number}")
    ids = {
        k: f"urn:uuid:{uuid.uuid5(namespace, k)}"
        for k in (
            "Patient",
            "Encounter",
            "ServiceRequest",
            "Task",
            "Observation",
            "Living",
            "QuestionnaireResponse",
            *(f"Condition{i}" for i in range(4)),
        )
    }
    person = spec.person
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [{"text": person.name, "family": person.name[0], "given": [person.name[1:]]}],
        "gender": spec.sex,
        "birthDate": person.birth_date.isoformat(),
        "address": [{"text": person.address, "country": "KR"}],
    }
    if person.rrn:
        patient["identifier"] = [{"system": RRN_SYSTEM, "value": person.rrn}]
    if person.phone:
        patient["telecom"] = [{"system": "phone", "value": person.phone}]
    resources: list[tuple[str, dict[str, Any]]] = [("Patient", patient)]
    resources.append(
        (
            "Encounter",
            {
                "resourceType": "Encounter",
                "status": "finished" if spec.discharged else "in-progress",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "IMP",
                },
                "subject": _ref("Patient", ids),
                "period": {"start": spec.admission.isoformat(), "end": spec.discharge.isoformat()},
            },
        )
    )
    conditions = spec.conditions if shape == "multi-condition" else spec.conditions[:1]
    for i, (code, display) in enumerate(conditions):
        resources.append(
            (
                f"Condition{i}",
                {
                    "resourceType": "Condition",
                    "subject": _ref("Patient", ids),
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                "code": "active",
                            }
                        ]
                    },
                    "code": {
                        "coding": [
                            {
                                "system": "http://hl7.org/fhir/sid/icd-10",
                                "code": code,
                                "display": display,
                            }
                        ]
                    },
                },
            )
        )
    resources.append(
        (
            "ServiceRequest",
            {
                "resourceType": "ServiceRequest",
                "status": "active",
                "intent": "order",
                "identifier": [{"system": system, "value": spec.number}],
                "category": [{"coding": [{"system": NEED_SYSTEM, "code": n}]} for n in spec.needs],
                "code": {"text": "퇴원환자 지역사회 연계의뢰"},
                "subject": _ref("Patient", ids),
                "encounter": _ref("Encounter", ids),
                "authoredOn": spec.admission.isoformat(),
            },
        )
    )
    if shape in ("adl-observation", "multi-condition"):
        resources.append(
            (
                "Observation",
                {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": ADL_SYSTEM, "code": ADL_OBSERVATION_CODE}]},
                    "subject": _ref("Patient", ids),
                    "component": [
                        {
                            "code": {"coding": [{"system": ADL_SYSTEM, "code": a}]},
                            "valueBoolean": a in spec.adl,
                        }
                        for a in ADL_ACTIVITIES
                    ],
                },
            )
        )
    if shape == "questionnaire":
        resources.append(
            (
                "QuestionnaireResponse",
                {
                    "resourceType": "QuestionnaireResponse",
                    "status": "completed",
                    "subject": _ref("Patient", ids),
                    "item": [
                        {"linkId": a, "answer": [{"valueBoolean": a in spec.adl}]}
                        for a in ADL_ACTIVITIES
                    ],
                },
            )
        )
    if shape != "minimal" and spec.household_size is not None:
        resources.append(
            (
                "Living",
                {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": LOINC, "code": LIVING_SITUATION_LOINC}]},
                    "subject": _ref("Patient", ids),
                    "valueInteger": spec.household_size,
                },
            )
        )
    resources.append(
        (
            "Task",
            {
                "resourceType": "Task",
                "status": "requested",
                "intent": "order",
                "identifier": [{"system": system, "value": spec.number}],
                "focus": _ref("ServiceRequest", ids),
                "for": _ref("Patient", ids),
                "description": "퇴원 후 지역사회 통합돌봄 연계 요청",
            },
        )
    )
    entries = []
    for key, resource in resources:
        request: dict[str, Any] = {"method": "POST", "url": resource["resourceType"]}
        if resource["resourceType"] == "ServiceRequest":
            request["ifNoneExist"] = f"identifier={system}|{spec.number}"
        entries.append({"fullUrl": ids[key], "resource": resource, "request": request})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _new_person(rng: random.Random) -> tuple[PersonalFields, str]:
    town = rng.choice(TOWNS)
    sex = "female" if rng.random() < 0.6 else "male"
    birth = dt.date(rng.randint(1930, 1958), rng.randint(1, 12), rng.randint(1, 28))
    name = _weighted(rng, SURNAMES) + rng.choice(FEMALE_NAMES if sex == "female" else MALE_NAMES)
    address = f"{PROVINCE} {COUNTY} {town.name} {rng.choice(town.villages)} {rng.randint(1, 999)}"
    return PersonalFields(
        name=name,
        birth_date=birth,
        address=address,
        phone=_phone(rng),
        rrn=_rrn(rng, birth, sex) if rng.random() < 0.8 else None,
    ), sex


def referral_specs(
    county: County, count: int, *, today: dt.date, seed: int = 7, known_share: float = 0.3
) -> list[ReferralSpec]:
    """``count`` valid referrals spread over the 8 hospitals; some for known clients."""
    rng = random.Random(seed)
    specs = []
    for n in range(count):
        hospital = HOSPITALS[n % len(HOSPITALS)][0]
        if rng.random() < known_share:
            client = rng.choice(county.clients)
            person, sex = client.person, client.sex
            if rng.random() < 0.5:  # sent without the registration number
                person = PersonalFields(
                    person.name, person.birth_date, person.address, person.phone, None
                )
        else:
            person, sex = _new_person(rng)
        admission = today - dt.timedelta(days=rng.randint(5, 40))
        discharged = rng.random() < 0.5
        discharge = (
            today - dt.timedelta(days=rng.choice((0, 0, 1, 1, 2, 5)))
            if discharged
            else today + dt.timedelta(days=rng.randint(1, 10))
        )
        specs.append(
            ReferralSpec(
                hospital_code=hospital,
                number=f"{hospital}-R{today:%y%m}{seed % 1000:03d}{n + 1:05d}",
                person=person,
                sex=sex,
                admission=admission,
                discharge=discharge,
                discharged=discharged,
                needs=rng.choice(NEED_SETS),
                adl=tuple(sorted(rng.sample(ADL_ACTIVITIES, k=rng.choice((0, 1, 2, 3))))),
                household_size=rng.choice((1, 1, 1, 2, 2, 3)),
                conditions=tuple(rng.sample(CONDITIONS, k=3)),
            )
        )
    return specs
