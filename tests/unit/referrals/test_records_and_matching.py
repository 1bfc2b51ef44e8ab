"""A referral's stored record comes back as it went in, opens only as a record, and the
matching rule decides from the clients each keyed hash found."""

from __future__ import annotations

import datetime as dt

import pytest

from care_models.errors import DecryptionError
from care_models.fhir.bundle import ReferralRecord
from care_models.privacy import PersonalFields, Vault, generate_key
from care_models.referrals.matching import Match, decide
from care_models.referrals.records import decode_record, encode_record

VAULT = Vault.from_keys([generate_key()], generate_key(), generate_key())


def _record() -> ReferralRecord:
    person = PersonalFields(
        "김순자", dt.date(1941, 3, 9), "충청북도 진천군 진천읍 읍내리 1", "010-1234-5678", None
    )
    return ReferralRecord(
        "urn:oid:1.2.410.100",
        "R-77",
        person,
        "female",
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 20),
        False,
        needs=["home_medical", "meals"],
        adl_difficulties=["walking"],
        household_size=1,
        conditions=["I63.9"],
        if_none_exist="identifier=urn:oid:1.2.410.100|R-77",
    )


def test_a_record_round_trips_and_is_stored_as_ciphertext() -> None:
    record = _record()
    token = encode_record(VAULT, record)
    assert "김순자" not in token and "010-1234-5678" not in token
    assert decode_record(VAULT, token) == record


def test_a_record_does_not_open_as_another_field_or_with_another_key() -> None:
    token = encode_record(VAULT, _record())
    with pytest.raises(DecryptionError):
        VAULT.decrypt(token, "clients.name")
    other = Vault.from_keys([generate_key()], generate_key(), generate_key())
    with pytest.raises(DecryptionError):
        decode_record(other, token)


def test_the_matching_rule() -> None:
    assert decide(set(), set(), set()) == Match("new")
    assert decide({7}, set(), {7}) == Match("existing", 7)
    assert decide({7}, {7}, {7}) == Match("existing", 7)
    assert decide({7}, {8}, {8}) == Match("review", candidates=(7, 8))  # RRN and phone disagree
    assert decide(set(), {8}, {8, 9}) == Match("existing", 8)
    assert decide(set(), {8, 9}, set()) == Match("review", candidates=(8, 9))
    assert decide(set(), set(), {9}) == Match("review", candidates=(9,))  # another phone
