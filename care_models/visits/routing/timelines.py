"""Time arithmetic of one coordinator's day: contacts as tasks, exact schedules, calls.

A day is in minutes after midnight; :func:`_schedule` places tasks in order, keeps
lunch free and makes calls where the coordinator is (see its docstring).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from care_models.visits.model import Coordinator, DueContact, Place
from care_models.visits.travel import TravelModel

# Prizes in metres of driving: what serving a contact is worth to the router. Every
# prize exceeds any detour in a county, so a contact is only left out when it cannot
# fit; when a day is over-full, booked then urgent contacts are kept first.
PRIZE_BOOKED = 100_000_000
PRIZE_BY_PRIORITY = {1: 20_000_000, 2: 5_000_000}
PRIZE_ROUTINE = 1_000_000
URGENT_PRIORITY = 1  # first assessments after discharge, day-2 visits after an alert


def _minute(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _clock(minute: int) -> dt.time:
    return dt.time(minute // 60, minute % 60)


def _lunch(coord: Coordinator) -> tuple[int, int] | None:
    if coord.lunch_start is None or coord.lunch_end is None:
        return None
    start, end = _minute(coord.lunch_start), _minute(coord.lunch_end)
    return (start, end) if start < end else None


def _free_minutes(coord: Coordinator) -> int:
    lunch = _lunch(coord)
    return (
        _minute(coord.work_end) - _minute(coord.work_start) - (lunch[1] - lunch[0] if lunch else 0)
    )


class _Trips:
    """Cached (minutes, km) legs of a travel model."""

    def __init__(self, travel: TravelModel) -> None:
        self.travel = travel
        self._cache: dict[tuple[Place, Place], tuple[int, float]] = {}

    def leg(self, a: Place, b: Place) -> tuple[int, float]:
        if a == b:
            return 0, 0.0
        hit = self._cache.get((a, b))
        if hit is None:
            hit = (int(self.travel.minutes(a, b)), float(self.travel.km(a, b)))
            self._cache[(a, b)] = hit
        return hit


@dataclass(eq=False)
class _Task:
    contact: DueContact
    order: int
    pinned: tuple[str, dt.date] | None = None  # a stop of an unaffected route stays there
    original: int | None = None  # its start minute before the replan
    key: str = field(init=False)
    phone: bool = field(init=False)
    fixed: bool = field(init=False)
    duration: int = field(init=False)
    _ranges: dict[str, tuple[tuple[int, int], ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.key = self.contact.key
        self.phone = self.contact.mode == "phone"
        self.fixed = self.contact.fixed_visit_id is not None
        self.duration = max(1, int(self.contact.duration_min))
        self._ranges = {}

    @property
    def prize(self) -> int:
        if self.fixed or self.pinned is not None:
            return PRIZE_BOOKED
        return PRIZE_BY_PRIORITY.get(self.contact.priority, PRIZE_ROUTINE)

    def place(self, coord: Coordinator) -> Place:
        return coord.office if self.phone else self.contact.place

    def ranges(self, coord: Coordinator) -> tuple[tuple[int, int], ...]:
        """Allowed start minutes (earliest, latest) with coordinator ``coord``.

        The whole contact lies inside the client's window and working hours, and
        either ends by lunch or starts after it.
        """
        hit = self._ranges.get(coord.code)
        if hit is None:
            hit = self._ranges[coord.code] = self._compute_ranges(coord)
        return hit

    def _compute_ranges(self, coord: Coordinator) -> tuple[tuple[int, int], ...]:
        c = self.contact
        lo = _minute(coord.work_start)
        end = _minute(coord.work_end)
        if c.window_start is not None:
            lo = max(lo, _minute(c.window_start))
        if c.window_end is not None:
            end = min(end, _minute(c.window_end))
        lunch = _lunch(coord)
        parts = (
            [(lo, end - self.duration)]
            if lunch is None
            else [
                (lo, min(end, lunch[0]) - self.duration),
                (max(lo, lunch[1]), end - self.duration),
            ]
        )
        return tuple(p for p in parts if p[0] <= p[1])

    def sort_key(self) -> tuple[int, int, dt.date, dt.date, str]:
        return (
            0 if self.fixed or self.pinned else 1,
            self.contact.priority,
            self.contact.latest,
            self.contact.earliest,
            self.key,
        )


@dataclass(frozen=True)
class _Timed:
    starts: tuple[int, ...]
    legs: tuple[tuple[int, float], ...]
    back: tuple[int, float]
    end: int = 0  # back at the office and done

    @property
    def km(self) -> float:
        return sum(k for _, k in self.legs) + self.back[1]


def _clear_lunch(t: int, span: int, lunch: tuple[int, int] | None) -> int:
    """Departure time for ``span`` minutes of travel from ``t`` that do not overlap lunch."""
    if lunch is None or span <= 0:
        return t
    if t < lunch[1] and t + span > lunch[0]:
        return lunch[1]
    return t


def _schedule(
    coord: Coordinator, tasks: Sequence[_Task], trips: _Trips
) -> tuple[_Timed | None, int]:
    """The exact, earliest schedule of ``tasks`` in order, or (None, first failing index).

    Nothing overlaps lunch: a leg that would is driven after it; a contact that would
    waits for it. A call needs no travel: it is made where the coordinator is (at the
    office before the first visit, between visits at the last home) and, after the
    last visit, at the office once back (the drive back is the route's return leg).
    The failing index is ``len(tasks)`` when the day ends too late.
    """
    lunch = _lunch(coord)
    t, at = _minute(coord.work_start), coord.office
    last_visit = max((i for i, task in enumerate(tasks) if not task.phone), default=-1)
    back: tuple[int, float] | None = None
    starts: list[int] = []
    legs: list[tuple[int, float]] = []
    for i, task in enumerate(tasks):
        if task.phone:
            minutes, km = 0, 0.0
            if i > last_visit and back is None:  # drive back first, then call
                back = trips.leg(at, coord.office)
                t = _clear_lunch(t, back[0], lunch) + back[0]
                at = coord.office
            arrive = t
        else:
            place = task.contact.place
            minutes, km = trips.leg(at, place)
            arrive = _clear_lunch(t, minutes, lunch) + minutes
            at = place
        start = next(
            (max(arrive, lo) for lo, hi in task.ranges(coord) if max(arrive, lo) <= hi), None
        )
        if start is None:
            return None, i
        starts.append(start)
        legs.append((minutes, km))
        t = start + task.duration
    if back is None:
        back = trips.leg(at, coord.office)
        t = _clear_lunch(t, back[0], lunch) + back[0]
    if t > _minute(coord.work_end):
        return None, len(tasks)
    return _Timed(tuple(starts), tuple(legs), back, t), -1


@dataclass(eq=False)
class _Route:
    coord: Coordinator
    day: dt.date
    tasks: list[_Task] = field(default_factory=list)
    timed: _Timed | None = None

    @property
    def visits(self) -> int:
        return sum(1 for t in self.tasks if not t.phone)


@dataclass
class _Load:
    visits: int = 0
    minutes: int = 0


def _deferral(c: DueContact) -> str:
    """What an unplanned contact's reason adds when it is due only after the horizon."""
    return f"; due by {c.due_by}: deferred to the next plan" if c.deferrable else ""


def _window_text(c: DueContact) -> str:
    start = c.window_start.strftime("%H:%M") if c.window_start else "start of day"
    end = c.window_end.strftime("%H:%M") if c.window_end else "end of day"
    return f"{start}-{end}"
