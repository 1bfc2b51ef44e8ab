"""The team lead's overview of a plan: the week per person and each day's routes as SVG.

Codes only: never a client's name, phone or address. Homes are drawn from the coarse
copy of their coordinates (a 0.001° grid, ``care_models.privacy.COORDINATE_DECIMALS``),
never from the exact place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from care_models.rendering.html import environment
from care_models.rendering.labels import ROLE_LABELS, SERVICE_LABELS
from care_models.rendering.maps import MapPoint, fit_projection, palette, scale_bar
from care_models.visits.capacity import CapacityLine, WhatIf
from care_models.visits.model import Coordinator, Place, Plan, PlannedStop
from care_models.visits.sheets import TEMPLATES_DIR
from care_models.workdays import is_business_day


@dataclass(frozen=True)
class MapRoute:
    staff_code: str
    colour: str
    office: MapPoint
    stops: tuple[MapPoint, ...]
    label_y: float = 0.0  # offices shared by several coordinators stack their labels

    @property
    def points(self) -> str:
        chain = (self.office, *self.stops, self.office)
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in chain)


@dataclass(frozen=True)
class DayMap:
    day: dt.date
    width: int
    height: int
    routes: tuple[MapRoute, ...]
    scale_px: float
    scale_label: str


def day_map(
    day: dt.date,
    plan: Plan,
    coordinators: Sequence[Coordinator],
    places: Mapping[int, Place],
    width: int = 640,
) -> DayMap | None:
    """The routes of the day (office → visits → office); calls do not travel, so not drawn."""
    colours = palette(c.code for c in coordinators)
    legs: list[tuple[Coordinator, list[PlannedStop]]] = []
    for coordinator in sorted(coordinators, key=lambda c: c.code):
        visits = [
            s
            for s in plan.day_of(coordinator.code, day)
            if s.mode != "phone" and s.client_id in places
        ]
        if visits:
            legs.append((coordinator, visits))
    if not legs:
        return None
    every = [c.office for c, _ in legs] + [places[s.client_id] for _, v in legs for s in v]
    projection, height = fit_projection(every, width)
    routes = []
    sharing: dict[tuple[float, float], int] = {}
    for coordinator, visits in legs:
        ox, oy = projection(coordinator.office)
        stacked = sharing.get((ox, oy), 0)
        sharing[(ox, oy)] = stacked + 1
        office = MapPoint(ox, oy, coordinator.code, f"{coordinator.code} 사무소")
        points = []
        for stop in visits:
            x, y = projection(places[stop.client_id])
            service = SERVICE_LABELS.get(stop.service_type, stop.service_type)
            points.append(
                MapPoint(
                    x,
                    y,
                    str(stop.sequence),
                    f"{coordinator.code} #{stop.sequence} {stop.client_code} {service}",
                )
            )
        routes.append(
            MapRoute(
                coordinator.code,
                colours[coordinator.code],
                office,
                tuple(points),
                label_y=round(oy - 10 - 14 * stacked, 1),
            )
        )
    scale_px, scale_label = scale_bar(projection, width)
    return DayMap(day, width, height, tuple(routes), scale_px, scale_label)


@dataclass(frozen=True)
class DayCount:
    visits: int = 0
    calls: int = 0
    km: float = 0.0
    working: bool = True
    hours: str = ""

    @property
    def empty(self) -> bool:
        return not (self.visits or self.calls)


@dataclass(frozen=True)
class PersonWeek:
    code: str
    role: str
    office: str
    colour: str
    days: tuple[DayCount, ...]

    @property
    def visits(self) -> int:
        return sum(c.visits for c in self.days)

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.days)

    @property
    def km(self) -> float:
        return sum(c.km for c in self.days)


def _horizon_days(plan: Plan) -> list[dt.date]:
    days = []
    day = plan.horizon_start
    stop_days = {s.day for s in plan.stops}
    while day <= plan.horizon_end:
        if is_business_day(day) or day in stop_days:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def render_team_overview(
    plan: Plan,
    coordinators: Sequence[Coordinator],
    places: Mapping[int, Place],
    office_names: Mapping[str, str] | None = None,
    capacity: Sequence[CapacityLine] = (),
    what_if: WhatIf | None = None,
) -> str:
    """The team lead's page: codes only, never a name, phone or address; with the
    capacity lines behind the unplanned contacts when they are given."""
    office_names = office_names or {}
    days = _horizon_days(plan)
    colours = palette(c.code for c in coordinators)
    people: list[PersonWeek] = []
    for coordinator in sorted(coordinators, key=lambda c: c.code):
        counts = []
        for day in days:
            stops = plan.day_of(coordinator.code, day)
            counts.append(
                DayCount(
                    visits=sum(1 for s in stops if s.mode != "phone"),
                    calls=sum(1 for s in stops if s.mode == "phone"),
                    km=sum(s.travel_km for s in stops)
                    + plan.return_km.get((coordinator.code, day), 0.0),
                    working=coordinator.works_on(day),
                    hours=_first_last(stops),
                )
            )
        people.append(
            PersonWeek(
                code=coordinator.code,
                role=ROLE_LABELS.get(coordinator.role, coordinator.role),
                office=office_names.get(coordinator.town_code, coordinator.town_code),
                colour=colours[coordinator.code],
                days=tuple(counts),
            )
        )
    maps = [
        {
            "day": day,
            "map": day_map(day, plan, coordinators, places),
            "people": [(p, p.days[i]) for p in people if not p.days[i].empty],
        }
        for i, day in enumerate(days)
    ]
    reasons: dict[str, int] = {}
    for item in plan.unplanned:
        reasons[item.reason] = reasons.get(item.reason, 0) + 1
    return (
        environment(TEMPLATES_DIR)
        .get_template("team_overview.html")
        .render(
            plan=plan,
            days=days,
            people=people,
            maps=maps,
            unplanned=sorted(plan.unplanned, key=lambda u: (u.client_code, u.contact_key)),
            reasons=sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
            service_labels=SERVICE_LABELS,
            role_labels=ROLE_LABELS,
            capacity=capacity,
            what_if=what_if,
            hours=lambda minutes: f"{minutes / 60:.1f}",
            total_km=sum(p.km for p in people),
            total_visits=sum(p.visits for p in people),
            total_calls=sum(p.calls for p in people),
        )
    )


def _first_last(stops: Sequence[PlannedStop]) -> str:
    if not stops:
        return ""
    first = stops[0]
    last = stops[-1]
    end = dt.datetime.combine(last.day, last.start) + dt.timedelta(minutes=last.duration_min)
    return f"{first.start:%H:%M}–{end:%H:%M}"
