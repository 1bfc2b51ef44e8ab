"""Capacity behind a plan: hours demanded and available per town, skill and week.

"Every day is full" is a symptom; the team lead needs the number behind it. For each
serving town (the team that would route the contact, as the planner partitions), skill
and week (from Monday) of the horizon:

- **demanded**: the minutes of every due contact that must happen in the horizon (a
  contact deferrable past it is left out), plus, for a home visit, the mean travel to
  a visit of that town's routes in this plan (20 minutes where it has none);
- **planned**: the minutes of the plan's stops, travel included;
- **available**: for each coordinator of the town with the skill and each working day,
  the shift less lunch. A coordinator with two skills counts for both: the figure
  says what the skill could have, not a share;
- **short**: the minutes of the contacts left unplanned: demand the plan could not
  place, whatever the reason.

A planned contact counts in the week of its stop; one left unplanned in the week it is
due by (its latest day, within the horizon).

One more coordinator of a skill adds a coordinator-week of ``available``; one more
working day adds that day. :func:`what_if_one_more` does not stop at the arithmetic:
it solves the town again with one more coordinator of the short skill (a copy of the
team's own, same office, hours and cap) and counts the contacts that then fit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from care_models.visits.model import Coordinator, DueContact, Plan
from care_models.visits.planning import ServingTowns
from care_models.visits.supply import working_days

DEFAULT_TRAVEL_MIN = 20


@dataclass(frozen=True)
class CapacityLine:
    town: str
    skill: str
    week: dt.date  # its Monday
    demanded_min: int
    planned_min: int
    available_min: int
    short_min: int
    unplanned: int
    coordinators: int
    coordinator_week_min: int  # what one more coordinator of the skill would add

    @property
    def shortfall_hours(self) -> float:
        return round(self.short_min / 60, 1)

    @property
    def utilisation(self) -> float | None:
        return round(self.planned_min / self.available_min, 2) if self.available_min else None


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _shift_min(coordinator: Coordinator) -> int:
    def minutes(t: dt.time) -> int:
        return t.hour * 60 + t.minute

    shift = minutes(coordinator.work_end) - minutes(coordinator.work_start)
    if coordinator.lunch_start and coordinator.lunch_end:
        shift -= minutes(coordinator.lunch_end) - minutes(coordinator.lunch_start)
    return max(shift, 0)


def capacity(
    plan: Plan, contacts: Sequence[DueContact], staff: Sequence[Coordinator]
) -> list[CapacityLine]:
    """The capacity lines of the plan's horizon (see the module), shortest first."""
    by_key = {c.key: c for c in contacts}
    serving = ServingTowns(staff)
    town_of = {c.key: serving(c) for c in contacts}
    travel: dict[str, list[int]] = defaultdict(list)
    planned: dict[tuple[str, str, dt.date], int] = defaultdict(int)
    for stop in plan.stops:
        contact = by_key.get(stop.contact_key)
        town = town_of.get(stop.contact_key)
        if contact is None or town is None:
            continue
        if stop.mode != "phone":
            travel[town].append(stop.travel_min)
        planned[(town, contact.skill, _monday(stop.day))] += stop.duration_min + stop.travel_min
    mean_travel = {t: round(sum(v) / len(v)) for t, v in travel.items() if v}
    unplanned_keys = {u.contact_key for u in plan.unplanned}
    stop_of = {s.contact_key: s for s in plan.stops}
    planned_keys = set(stop_of)
    demanded: dict[tuple[str, str, dt.date], int] = defaultdict(int)
    short: dict[tuple[str, str, dt.date], int] = defaultdict(int)
    missing: dict[tuple[str, str, dt.date], int] = defaultdict(int)
    for contact in contacts:
        town = town_of[contact.key]
        if town is None or (contact.deferrable and contact.key not in planned_keys):
            continue  # nobody has the skill (listed apart), or deferred to the next plan
        minutes = contact.duration_min + (
            0 if contact.mode == "phone" else mean_travel.get(town, DEFAULT_TRAVEL_MIN)
        )
        placed = stop_of.get(contact.key)
        week = _monday(placed.day if placed else min(contact.latest, plan.horizon_end))
        demanded[(town, contact.skill, week)] += minutes
        if contact.key in unplanned_keys:
            short[(town, contact.skill, week)] += minutes
            missing[(town, contact.skill, week)] += 1
    days = working_days(plan.horizon_start, plan.horizon_end)
    days_in_week = Counter(_monday(d) for d in days)
    available: dict[tuple[str, str, dt.date], int] = defaultdict(int)
    week_of_one: dict[tuple[str, str, dt.date], int] = defaultdict(int)
    people: dict[tuple[str, str], int] = defaultdict(int)
    for coordinator in staff:
        for skill in coordinator.skills:
            people[(coordinator.town_code, skill)] += 1
            day_min = _shift_min(coordinator)
            for day in days:
                key = (coordinator.town_code, skill, _monday(day))
                if coordinator.works_on(day):
                    available[key] += day_min
                week_of_one[key] = max(week_of_one[key], day_min * days_in_week[key[2]])
    keys = set(demanded) | set(planned)
    lines = [
        CapacityLine(
            town,
            skill,
            week,
            demanded[(town, skill, week)],
            planned[(town, skill, week)],
            available[(town, skill, week)],
            short[(town, skill, week)],
            missing[(town, skill, week)],
            people[(town, skill)],
            week_of_one[(town, skill, week)],
        )
        for town, skill, week in keys
    ]
    return sorted(lines, key=lambda line: (-line.short_min, line.town, line.skill, line.week))


