"""Greedy nearest-neighbour baselines: for a VRPTW instance and for the home-visit plan."""

from __future__ import annotations

import datetime as dt
import itertools
import time

import numpy as np

from care_models.visits.model import Coordinator, DueContact, Plan
from care_models.visits.routing.planner import _Planner
from care_models.visits.routing.timelines import (
    _Route,
    _schedule,
    _Task,
)
from care_models.visits.routing.vrptw import (
    VrptwInstance,
    VrptwRoute,
    VrptwSolution,
    VrptwVehicleType,
)
from care_models.visits.travel import TravelModel


def nearest_neighbour_vrptw(instance: VrptwInstance) -> VrptwSolution:
    """Greedy baseline: each vehicle repeatedly goes to the nearest client it can still serve."""
    started = time.perf_counter()
    dist, dur = instance.distance_matrix(), instance.duration_matrix()
    left = set(range(len(instance.clients)))
    routes: list[VrptwRoute] = []
    for t, vt in enumerate(instance.vehicle_types):
        for _ in range(vt.count):
            if not left:
                break
            allowed = left if vt.clients is None else left & vt.clients
            visits, starts = _greedy_trip(instance, vt, set(allowed), dist, dur)
            left.difference_update(visits)
            if visits:
                path = [0, *(c + 1 for c in visits), 0]
                distance = float(sum(dist[a, b] for a, b in itertools.pairwise(path)))
                routes.append(VrptwRoute(t, tuple(visits), tuple(starts), distance))
    unserved = tuple(sorted(left))
    return VrptwSolution(
        name=instance.name,
        routes=tuple(routes),
        distance=round(sum(r.distance for r in routes), instance.decimals),
        feasible=not any(instance.clients[i].required for i in unserved),
        unserved=unserved,
        runtime=time.perf_counter() - started,
        iterations=0,
    )


def _greedy_trip(
    instance: VrptwInstance,
    vt: VrptwVehicleType,
    allowed: set[int],
    dist: np.ndarray,
    dur: np.ndarray,
) -> tuple[list[int], list[float]]:
    """One vehicle's clients (0-based) and service starts, nearest feasible client next."""
    here, clock, load = 0, max(vt.ready, instance.depot_ready), 0
    visits: list[int] = []
    starts: list[float] = []
    while True:
        best: tuple[float, int] | None = None
        for c in sorted(allowed):
            client = instance.clients[c]
            arrive = max(clock + dur[here, c + 1], client.ready)
            back = arrive + client.service + dur[c + 1, 0]
            if (
                load + client.demand <= vt.capacity
                and arrive <= client.due
                and back <= min(vt.due, instance.depot_due)
                and (best is None or dist[here, c + 1] < best[0])
            ):
                best = (dist[here, c + 1], c)
        if best is None:
            return visits, starts
        c = best[1]
        client = instance.clients[c]
        clock = max(clock + dur[here, c + 1], client.ready)
        starts.append(clock)
        clock += client.service
        load += client.demand
        visits.append(c)
        here = c + 1
        allowed.discard(c)


def nearest_neighbour_plan(
    contacts: list[DueContact],
    coordinators: list[Coordinator],
    days: list[dt.date],
    *,
    travel: TravelModel,
) -> Plan:
    """Greedy baseline with the same rules, coordinators and balanced tentative days.

    Each (coordinator, day) makes its calls at the office first, then repeatedly
    drives to the nearest assigned client it can still fit (exact schedule, lunch
    included); what does not fit is unplanned. No optimisation of days or order.
    """
    planner = _Planner(contacts, coordinators, days, travel=travel, seconds_per_problem=0.0, seed=1)
    if not planner.days:
        return planner.run()
    planner.assign_pairs()
    planner.assign_days(list(planner.tasks))
    for task in planner.deferred:
        planner.drop(task)
    by_route: dict[tuple[str, dt.date], list[_Task]] = {}
    for task, key in planner.tentative.items():
        by_route.setdefault(key, []).append(task)
    for key in sorted(by_route):
        coord = planner.coords[key[0]]
        planner.routes[key] = _greedy_route(planner, coord, key[1], by_route[key])
    return planner.plan()


def _greedy_route(
    planner: _Planner, coord: Coordinator, day: dt.date, tasks: list[_Task]
) -> _Route:
    """Calls at the office first, then the nearest client that still fits, until none does."""
    todo = sorted(tasks, key=lambda t: t.order)
    route = _Route(coord, day, [t for t in todo if t.phone])
    todo = [t for t in todo if not t.phone]
    timed, _ = _schedule(coord, route.tasks, planner.trips)
    while timed is None and route.tasks:
        planner.drop(route.tasks.pop(), "calls do not fit the day")
        timed, _ = _schedule(coord, route.tasks, planner.trips)
    here = coord.office
    while todo and route.visits < coord.max_visits_per_day:
        nearest = sorted(todo, key=lambda t: (planner.trips.leg(here, t.contact.place)[1], t.order))
        for task in nearest:
            trial_timed, _ = _schedule(coord, [*route.tasks, task], planner.trips)
            if trial_timed is not None:
                route.tasks.append(task)
                timed = trial_timed
                todo.remove(task)
                here = task.contact.place
                break
        else:
            break
    for task in todo:
        planner.drop(task, "does not fit the greedy route of its day")
    route.timed = timed
    return route
