"""The planner's state and eligibility: which coordinator may take a contact on which day.

Step 1 of the package docstring; the reasons an unplanned contact is given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from care_models.visits.model import Coordinator, DueContact, PlannedStop, Unplanned
from care_models.visits.routing.timelines import (
    _deferral,
    _Load,
    _minute,
    _Route,
    _Task,
    _Trips,
    _window_text,
)
from care_models.visits.travel import TravelModel


class _State:
    """One planning run's inputs and state; see the package docstring for the steps."""

    def __init__(
        self,
        contacts: Sequence[DueContact],
        coordinators: Sequence[Coordinator],
        days: Iterable[dt.date],
        *,
        travel: TravelModel,
        seconds_per_problem: float,
        seed: int,
        unavailable: Iterable[tuple[str, dt.date]] = (),
        frozen: dict[tuple[str, dt.date], list[PlannedStop]] | None = None,
        frozen_return: dict[tuple[str, dt.date], float] | None = None,
        previous: dict[str, tuple[str, dt.date]] | None = None,
        may_disturb: Iterable[str] = (),
    ) -> None:
        self.days = sorted(set(days))
        self.trips = _Trips(travel)
        self.travel = travel
        self.seconds = max(0.0, seconds_per_problem)
        self.seed = seed
        self.coords = {c.code: c for c in sorted(coordinators, key=lambda c: c.code)}
        blocked = set(unavailable)
        self.frozen = dict(frozen or {})
        self.frozen_return = dict(frozen_return or {})
        self.previous = dict(previous or {})
        self.open_days: dict[str, list[dt.date]] = {
            code: [d for d in self.days if c.works_on(d) and (code, d) not in blocked]
            for code, c in self.coords.items()
        }
        self.by_skill: dict[str, list[Coordinator]] = {}
        for c in self.coords.values():
            for skill in sorted(c.skills):
                self.by_skill.setdefault(skill, []).append(c)
        frozen_keys = {s.contact_key for stops in self.frozen.values() for s in stops}
        unique: dict[str, DueContact] = {}
        for contact in contacts:
            unique.setdefault(contact.key, contact)
        self.contacts = unique
        self.tasks = [
            _Task(c, i) for i, c in enumerate(unique.values()) if c.key not in frozen_keys
        ]
        self.routes: dict[tuple[str, dt.date], _Route] = {}
        self.loads: dict[tuple[str, dt.date], _Load] = {}
        for key, stops in self.frozen.items():
            self.loads[key] = _Load(
                visits=sum(1 for s in stops if s.mode != "phone"),
                minutes=sum(s.duration_min + s.travel_min for s in stops),
            )
        self.unplanned: list[Unplanned] = []
        self.may_disturb: set[str] = set(may_disturb)
        self.overflow: list[_Task] = []
        self.deferred: list[_Task] = []
        self.touched: set[tuple[str, dt.date]] = set()
        self.pair_coord: dict[tuple[str, str], str] = {}
        self.tentative: dict[_Task, tuple[str, dt.date]] = {}

    # -- eligibility ------------------------------------------------------------------

    def fixed_day(self, task: _Task) -> dt.date | None:
        if task.pinned is not None:
            return task.pinned[1]
        if not task.fixed:
            return None
        previous = self.previous.get(task.key)
        c = task.contact
        if previous and c.earliest <= previous[1] <= c.latest:
            return previous[1]
        return c.earliest

    def days_for(self, task: _Task, code: str) -> list[dt.date]:
        if task.pinned is not None:
            return [task.pinned[1]] if task.pinned[0] == code else []
        fixed = self.fixed_day(task)
        c = task.contact
        return [
            d
            for d in self.open_days.get(code, [])
            if (d == fixed if fixed is not None else c.earliest <= d <= c.latest)
            and (code, d) not in self.frozen
            and (code, d) not in self.touched
        ]

    def sealed_days_for(self, task: _Task, code: str) -> list[dt.date]:
        """Days of kept routes (replan), or routes already touched by an insertion."""
        fixed = self.fixed_day(task)
        c = task.contact
        return [
            d
            for d in self.open_days.get(code, [])
            if (d == fixed if fixed is not None else c.earliest <= d <= c.latest)
            and ((code, d) in self.frozen or (code, d) in self.touched)
        ]

    def chain(self, task: _Task, *, booked_only: bool = True) -> Iterable[Coordinator]:
        """Coordinators in order of preference (continuity first); see the docstring.

        A booked visit goes to the coordinator it was booked with when they work that
        day; with ``booked_only=False`` the others follow (when that day is full).
        """
        c = task.contact
        skilled = self.by_skill.get(c.skill, [])
        if task.pinned is not None:
            yield self.coords[task.pinned[0]]
            return
        seen: set[str] = set()
        first = [
            self.previous.get(task.key, ("", None))[0],
            self.pair_coord.get((c.client_code, c.skill), ""),
            c.usual_staff_code or "",
        ]
        if booked_only and task.fixed and c.usual_staff_code in self.coords:
            usual = self.coords[c.usual_staff_code]
            fixed = self.fixed_day(task)
            if c.skill in usual.skills and fixed in self.open_days[usual.code]:
                yield usual
                return
        for code in first:
            if code in self.coords and code not in seen and c.skill in self.coords[code].skills:
                seen.add(code)
                yield self.coords[code]
        for coord in skilled:
            if coord.town_code == c.town_code and coord.code not in seen:
                seen.add(coord.code)
                yield coord
        rest = [coord for coord in skilled if coord.code not in seen]
        rest.sort(key=lambda coord: (self.trips.leg(coord.office, c.place)[1], coord.code))
        yield from rest

    def reachable(self, task: _Task, coord: Coordinator) -> bool:
        """Whether the contact fits a day of ``coord`` alone: out from and back to the office."""
        if task.phone:
            return bool(task.ranges(coord))
        out = self.trips.leg(coord.office, task.contact.place)[0]
        back = self.trips.leg(task.contact.place, coord.office)[0]
        first = _minute(coord.work_start) + out
        last = _minute(coord.work_end) - back - task.duration
        return any(max(first, lo) <= min(hi, last) for lo, hi in task.ranges(coord))

    def reason(self, task: _Task) -> str:
        c = task.contact
        skilled = self.by_skill.get(c.skill, [])
        if not skilled:
            return f"no coordinator has the skill '{c.skill}'"
        fixed = self.fixed_day(task)
        if fixed is not None:
            if fixed not in self.days:
                return f"booked day {fixed} is outside the planning days"
        elif not any(c.earliest <= d <= c.latest for d in self.days):
            return f"window {c.earliest}..{c.latest} is outside the planning days"
        with_days = [
            coord
            for coord in skilled
            if self.days_for(task, coord.code) or self.sealed_days_for(task, coord.code)
        ]
        if not with_days:
            when = f"on {fixed}" if fixed else f"between {c.earliest} and {c.latest}"
            return (
                f"no coordinator with the skill '{c.skill}' works {when} "
                "(leave, holidays or unavailable)"
            )
        if not any(task.ranges(coord) for coord in with_days):
            return (
                f"time window {_window_text(c)} leaves no {task.duration} minutes "
                "within working hours outside lunch"
            )
        if not any(self.reachable(task, coord) for coord in with_days):
            return (
                f"time window {_window_text(c)} cannot be reached: with the drive from and "
                f"back to the office a {task.duration}-minute visit does not fit working hours"
            )
        when = f"on {fixed}" if fixed else f"between {c.earliest} and {c.latest}"
        return f"every day is full {when} for coordinators with the skill '{c.skill}'" + (
            _deferral(c)
        )

    def drop(self, task: _Task, reason: str | None = None) -> None:
        c = task.contact
        self.unplanned.append(
            Unplanned(c.key, c.client_code, c.service_type, reason or self.reason(task))
        )
