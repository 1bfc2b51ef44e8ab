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


_Back = tuple[int, float] | None  # the drive back to the office, once driven


def _step(
    coord: Coordinator,
    task: _Task,
    state: tuple[int, Place, _Back],
    after_last_visit: bool,
    trips: _Trips,
) -> tuple[int, tuple[int, float], tuple[int, Place, _Back]] | None:
    """One task of :func:`_schedule` from ``state`` (clock, place, drive back): its
    start, its leg and the state after it, or None when it cannot start in time."""
    t, at, back = state
    lunch = _lunch(coord)
    if task.phone:
        leg = (0, 0.0)
        if after_last_visit and back is None:  # drive back first, then call
            back = trips.leg(at, coord.office)
            t = _clear_lunch(t, back[0], lunch) + back[0]
            at = coord.office
        arrive = t
    else:
        leg = trips.leg(at, task.contact.place)
        arrive = _clear_lunch(t, leg[0], lunch) + leg[0]
        at = task.contact.place
    for lo, hi in task.ranges(coord):
        start = max(arrive, lo)
        if start <= hi:
            return start, leg, (start + task.duration, at, back)
    return None


def _finish(
    coord: Coordinator, state: tuple[int, Place, _Back], trips: _Trips
) -> tuple[int, tuple[int, float]]:
    """The end of the day after the last task (back at the office), and its drive back."""
    t, at, back = state
    if back is None:
        back = trips.leg(at, coord.office)
        t = _clear_lunch(t, back[0], _lunch(coord)) + back[0]
    return t, back


def _last_visit(tasks: Sequence[_Task]) -> int:
    return max((i for i, task in enumerate(tasks) if not task.phone), default=-1)


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
    state: tuple[int, Place, _Back] = (_minute(coord.work_start), coord.office, None)
    last_visit = _last_visit(tasks)
    starts: list[int] = []
    legs: list[tuple[int, float]] = []
    for i, task in enumerate(tasks):
        stepped = _step(coord, task, state, i > last_visit, trips)
        if stepped is None:
            return None, i
        start, leg, state = stepped
        starts.append(start)
        legs.append(leg)
    end, back = _finish(coord, state, trips)
    if end > _minute(coord.work_end):
        return None, len(tasks)
    return _Timed(tuple(starts), tuple(legs), back, end), -1


@dataclass(eq=False)
class _Route:
    coord: Coordinator
    day: dt.date
    tasks: list[_Task] = field(default_factory=list)
    timed: _Timed | None = None
    # routing/insertion.py's _Profile of (tasks, timed), rebuilt once either changes
    profile: object = field(default=None, repr=False)

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
