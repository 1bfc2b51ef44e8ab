"""The home-visit planning vocabulary shared by demand, routing and publishing.

Demand (``demand.py``) turns care-plan services and risk-tier cadences into
:class:`DueContact`s; supply (``supply.py``) describes each :class:`Coordinator`'s
days; routing (``routing/``) places contacts into a :class:`Plan` of
:class:`PlannedStop`s, listing what it cannot place as :class:`Unplanned` with a
reason; publishing (``publish.py``) prints a plan per coordinator per day.

All dates are Asia/Seoul calendar dates and times are local wall-clock times.
Nothing here holds personal data: clients appear by code; names, addresses and
phones are decrypted only when a coordinator's own sheet is printed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

SKILLS_BY_SERVICE = {
    "home_doctor": "doctor",
    "home_nursing": "nurse",
    "discharge_nursing": "nurse",
    "rehabilitation": "rehabilitation",
    "nutrition": "nutrition",
    "monitoring": "social_worker",
    "escort": "social_worker",
    "first_assessment": "nurse",
}


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class DueContact:
    """One visit or call that must happen between ``earliest`` and ``latest``."""

    key: str  # stable: "<client code>:<service>:<mode>:<due period>"; the same key plans once
    client_id: int
    client_code: str
    town_code: str
    place: Place
    service_type: str
    mode: str  # visit | phone (a call needs no travel)
    skill: str
    duration_min: int
    earliest: dt.date
    latest: dt.date
    purpose: str
    window_start: dt.time | None = None
    window_end: dt.time | None = None
    usual_staff_code: str | None = None
    priority: int = 3  # 1 urgent (first assessment, day-2 alert visit) .. 3 routine
    planned_service_id: int | None = None
    case_id: int | None = None
    fixed_visit_id: int | None = None  # an already booked visit the plan must keep
    # The end of the whole due window, which may lie past the horizon: a contact that does
    # not fit now but is due after the horizon is deferred to the next plan, not unplanned.
    due_by: dt.date | None = None

    @property
    def deferrable(self) -> bool:
        return self.due_by is not None and self.due_by > self.latest


@dataclass(frozen=True)
class Coordinator:
    """A member of staff as the planner sees them."""

    staff_id: int
    code: str
    role: str
    skills: frozenset[str]
    town_code: str
    office: Place
    work_start: dt.time
    work_end: dt.time
    lunch_start: dt.time | None
    lunch_end: dt.time | None
    max_visits_per_day: int
    days_off: frozenset[dt.date] = field(default_factory=frozenset)

    def works_on(self, day: dt.date) -> bool:
        from care_models.workdays import is_business_day

        return is_business_day(day) and day not in self.days_off


@dataclass(frozen=True)
class PlannedStop:
    contact_key: str
    client_id: int
    client_code: str
    staff_code: str
    day: dt.date
    start: dt.time
    duration_min: int
    sequence: int  # 1-based order in the coordinator's day
    travel_min: int  # from the previous stop (or the office)
    travel_km: float
    service_type: str
    mode: str
    purpose: str


@dataclass(frozen=True)
class Unplanned:
    contact_key: str
    client_code: str
    service_type: str
    reason: str


@dataclass
class Plan:
    horizon_start: dt.date
    horizon_end: dt.date
    stops: list[PlannedStop] = field(default_factory=list)
    unplanned: list[Unplanned] = field(default_factory=list)
    return_km: dict[tuple[str, dt.date], float] = field(default_factory=dict)  # last stop -> office

    def km_by_staff(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for stop in self.stops:
            totals[stop.staff_code] = totals.get(stop.staff_code, 0.0) + stop.travel_km
        for (staff, _day), km in self.return_km.items():
            totals[staff] = totals.get(staff, 0.0) + km
        return totals

    def routes(self) -> dict[tuple[str, dt.date], list[PlannedStop]]:
        """Stops per (coordinator, day), each route in its order."""
        routes: dict[tuple[str, dt.date], list[PlannedStop]] = {}
        for stop in sorted(self.stops, key=lambda s: (s.staff_code, s.day, s.sequence)):
            routes.setdefault((stop.staff_code, stop.day), []).append(stop)
        return routes

    def day_of(self, staff_code: str, day: dt.date) -> list[PlannedStop]:
        return sorted(
            (s for s in self.stops if s.staff_code == staff_code and s.day == day),
            key=lambda s: s.sequence,
        )
