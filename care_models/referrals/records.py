"""A referral's record: what the county took from its Bundle, stored once, read many times.

The Bundle is parsed and checked once, at the boundary (the API's POST, a hospital
pull). What the county takes from it (:class:`ReferralRecord`, with the person's
personal fields) is stored beside the raw Bundle, encrypted under its own field
name, so the intake gate and intake read a small JSON document instead of parsing
the FHIR Bundle again: parsing is most of what a referral costs, and doing it three
times made intake 20 to 30 times slower than parsing (see ``bench/intake.py``).

A referral stored before the record existed (or whose record the retention job
emptied) is parsed from its raw Bundle as before: :func:`read_record` does either.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from care_models.fhir.bundle import ReferralRecord, parse_referral
from care_models.privacy import PersonalFields, Vault
from care_models.schema import Referral

RECORD_FIELD = "referrals.record"
RAW_FIELD = "referrals.raw_payload"
RECORD_VERSION = 1


def encode_record(vault: Vault, record: ReferralRecord) -> str:
    """The record as an encrypted JSON document (the ``record_enc`` column)."""
    person = record.person
    document: dict[str, Any] = {
        "v": RECORD_VERSION,
        "identifier_system": record.identifier_system,
        "identifier_value": record.identifier_value,
        "person": {
            "name": person.name,
            "birth_date": person.birth_date.isoformat(),
            "address": person.address,
            "phone": person.phone,
            "rrn": person.rrn,
        },
        "sex": record.sex,
        "admission_date": record.admission_date.isoformat(),
        "discharge_date": record.discharge_date.isoformat(),
        "discharged": record.discharged,
        "needs": record.needs,
        "adl_difficulties": record.adl_difficulties,
        "household_size": record.household_size,
        "conditions": record.conditions,
        "if_none_exist": record.if_none_exist,
    }
    return vault.encrypt(json.dumps(document, ensure_ascii=False), RECORD_FIELD)


def decode_record(vault: Vault, token: str) -> ReferralRecord:
    """The record back from :func:`encode_record` (DecryptionError when it does not open)."""
    document = json.loads(vault.decrypt(token, RECORD_FIELD))
    if document.get("v") != RECORD_VERSION:
        raise ValueError("referrals.record: unknown record version")
    person = document["person"]
    return ReferralRecord(
        identifier_system=document["identifier_system"],
        identifier_value=document["identifier_value"],
        person=PersonalFields(
            name=person["name"],
            birth_date=dt.date.fromisoformat(person["birth_date"]),
            address=person["address"],
            phone=person["phone"],
            rrn=person["rrn"],
        ),
        sex=document["sex"],
        admission_date=dt.date.fromisoformat(document["admission_date"]),
        discharge_date=dt.date.fromisoformat(document["discharge_date"]),
        discharged=document["discharged"],
        needs=list(document["needs"]),
        adl_difficulties=list(document["adl_difficulties"]),
        household_size=document["household_size"],
        conditions=list(document["conditions"]),
        if_none_exist=document["if_none_exist"],
    )


def raw_bundle(vault: Vault, referral: Referral) -> bytes:
    return vault.decrypt(referral.raw_payload_enc, RAW_FIELD).encode("utf-8")


def field_read(referral: Referral) -> str:
    """The encrypted field :func:`read_record` reads (for the audit row of that read)."""
    return field_read_of(bool(referral.record_enc))


def field_read_of(has_record: bool) -> str:
    return RECORD_FIELD if has_record else RAW_FIELD


def read_record(
    vault: Vault, referral: Referral, identifier_system: str, today: dt.date
) -> ReferralRecord:
    """The referral's record: stored, or parsed from its raw Bundle (BundleRejected)."""
    if referral.record_enc:
        return decode_record(vault, referral.record_enc)
    # Dates were checked on arrival; re-checking "not too far ahead" against a later day
    # would reject what was accepted, so the received day is the reference.
    received = referral.received_at.date() if referral.received_at else today
    return parse_referral(
        raw_bundle(vault, referral),
        identifier_system,
        today=min(today, received + dt.timedelta(days=1)),
        require_transaction=False,
    )
