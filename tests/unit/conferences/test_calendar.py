"""When conferences happen: 2nd and 4th Thursdays, towns' weekdays, holiday moves."""

from __future__ import annotations

import datetime as dt

import pytest

from care_models.conferences.calendar import (
    TownRule,
    conference_slots,
    held_on,
    tier2_rule_dates,
)
from care_models.errors import ValidationError
from care_models.workdays import is_business_day

TOWNS = [
    TownRule("JC-01", "진천읍", 1, dt.time(10)),  # Tuesday
    TownRule("JC-02", "덕산읍", 2, dt.time(15, 30)),  # Wednesday
]


def test_tier2_is_on_the_2nd_and_4th_thursday() -> None:
    assert tier2_rule_dates(dt.date(2026, 12, 1), dt.date(2027, 1, 31)) == [
        dt.date(2026, 12, 10),
        dt.date(2026, 12, 24),
        dt.date(2027, 1, 14),
        dt.date(2027, 1, 28),
    ]


def test_a_conference_on_chuseok_moves_past_the_holidays_and_the_weekend() -> None:
    # 2026-09-24, the 4th Thursday, is the eve of Chuseok (25th), then a weekend
    (slot,) = conference_slots(dt.date(2026, 9, 20), dt.date(2026, 9, 26), [], tier=2)
    assert (slot.rule_date, slot.date, slot.start) == (
        dt.date(2026, 9, 24),
        dt.date(2026, 9, 28),
        dt.time(14),
    )
    assert slot.move_reason == "추석 전날" and slot.slot_key == "t2:2026-09-24"
    assert slot.as_dict()["moved_from"] == "2026-09-24"


def test_the_local_election_day_and_a_county_closure_day_move_tier1() -> None:
    # 2026-06-03 (Wednesday) is the local election day: 덕산읍 meets on Thursday
    slots = conference_slots(dt.date(2026, 6, 1), dt.date(2026, 6, 7), TOWNS, town="JC-02")
    assert [(s.date, s.move_reason) for s in slots] == [(dt.date(2026, 6, 4), "지방선거일")]
    closures = {dt.date(2026, 12, 8): "창립기념일"}
    (moved,) = conference_slots(
        dt.date(2026, 12, 7), dt.date(2026, 12, 13), TOWNS, closures, town="JC-01"
    )
    assert moved.date == dt.date(2026, 12, 9) and "창립기념일" in (moved.move_reason or "")
    assert moved.slot_key == "t1:JC-01:2026-12-08"  # identity from the rule date


def test_every_conference_is_on_a_business_day_and_none_is_lost() -> None:
    slots = conference_slots(dt.date(2026, 1, 1), dt.date(2027, 12, 31), TOWNS)
    assert all(is_business_day(s.date) and s.date >= s.rule_date for s in slots)
    assert len({s.slot_key for s in slots}) == len(slots)
    assert sum(1 for s in slots if s.tier == 2) == 48  # 2 a month for 2 years
    assert sum(1 for s in slots if s.town_code == "JC-01") == 104  # Tuesdays of 2026-2027
    assert [s.start_at for s in slots] == sorted(s.start_at for s in slots)


def test_a_rule_day_that_is_a_business_day_does_not_move() -> None:
    assert held_on(dt.date(2026, 12, 10), {}) == (dt.date(2026, 12, 10), None)


@pytest.mark.parametrize(
    ("start", "end", "tier", "field"),
    [
        (dt.date(2026, 2, 1), dt.date(2026, 1, 1), None, "to"),
        (dt.date(2020, 1, 1), dt.date(2026, 1, 1), None, "to"),
        (dt.date(2026, 1, 1), dt.date(2026, 2, 1), 3, "tier"),
    ],
)
def test_bad_ranges_are_refused_naming_the_field(
    start: dt.date, end: dt.date, tier: int | None, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        conference_slots(start, end, TOWNS, tier=tier)
    assert refused.value.field == field


def test_a_tier2_conference_on_buddhas_birthday_moves_to_the_next_business_day() -> None:
    # 2027-05-13, the 2nd Thursday of May, is Buddha's Birthday
    (slot,) = conference_slots(dt.date(2027, 5, 10), dt.date(2027, 5, 16), [], tier=2)
    assert (slot.rule_date, slot.date) == (dt.date(2027, 5, 13), dt.date(2027, 5, 14))
    assert slot.move_reason is not None and "부처" in slot.move_reason
