"""Korean business days (2026 substitute holidays included) and referral triage rules."""

from __future__ import annotations

import datetime as dt

import pytest

from care_models.fhir.bundle import ReferralRecord
from care_models.privacy import PersonalFields
from care_models.referrals.triage import triage
from care_models.workdays import add_business_days, is_business_day, korean_holidays

D = dt.date


@pytest.mark.parametrize(
    "day",
    [
        D(2026, 3, 2),  # substitute holiday for Independence Movement Day (Sunday)
        D(2026, 5, 25),  # substitute holiday for Buddha's Birthday (Sunday)
        D(2026, 8, 17),  # substitute holiday for Liberation Day (Saturday)
        D(2026, 10, 5),  # substitute holiday for National Foundation Day (Saturday)
        D(2026, 9, 24),
        D(2026, 9, 25),  # Chuseok
        D(2026, 2, 17),  # Seollal
    ],
)
def test_2026_holidays_are_not_business_days(day: dt.date) -> None:
    assert day.weekday() < 5
    assert not is_business_day(day)
    assert day in korean_holidays(2026)


def test_two_business_days_skip_weekends_and_holidays() -> None:
    assert add_business_days(D(2026, 11, 20), 2) == D(2026, 11, 24)  # Friday -> Tuesday
    assert add_business_days(D(2026, 9, 23), 1) == D(2026, 9, 28)  # over Chuseok
    assert add_business_days(D(2026, 2, 27), 1) == D(2026, 3, 3)  # over 3-1 and its substitute


def _record(age: int, household: int | None, needs: list[str], adl: list[str]) -> ReferralRecord:
    person = PersonalFields("김순자", D(2026 - age, 1, 1), "충청북도 진천군 진천읍 읍내리 1")
    return ReferralRecord(
        "urn:x",
        "1",
        person,
        "female",
        D(2026, 11, 1),
        D(2026, 11, 20),
        True,
        needs=needs,
        adl_difficulties=adl,
        household_size=household,
    )


def test_priority_1_is_an_older_person_living_alone_needing_care() -> None:
    result = triage(_record(80, 1, ["home_medical"], []), D(2026, 11, 23))
    assert result.priority == 1 and "독거" in result.reason


def test_priority_2_is_two_or_more_adl_difficulties() -> None:
    assert triage(_record(80, 2, ["nursing"], ["eating", "walking"]), D(2026, 11, 23)).priority == 2
    assert (
        triage(_record(50, 1, ["home_medical"], ["bathing", "walking"]), D(2026, 11, 23)).priority
        == 2
    )


def test_otherwise_priority_3_with_a_reason() -> None:
    result = triage(_record(70, 1, ["housing"], ["eating"]), D(2026, 11, 23))
    assert result.priority == 3 and result.reason
    assert triage(_record(80, None, ["home_medical"], []), D(2026, 11, 23)).priority == 3