@dataclass(frozen=True)
class WhatIf:
    town: str
    skill: str
    added: str  # the code of the coordinator added
    unplanned_before: int
    unplanned_after: int

    @property
    def covered(self) -> int:
        return self.unplanned_before - self.unplanned_after


def what_if_one_more(
    plan: Plan,
    contacts: Sequence[DueContact],
    staff: Sequence[Coordinator],
    town: str,
    skill: str,
    *,
    travel: Any,
    seconds_per_problem: float,
) -> WhatIf:
    """Solve ``town`` again over the horizon with one more coordinator of ``skill``."""
    from care_models.visits.planning import partitions, team
    from care_models.visits.routing import plan_days

    members = team(staff, town)
    like = next((c for c in members if skill in c.skills), None)
    if like is None:
        raise LookupError(f"town {town} has no coordinator with the skill '{skill}' to copy")
    extra = dataclasses.replace(like, staff_id=-1, code=f"NEW-{skill}", days_off=frozenset())
    towns, _nobody = partitions(contacts, list(staff))
    mine = towns.get(town, [])
    keys = {c.key for c in mine}
    before = sum(
        1 for u in plan.unplanned if u.contact_key in keys and not _deferred(u.contact_key, mine)
    )
    days = working_days(plan.horizon_start, plan.horizon_end)
    solved = plan_days(
        mine, [*members, extra], days, travel=travel, seconds_per_problem=seconds_per_problem
    )
    after = sum(1 for u in solved.unplanned if not _deferred(u.contact_key, mine))
    return WhatIf(town, skill, extra.code, before, after)


def _deferred(key: str, contacts: Sequence[DueContact]) -> bool:
    return any(c.key == key and c.deferrable for c in contacts)


@dataclass(frozen=True)
class CapacityReport:
    lines: tuple[CapacityLine, ...]
    what_if: WhatIf | None = None

    @property
    def short(self) -> tuple[CapacityLine, ...]:
        return tuple(line for line in self.lines if line.short_min)

    def summary(self) -> dict[str, Any]:
        """XCom-safe: codes and figures only."""
        return {
            "short": [
                {
                    "town": line.town,
                    "skill": line.skill,
                    "week": line.week.isoformat(),
                    "short_hours": line.shortfall_hours,
                    "unplanned": line.unplanned,
                    "one_more_adds_hours": round(line.coordinator_week_min / 60, 1),
                }
                for line in self.short
            ],
            "what_if": None
            if self.what_if is None
            else {
                "town": self.what_if.town,
                "skill": self.what_if.skill,
                "unplanned_before": self.what_if.unplanned_before,
                "unplanned_after": self.what_if.unplanned_after,
            },
        }


def capacity_report(
    plan: Plan,
    contacts: Sequence[DueContact],
    staff: Sequence[Coordinator],
    *,
    travel: Any,
    seconds_per_problem: float,
) -> CapacityReport:
    """The lines, and the what-if solve for the shortest town and skill (if any)."""
    lines = tuple(capacity(plan, contacts, staff))
    worst = next((line for line in lines if line.short_min), None)
    if worst is None:
        return CapacityReport(lines)
    what_if = what_if_one_more(
        plan,
        contacts,
        staff,
        worst.town,
        worst.skill,
        travel=travel,
        seconds_per_problem=seconds_per_problem,
    )
    return CapacityReport(lines, what_if)


def capacity_csv(report: CapacityReport) -> bytes:
    from care_models.rendering.tables import excel_csv

    return excel_csv(
        ("읍·면", "직종", "주", "수요(분)", "배정(분)", "가용(분)", "부족(분)", "미배정", "인원"),
        (
            (
                line.town,
                line.skill,
                line.week.isoformat(),
                line.demanded_min,
                line.planned_min,
                line.available_min,
                line.short_min,
                line.unplanned,
                line.coordinators,
            )
            for line in report.lines
        ),
    )
