"""Routing on PyVRP: a generic VRPTW core and the home-visit planner built on it.

Generic core (used by the benchmark and by the planner)
--------------------------------------------------------
:func:`solve_vrptw` solves a :class:`VrptwInstance` (one depot; clients with demand,
service time and a time window; vehicle types with a count, a capacity and working
hours) and returns a :class:`VrptwSolution`. PyVRP needs integers, so distances,
durations and times are multiplied by ``instance.scale`` (1000 for Solomon:
distances rounded, travel times rounded *up*, so a route PyVRP finds feasible is
feasible in exact arithmetic too); the reported distance is recomputed from the
unscaled matrix (double precision, rounded to ``instance.decimals``), the Solomon /
SINTEF convention. The objective is hierarchical (Solomon): with
``minimise_vehicles`` a share of the time removes vehicles one at a time (each try
stops at the first feasible solution), then the rest minimises distance with the
smallest fleet found, warm-started from that solution. The planner's instances add
what the benchmark does not need: optional clients with prizes, groups of
alternatives (at most one member is served) and per-vehicle-type client sets
(expressed as PyVRP routing profiles in which the other clients cannot be reached).

Home-visit planner
------------------
:func:`plan_days` places :class:`DueContact` s into a :class:`Plan`. Problems are
split by coordinator (so by town and skill) and, for a long horizon, by blocks of
days, so that each PyVRP problem stays small:

1. *Eligibility.* A contact may go to a (coordinator, day) when the coordinator has
   the skill, works that day (``Coordinator.works_on``: business days, leave) and is
   not marked unavailable, the day is a planning day inside [earliest, latest], and
   the whole contact fits its time window, working hours and the drive from and back
   to the office, outside lunch. A booked contact (``fixed_visit_id``) only goes to
   its day (``earliest``, or its day in ``previous``) and, when its coordinator
   (``usual_staff_code``, the booked one) works then, only to that coordinator.
   What cannot be placed is listed in ``Plan.unplanned`` with the first reason that
   applies: no coordinator has the skill; the window (or booked day) is outside the
   planning days; nobody with the skill works in the window (leave, holidays,
   unavailable); the time window leaves no room in working hours or cannot be
   reached from the office; every eligible day is full.
2. *Coordinator (continuity of carer).* Continuity is a hard preference, not a
   cost: the client's usual coordinator (``usual_staff_code``) gets every contact
   they have the skill for and room for in its window; only then does another
   coordinator take it. A (client, skill) pair without a usual coordinator gets one
   coordinator for the whole horizon (the same nurse for all of a client's nursing
   contacts): among the town's coordinators with the skill (all of them when the
   town has none), shared out by a sweep around the clients' centre in proportion to
   free capacity, so each gets a compact area. ``previous``'s coordinator is kept.
3. *Tentative day (balance).* Booked, urgent and tight-deadline contacts first,
   each takes the least loaded eligible day of its coordinator (load: minutes of
   contacts plus one drive from the office per visit; at most ``max_visits_per_day``
   visits, calls do not count as visits), spreading work over the window; when the
   coordinator has no room in the window the next one in preference order (same
   town, then nearest office) takes it.
4. *Routing.* Each coordinator's visits are one PyVRP problem over their days: one
   vehicle per working day from and back to the office within working hours, each
   able to serve only the contacts whose window contains that day (routing profiles),
   so PyVRP chooses day and order together. A day takes at most the larger of its
   tentative visits and the coordinator's average, so days are not emptied to save
   driving. Lunch: a visit that may fall on either side of lunch is offered as two
   alternatives (finish by lunch / start after it); the exact schedule then keeps
   everything, driving included, out of lunch (a leg that would cross it is driven
   after it). Every contact carries a prize worth more than any detour (booked and
   urgent ones most), so contacts are only left out when they do not fit.
5. *Calls.* A call needs no travel: it is made where the coordinator is - at the
   office before the first visit or after the drive back, or between visits - and is
   inserted into the routed days (its tentative day first) where it delays the day
   least; the day's calls' minutes are kept free in the routing.
6. *Repair.* A visit the routing could not keep (real travel and lunch counted) or
   that the estimate found no room for is inserted at the cheapest feasible place of
   an eligible route, coordinators in preference order; otherwise it is unplanned.
   Each trial starts from the route's state before its position and stops at the
   first stop pushed past its latest possible start (``insertion.py``), so trying
   every position of every day costs little more than the stops that move.

:func:`replan` keeps every route that is not affected exactly as it was (see its
docstring). :func:`nearest_neighbour_plan` is the greedy baseline with the same rules.
Everything is deterministic for the same inputs and seed: PyVRP runs a fixed number
of iterations derived from ``seconds_per_problem`` (a time limit of several times
that is a safety net only a much slower machine reaches), and no set order leaks
into a result.
"""

from __future__ import annotations

from care_models.visits.routing.baseline import nearest_neighbour_plan, nearest_neighbour_vrptw
from care_models.visits.routing.planner import affected_routes, plan_days, plan_km, replan
from care_models.visits.routing.vrptw import (
    VrptwClient,
    VrptwInstance,
    VrptwRoute,
    VrptwSolution,
    VrptwVehicleType,
    read_solomon,
    solve_vrptw,
)

__all__ = [
    "VrptwClient",
    "VrptwInstance",
    "VrptwRoute",
    "VrptwSolution",
    "VrptwVehicleType",
    "affected_routes",
    "nearest_neighbour_plan",
    "nearest_neighbour_vrptw",
    "plan_days",
    "plan_km",
    "read_solomon",
    "replan",
    "solve_vrptw",
]
