"""The public planner: :func:`plan_days`, :func:`replan`, :func:`affected_routes`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from care_models.visits.model import Coordinator, DueContact, Plan, PlannedStop
from care_models.visits.routing.routes import _Routing
from care_models.visits.routing.timelines import (
    URGENT_PRIORITY,
    _clock,
    _Route,
    _Timed,
)
from care_models.visits.travel import TravelModel


class _Planner(_Routing):
    """One planning run; see the package docstring for the steps."""

    def run(self) -> Plan:
        if not self.days:
            for task in self.tasks:
                self.drop(task, "no planning days")
            return self.plan()
        self.assign_pairs()
        self.assign_days(list(self.tasks))
        self.solve()
        self.insert_frozen()
        return self.plan()

    def plan(self) -> Plan:
        start = self.days[0] if self.days else dt.date.min
        end = self.days[-1] if self.days else dt.date.min
        plan = Plan(horizon_start=start, horizon_end=end)
        for key in sorted(self.frozen):
            plan.stops.extend(self.frozen[key])
            if key in self.frozen_return:
                plan.return_km[key] = self.frozen_return[key]
        for key in sorted(self.routes):
            route = self.routes[key]
            if route.tasks and (route.timed is None or len(route.timed.starts) != len(route.tasks)):
                # defensive: every route is scheduled before this point
                for task in self.fit(route):
                    self.drop(task, f"does not fit {route.coord.code}'s day {route.day}")
            if not route.tasks or route.timed is None:
                continue
            plan.stops.extend(_stops(route, route.timed))
            plan.return_km[key] = round(route.timed.back[1], 3)
        plan.stops.sort(key=lambda s: (s.day, s.staff_code, s.sequence))
        plan.unplanned.extend(sorted(self.unplanned, key=lambda u: u.contact_key))
        return plan


# -- public planner API -------------------------------------------------------------------


def _stops(route: _Route, timed: _Timed) -> list[PlannedStop]:
    """The stops of a scheduled route, in its order."""
    stops = []
    for seq, (task, begin, (minutes, km)) in enumerate(
        zip(route.tasks, timed.starts, timed.legs, strict=True), start=1
    ):
        c = task.contact
        stops.append(
            PlannedStop(
                contact_key=c.key,
                client_id=c.client_id,
                client_code=c.client_code,
                staff_code=route.coord.code,
                day=route.day,
                start=_clock(begin),
                duration_min=task.duration,
                sequence=seq,
                travel_min=minutes,
                travel_km=round(km, 3),
                service_type=c.service_type,
                mode=c.mode,
                purpose=c.purpose,
            )
        )
    return stops


def plan_days(
    contacts: list[DueContact],
    coordinators: list[Coordinator],
    days: list[dt.date],
    *,
    travel: TravelModel,
    seconds_per_problem: float,
    previous: Plan | None = None,
    seed: int = 1,
) -> Plan:
    """Plan ``contacts`` over ``days`` (see the module docstring).

    ``previous`` (an earlier plan) is a preference: a contact keeps its coordinator,
    and its day when that still has room. Every contact ends up either in
    ``Plan.stops`` or in ``Plan.unplanned`` with a reason.
    """
    kept = {s.contact_key: (s.staff_code, s.day) for s in previous.stops} if previous else {}
    return _Planner(
        contacts,
        coordinators,
        days,
        travel=travel,
        seconds_per_problem=seconds_per_problem,
        seed=seed,
        previous=kept,
    ).run()


def affected_routes(
    plan: Plan,
    contacts: Iterable[DueContact],
    coordinators: Iterable[Coordinator],
    days: Iterable[dt.date],
    *,
    changed_days: Iterable[dt.date],
    unavailable: Iterable[tuple[str, dt.date]] = (),
) -> set[tuple[str, dt.date]]:
    """The (coordinator, day) routes of ``plan`` that :func:`replan` re-solves.

    Routes on a changed day, of a coordinator unavailable that day (or who no longer
    works then or has left), and routes with a contact that is no longer due.
    Routes outside ``days`` are never touched.
    """
    keys = {c.key for c in contacts}
    coords = {c.code: c for c in coordinators}
    horizon, changed, blocked = set(days), set(changed_days), set(unavailable)
    result: set[tuple[str, dt.date]] = set()
    for stop in plan.stops:
        key = (stop.staff_code, stop.day)
        coord = coords.get(stop.staff_code)
        if stop.day in horizon and (
            stop.day in changed
            or key in blocked
            or coord is None
            or not coord.works_on(stop.day)
            or stop.contact_key not in keys
        ):
            result.add(key)
    return result


def replan(
    plan: Plan,
    contacts: list[DueContact],
    coordinators: list[Coordinator],
    days: list[dt.date],
    *,
    changed_days: set[dt.date],
    unavailable: set[tuple[str, dt.date]] = frozenset(),  # type: ignore[assignment]
    travel: TravelModel,
    seconds_per_problem: float,
    seed: int = 1,
) -> Plan:
    """Re-plan with minimal disturbance: a route that is not affected is kept exactly.

    Affected routes (:func:`affected_routes`: on ``changed_days``, of a coordinator
    ``unavailable`` that day, or holding a contact no longer due) are emptied and
    solved again, with PyVRP, together with the (coordinator, day) pairs that had no
    route; their contacts (staying where they were when they can), new contacts and
    the previously unplanned are planned there by the usual rules. A contact from an
    affected route (e.g. the sick coordinator's) or a new urgent (priority 1) or
    booked contact that finds no room there is inserted into a kept route instead:
    coordinators in the usual preference order (continuity first), and within one
    the route and position that move the fewest existing stops (usually at the end
    of a day), which then is the only other route that changes; existing stops keep
    their order. Anything else that does not fit is unplanned with a reason.
    """
    affected = affected_routes(
        plan, contacts, coordinators, days, changed_days=changed_days, unavailable=unavailable
    )
    routes = plan.routes()
    frozen = {key: stops for key, stops in routes.items() if key not in affected}
    frozen_return = {key: km for key, km in plan.return_km.items() if key in frozen}
    displaced = {s.contact_key for key in affected for s in routes[key]}
    before = {s.contact_key for s in plan.stops} | {u.contact_key for u in plan.unplanned}
    urgent = {
        c.key
        for c in contacts
        if c.key not in before and (c.priority <= URGENT_PRIORITY or c.fixed_visit_id is not None)
    }
    result = _Planner(
        contacts,
        coordinators,
        days,
        travel=travel,
        seconds_per_problem=seconds_per_problem,
        seed=seed,
        unavailable=unavailable,
        frozen=frozen,
        frozen_return=frozen_return,
        previous={s.contact_key: (s.staff_code, s.day) for s in plan.stops},
        may_disturb=displaced | urgent,
    ).run()
    result.horizon_start = min(plan.horizon_start, result.horizon_start)
    result.horizon_end = max(plan.horizon_end, result.horizon_end)
    return result


def plan_km(plan: Plan) -> float:
    """Total driving of a plan: every leg to a stop and every drive back to the office."""
    return sum(s.travel_km for s in plan.stops) + sum(plan.return_km.values())
