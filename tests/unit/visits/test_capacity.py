"""Capacity behind a plan: hours demanded, planned, available and short."""

from __future__ import annotations

import datetime as dt

from care_models.visits.capacity import CapacityReport, capacity, capacity_csv
from care_models.visits.model import Coordinator, DueContact, Place, Plan, PlannedStop, Unplanned

MONDAY = dt.date(2026, 12, 7)
HOME = Place(36.85, 127.44)


def nurse(code: str, town: str = "JC-01") -> Coordinator:
    return Coordinator(
        1, code, "nurse", frozenset({"nurse"}), town, HOME,
        dt.time(9), dt.time(18), dt.time(12), dt.time(13), 6,
    )  # fmt: skip


def contact(n: int, *, mode: str = "visit", due_by: dt.date | None = None) -> DueContact:
    return DueContact(
        f"C{n:03d}:home_nursing:{mode}:w", n, f"C{n:03d}", "JC-01", HOME, "home_nursing",
        mode, "nurse", 60, MONDAY, MONDAY + dt.timedelta(days=4), "routine", due_by=due_by,
    )  # fmt: skip


def stop(c: DueContact, day: dt.date, sequence: int) -> PlannedStop:
    return PlannedStop(
        c.key, c.client_id, c.client_code, "N1", day, dt.time(9 + sequence), 60, sequence,
        20, 5.0, c.service_type, c.mode, c.purpose,
    )  # fmt: skip


def test_the_hours_short_are_the_unplanned_contacts_with_the_towns_travel() -> None:
    contacts = [contact(n) for n in range(10)] + [
        contact(90, due_by=MONDAY + dt.timedelta(days=30)),  # deferrable, not placed
        contact(91, mode="phone"),
    ]
    placed = contacts[:6]
    plan = Plan(
        MONDAY,
        MONDAY + dt.timedelta(days=4),
        [stop(c, MONDAY + dt.timedelta(days=i % 3), i + 1) for i, c in enumerate(placed)],
        [
            Unplanned(c.key, c.client_code, c.service_type, "every day is full")
            for c in contacts[6:]
        ],
    )
    (line,) = capacity(plan, contacts, [nurse("N1")])
    assert (line.town, line.skill, line.week) == ("JC-01", "nurse", MONDAY)
    assert line.planned_min == 6 * 80  # visit and travel
    # four visits with the town's mean travel (20) and a call without travel; the
    # deferrable contact belongs to the next plan
    assert line.short_min == 4 * 80 + 60 and line.unplanned == 5
    assert line.demanded_min == line.planned_min + line.short_min
    assert line.available_min == 5 * 8 * 60  # five days, 09-18 less lunch
    assert line.coordinator_week_min == 5 * 8 * 60 and line.coordinators == 1
    assert line.shortfall_hours == 6.3
    csv = capacity_csv(CapacityReport((line,))).decode("utf-8-sig")
    assert "JC-01,nurse,2026-12-07,860,480,2400,380,5,1" in csv


def test_a_day_off_is_not_available_and_two_towns_stay_apart() -> None:
    off = nurse("N1")
    off = Coordinator(**{**off.__dict__, "days_off": frozenset({MONDAY})})
    far = nurse("N2", town="JC-02")
    plan = Plan(MONDAY, MONDAY + dt.timedelta(days=4), [], [])
    lines = {(x.town, x.skill): x for x in capacity(plan, [contact(1)], [off, far])}
    assert lines[("JC-01", "nurse")].available_min == 4 * 8 * 60
    assert lines[("JC-01", "nurse")].short_min == 0  # placed nowhere, but not unplanned yet
    assert ("JC-02", "nurse") not in lines  # no demand there, no line
