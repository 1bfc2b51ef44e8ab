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

:func:`replan` keeps every route that is not affected exactly as it was (see its
docstring). :func:`nearest_neighbour_plan` is the greedy baseline with the same rules.
Everything is deterministic for the same inputs and seed: PyVRP runs a fixed number
of iterations derived from ``seconds_per_problem`` (a time limit of several times
that is a safety net only a much slower machine reaches), and no set order leaks
into a result.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pyvrp import (
    Client,
    ClientGroup,
    Depot,
    Location,
    ProblemData,
    Solution,
    SolveParams,
    VehicleType,
)
from pyvrp import solve as pyvrp_solve
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
from pyvrp.search import PerturbationParams
from pyvrp.stop import FirstFeasible, MaxIterations, MaxRuntime, MultipleCriteria, NoImprovement

from care_models.visits.model import (
    Coordinator,
    DueContact,
    Place,
    Plan,
    PlannedStop,
    Unplanned,
)
from care_models.visits.travel import TravelModel, travel_matrices

# -- generic VRPTW core -------------------------------------------------------------------

BLOCKED = 1_000_000_000  # distance/duration of an edge a vehicle type may not use
INT_MAX = int(np.iinfo(np.int64).max)
FLEET_SHARE = 1 / 3  # share of the time spent removing vehicles (hierarchical objective)
# Removing vehicles uses PyVRP's defaults (late-acceptance history 300, up to 25
# perturbed clients an iteration): the wider search found feasible smaller fleets
# that the greedier setting missed (rc2_4_1: 11 routes). Minimising distance in runs
# of a minute or less on 100-400 clients did better greedier: a shorter history and,
# for short routes, fewer perturbations (1-10 % shorter on Solomon / GH here).
HISTORY_LENGTH = 50
MIN_PERTURBATIONS, MAX_PERTURBATIONS = 10, 25  # upper bound: half a route, within these


@dataclass(frozen=True)
class VrptwClient:
    x: float
    y: float
    demand: int = 0
    service: float = 0.0
    ready: float = 0.0
    due: float = math.inf  # latest start of service
    required: bool = True
    prize: float = 0.0  # in distance units: what serving an optional client is worth
    group: int | None = None  # clients of one group are alternatives: at most one is served


@dataclass(frozen=True)
class VrptwVehicleType:
    count: int
    capacity: int
    ready: float = 0.0
    due: float = math.inf
    clients: frozenset[int] | None = None  # the only clients (0-based) it may serve
    fixed_cost: float = 0.0


@dataclass(frozen=True)
class VrptwInstance:
    """One depot (``depot``), clients 0..n-1 and vehicle types.

    ``distances``/``durations`` are (n+1)x(n+1) with row/column 0 the depot; without
    them the Euclidean distance of the coordinates is used for both (Solomon).
    """

    name: str
    depot: tuple[float, float]
    clients: tuple[VrptwClient, ...]
    vehicle_types: tuple[VrptwVehicleType, ...]
    depot_ready: float = 0.0
    depot_due: float = math.inf
    distances: np.ndarray | None = field(default=None, compare=False, repr=False)
    durations: np.ndarray | None = field(default=None, compare=False, repr=False)
    scale: int = 1000
    minimise_vehicles: bool = True
    decimals: int = 2

    def distance_matrix(self) -> np.ndarray:
        if self.distances is not None:
            return np.asarray(self.distances, dtype=float)
        xy = np.array([self.depot, *((c.x, c.y) for c in self.clients)], dtype=float)
        diff = xy[:, None, :] - xy[None, :, :]
        result: np.ndarray = np.sqrt((diff**2).sum(axis=2))
        return result

    def duration_matrix(self) -> np.ndarray:
        if self.durations is not None:
            return np.asarray(self.durations, dtype=float)
        return self.distance_matrix()


@dataclass(frozen=True)
class VrptwRoute:
    vehicle_type: int
    clients: tuple[int, ...]  # 0-based client indices in visiting order
    starts: tuple[float, ...]  # service start times, instance units
    distance: float


@dataclass(frozen=True)
class VrptwSolution:
    name: str
    routes: tuple[VrptwRoute, ...]
    distance: float  # exact (unscaled), rounded to the instance's decimals
    feasible: bool
    unserved: tuple[int, ...]
    runtime: float
    iterations: int

    @property
    def vehicles(self) -> int:
        return len(self.routes)


def read_solomon(path: str | Path, customers: int | None = None) -> VrptwInstance:
    """A Solomon / Gehring–Homberger text file; ``customers`` keeps only the first N."""
    lines = Path(path).read_text().splitlines()
    name = lines[0].strip()
    count = capacity = 0
    rows: list[list[float]] = []
    for i, line in enumerate(lines):
        if line.strip().upper().startswith("NUMBER"):
            count, capacity = (int(v) for v in lines[i + 1].split()[:2])
        parts = line.split()
        if len(parts) == 7 and all(_is_number(p) for p in parts):
            rows.append([float(p) for p in parts])
    if not rows or rows[0][0] != 0:
        raise ValueError(f"{path}: no depot row")
    depot, customer_rows = rows[0], rows[1:]
    if customers is not None:
        customer_rows = customer_rows[:customers]
    clients = tuple(
        VrptwClient(x=r[1], y=r[2], demand=int(r[3]), ready=r[4], due=r[5], service=r[6])
        for r in customer_rows
    )
    return VrptwInstance(
        name=name if customers is None else f"{name}.{customers}",
        depot=(depot[1], depot[2]),
        clients=clients,
        vehicle_types=(VrptwVehicleType(count=count, capacity=capacity),),
        depot_ready=depot[4],
        depot_due=depot[5],
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _scaled(value: float, scale: int) -> int:
    if math.isinf(value):
        return INT_MAX
    return round(value * scale)


def _problem_data(instance: VrptwInstance) -> ProblemData:
    scale = instance.scale
    n = len(instance.clients)
    dist = np.rint(instance.distance_matrix() * scale).astype(np.int64)
    dur = np.ceil(instance.duration_matrix() * scale - 1e-6).astype(np.int64)
    if dist.shape != (n + 1, n + 1) or dur.shape != (n + 1, n + 1):
        raise ValueError(f"{instance.name}: matrices must be {n + 1}x{n + 1}")
    np.fill_diagonal(dist, 0)
    np.fill_diagonal(dur, 0)
    locations = [Location(*instance.depot)] + [Location(c.x, c.y) for c in instance.clients]
    depot = Depot(
        0,
        tw_early=_scaled(instance.depot_ready, scale),
        tw_late=_scaled(instance.depot_due, scale),
    )
    group_ids = sorted({c.group for c in instance.clients if c.group is not None})
    group_index = {g: i for i, g in enumerate(group_ids)}
    members: dict[int, list[int]] = {g: [] for g in group_ids}
    clients = []
    for i, c in enumerate(instance.clients):
        if c.group is not None:
            members[c.group].append(i)
        clients.append(
            Client(
                location=i + 1,
                delivery=[c.demand],
                service_duration=_scaled(c.service, scale),
                tw_early=_scaled(c.ready, scale),
                tw_late=_scaled(c.due, scale),
                prize=_scaled(c.prize, scale),
                required=c.required and c.group is None,
                group=None if c.group is None else group_index[c.group],
            )
        )
    groups = [ClientGroup(members[g], required=False) for g in group_ids]
    # One routing profile per distinct client set; profile 0 lets everyone go anywhere.
    profile_of: dict[frozenset[int] | None, int] = {None: 0}
    distances, durations = [dist], [dur]
    for vt in instance.vehicle_types:
        if vt.clients is not None and vt.clients not in profile_of:
            profile_of[vt.clients] = len(distances)
            blocked = np.ones(n + 1, dtype=bool)
            blocked[0] = False
            blocked[[i + 1 for i in sorted(vt.clients)]] = False
            d, t = dist.copy(), dur.copy()
            d[:, blocked] = BLOCKED
            t[:, blocked] = BLOCKED
            np.fill_diagonal(d, 0)
            np.fill_diagonal(t, 0)
            distances.append(d)
            durations.append(t)
    vehicle_types = [
        VehicleType(
            num_available=vt.count,
            capacity=[vt.capacity],
            tw_early=_scaled(vt.ready, scale),
            tw_late=_scaled(vt.due, scale),
            fixed_cost=_scaled(vt.fixed_cost, scale),
            profile=profile_of[vt.clients],
        )
        for vt in instance.vehicle_types
    ]
    return ProblemData(
        locations,
        clients,
        [depot],
        vehicle_types,
        distances,
        durations,  # type: ignore[arg-type]
        groups,
    )


def _stop(seconds: float, iterations: int | None, patience: int | None) -> MultipleCriteria:
    criteria: list = [MaxRuntime(max(0.0, seconds))]
    if iterations is not None:
        criteria.append(MaxIterations(iterations))
    if patience is not None:
        criteria.append(NoImprovement(patience))
    return MultipleCriteria(criteria)


def _params(data: ProblemData, routes: int | None = None) -> SolveParams:
    """Distance-phase parameters (see HISTORY_LENGTH)."""
    per_route = data.num_clients / max(1, routes or data.num_vehicles)
    most = min(MAX_PERTURBATIONS, max(MIN_PERTURBATIONS, round(per_route / 2)))
    return SolveParams(
        ils=IteratedLocalSearchParams(history_length=HISTORY_LENGTH),
        perturbation=PerturbationParams(min_perturbations=1, max_perturbations=most),
    )


def _run(
    data: ProblemData,
    stop: object,
    seed: int,
    initial: Solution | None = None,
    params: SolveParams | None = None,
) -> tuple[Solution, int]:
    params = params or _params(data)
    with warnings.catch_warnings():
        # Expected on over-full problems (optional clients are then left out).
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp_solve(
            data,
            stop,  # type: ignore[arg-type]
            seed=seed,
            collect_stats=False,
            display=False,
            params=params,
            initial_solution=initial,
        )
    return result.best, result.num_iterations


def solve_vrptw(
    instance: VrptwInstance,
    *,
    seconds: float,
    seed: int = 1,
    iterations: int | None = None,
    patience: int | None = None,
) -> VrptwSolution:
    """Solve with PyVRP within ``seconds`` (see the module docstring for the objective).

    ``iterations``/``patience`` (non-improving iterations) stop earlier, after a fixed
    amount of work, which makes the result independent of the machine's speed.
    """
    started = time.perf_counter()
    data = _problem_data(instance)
    hierarchical = (
        instance.minimise_vehicles
        and len(instance.vehicle_types) == 1
        and all(c.required and c.group is None for c in instance.clients)
        and iterations is None
    )
    if hierarchical:
        best, data, iters = _minimise_fleet_then_distance(data, seconds, seed)
    else:
        best, iters = _run(data, _stop(seconds, iterations, patience), seed)
    return _solution(instance, data, best, time.perf_counter() - started, iters)


def _minimise_fleet_then_distance(
    data: ProblemData, seconds: float, seed: int
) -> tuple[Solution, ProblemData, int]:
    started = time.perf_counter()
    fleet_deadline = started + seconds * FLEET_SHARE
    vehicle_type = data.vehicle_type(0)
    demand = sum(c.delivery[0] for c in data.clients())
    lower = max(1, math.ceil(demand / max(1, vehicle_type.capacity[0])))
    iterations = 0
    best: Solution | None = None
    fleet = vehicle_type.num_available
    while fleet >= lower:
        left = fleet_deadline - time.perf_counter()
        if left <= 0 and best is not None:
            break
        trial = data.replace(vehicle_types=[vehicle_type.replace(num_available=fleet)])
        stop = MultipleCriteria([FirstFeasible(), MaxRuntime(max(left, 0.0))])
        if best is None:  # the first feasible solution may use the whole fleet phase
            stop = MultipleCriteria([FirstFeasible(), MaxRuntime(max(left, seconds * 0.5))])
        found, count = _run(trial, stop, seed, params=SolveParams())
        iterations += count
        if not found.is_feasible():
            break
        best = found
        fleet = best.num_routes() - 1
    if best is None:  # nothing feasible: report the best infeasible attempt of the rest
        left = started + seconds - time.perf_counter()
        found, count = _run(data, MaxRuntime(max(0.0, left)), seed)
        return found, data, iterations + count
    final = data.replace(vehicle_types=[vehicle_type.replace(num_available=best.num_routes())])
    warm = Solution(final, [[a.idx for a in r if a.is_client()] for r in best.routes()])
    left = started + seconds - time.perf_counter()
    found, count = _run(final, MaxRuntime(max(0.0, left)), seed, warm)
    return (found if found.is_feasible() else warm), final, iterations + count


def _solution(
    instance: VrptwInstance, data: ProblemData, best: Solution, runtime: float, iterations: int
) -> VrptwSolution:
    exact = instance.distance_matrix()
    routes = []
    served: set[int] = set()
    for route in best.routes():
        visits = [a for a in route if a.is_client()]
        clients = tuple(a.idx for a in visits)
        served.update(clients)
        path = [0, *(c + 1 for c in clients), 0]
        distance = float(sum(exact[a, b] for a, b in itertools.pairwise(path)))
        routes.append(
            VrptwRoute(
                vehicle_type=route.vehicle_type(),
                clients=clients,
                starts=tuple(a.start_time / instance.scale for a in visits),
                distance=distance,
            )
        )
    unserved = tuple(i for i in range(len(instance.clients)) if i not in served)
    required_missing = any(
        instance.clients[i].required and instance.clients[i].group is None for i in unserved
    )
    total = round(sum(r.distance for r in routes), instance.decimals)
    return VrptwSolution(
        name=instance.name,
        routes=tuple(routes),
        distance=total,
        feasible=best.is_feasible() and not required_missing,
        unserved=unserved,
        runtime=runtime,
        iterations=iterations,
    )


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
                    break
                c = best[1]
                client = instance.clients[c]
                clock = max(clock + dur[here, c + 1], client.ready)
                starts.append(clock)
                clock += client.service
                load += client.demand
                visits.append(c)
                here = c + 1
                allowed = allowed - {c}
                left.discard(c)
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


# -- home-visit planner -------------------------------------------------------------------

# Prizes in metres of driving: what serving a contact is worth to the router. Every
# prize exceeds any detour in a county, so a contact is only left out when it cannot
# fit; when a day is over-full, booked then urgent contacts are kept first.
PRIZE_BOOKED = 100_000_000
PRIZE_BY_PRIORITY = {1: 20_000_000, 2: 5_000_000}
PRIZE_ROUTINE = 1_000_000
URGENT_PRIORITY = 1  # first assessments after discharge, day-2 visits after an alert
MAX_COPIES_PER_PROBLEM = 240  # a coordinator's horizon is split into blocks of days above this
# Balance: a day takes at most the larger of its tentative visits (already spread by
# load) and BALANCE_SLACK x the coordinator's average visits a day (rounded down), and
# never more than max_visits_per_day: the router chooses which clients go on which
# day, but cannot empty a day to save driving.
BALANCE_SLACK = 1.0
# PyVRP iterations per second of ``seconds_per_problem`` for 100 client copies (scaled
# inversely with the size): the work is fixed, so the plan does not depend on the
# machine's speed; it takes about 3/4 of the given seconds on the 2-core test machine.
ITERATIONS_PER_SECOND_100 = 1000
MIN_ITERATIONS = 150
# Safety time limit per problem: CEILING_FACTOR x seconds_per_problem, at least
# MIN_CEILING seconds. Only a much slower machine reaches it (the result may then vary).
CEILING_FACTOR = 3.0
MIN_CEILING = 5.0


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


class _Planner:
    """One planning run; see the module docstring for the steps."""

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

    # -- coordinator and tentative day -------------------------------------------------

    def need(self, task: _Task, coord: Coordinator) -> int:
        """Estimated minutes: the contact and, for a visit, one leg from the office."""
        if task.phone:
            return task.duration
        return task.duration + self.trips.leg(coord.office, task.contact.place)[0]

    def assign_pairs(self) -> None:
        """One coordinator per (client, skill): previous, usual, else a sweep share."""
        committed: dict[str, int] = {code: 0 for code in self.coords}
        for key, load in self.loads.items():
            committed[key[0]] = committed.get(key[0], 0) + load.minutes
        pairs: dict[tuple[str, str], list[_Task]] = {}
        for task in self.tasks:
            pairs.setdefault((task.contact.client_code, task.contact.skill), []).append(task)
        groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for pair in sorted(pairs):
            tasks = pairs[pair]
            contact = tasks[0].contact
            chosen = None
            for task in tasks:
                prev = self.previous.get(task.key)
                if prev and prev[0] in self.coords and contact.skill in self.coords[prev[0]].skills:
                    chosen = prev[0]
                    break
            usual = contact.usual_staff_code
            if (
                chosen is None
                and usual in self.coords
                and contact.skill in self.coords[usual].skills
                and self.open_days[usual]
            ):
                chosen = usual
            if chosen is not None:
                self.pair_coord[pair] = chosen
                committed[chosen] += sum(self.need(t, self.coords[chosen]) for t in tasks)
                continue
            skilled = [c for c in self.by_skill.get(contact.skill, []) if self.open_days[c.code]]
            local = [c for c in skilled if c.town_code == contact.town_code] or skilled
            if local:
                groups.setdefault(tuple(c.code for c in local), []).append(pair)
        for codes, members in sorted(groups.items()):
            cands = [self.coords[code] for code in codes]
            places = [pairs[p][0].contact.place for p in members]
            lat = sum(p.latitude for p in places) / len(places)
            lon = sum(p.longitude for p in places) / len(places)
            members.sort(
                key=lambda p: (
                    math.atan2(
                        pairs[p][0].contact.place.latitude - lat,
                        pairs[p][0].contact.place.longitude - lon,
                    ),
                    p,
                )
            )
            free = [
                max(1, _free_minutes(c) * len(self.open_days[c.code]) - committed[c.code])
                for c in cands
            ]
            loads = [sum(self.need(t, cands[0]) for t in pairs[p]) for p in members]
            total_free, total_load = sum(free), max(1, sum(loads))
            bounds = list(np.cumsum(free) / total_free)
            done = 0
            for pair, size in zip(members, loads, strict=True):
                middle = (done + size / 2) / total_load
                k = next((i for i, b in enumerate(bounds) if middle <= b), len(cands) - 1)
                self.pair_coord[pair] = cands[k].code
                done += size

    def assign_days(self, tasks: Sequence[_Task]) -> None:
        for task in sorted(tasks, key=lambda t: t.sort_key()):
            if task.pinned is not None:
                self.tentative[task] = task.pinned
                continue
            placed = False
            for coord in self.chain(task):
                if not self.reachable(task, coord):
                    continue
                best: tuple[tuple[int, float, dt.date], dt.date] | None = None
                need = self.need(task, coord)
                previous = self.previous.get(task.key)
                for day in self.days_for(task, coord.code):
                    load = self.loads.get((coord.code, day), _Load())
                    full = (
                        not task.phone and load.visits + 1 > coord.max_visits_per_day
                    ) or load.minutes + need > _free_minutes(coord)
                    if full and not task.fixed:
                        continue
                    score = (
                        0 if previous == (coord.code, day) else 1,
                        (load.minutes + need) / _free_minutes(coord) + (1.0 if full else 0.0),
                        day,
                    )
                    if best is None or score < best[0]:
                        best = (score, day)
                if best is None:
                    if task.key in self.may_disturb and self.insert_sealed(task, coord):
                        placed = True
                        break
                    continue
                key = (coord.code, best[1])
                load = self.loads.setdefault(key, _Load())
                load.visits += 0 if task.phone else 1
                load.minutes += need
                self.tentative[task] = key
                placed = True
                break
            if not placed:  # the estimate says full: the exact repair may still fit it
                self.deferred.append(task)

    def give_up(self, task: _Task) -> None:
        """Unplanned, unless a replan may still insert it into an unaffected route."""
        if task.key in self.may_disturb:
            self.overflow.append(task)
        else:
            self.drop(task)

    # -- routing ---------------------------------------------------------------------

    def solve(self) -> None:
        by_coord: dict[str, list[_Task]] = {}
        for task, (code, _day) in self.tentative.items():
            by_coord.setdefault(code, []).append(task)
        repair: list[_Task] = []
        calls: list[_Task] = []
        for code in sorted(by_coord):
            coord = self.coords[code]
            tasks = sorted(by_coord[code], key=lambda t: t.order)
            calls.extend(t for t in tasks if t.phone)
            visits = [t for t in tasks if not t.phone]
            days = sorted({self.tentative[t][1] for t in tasks} | set(self.open_days[code]))
            days = [
                d for d in days if (code, d) not in self.frozen and (code, d) not in self.touched
            ]
            for block in self.blocks(coord, visits, days):
                repair.extend(self.solve_block(coord, *block))
        for route in sorted(self.routes.values(), key=lambda r: (r.coord.code, r.day)):
            repair.extend(self.fit(route))
        # Visits first (they need the time most), then the calls into the gaps.
        self.repair(repair + [t for t in self.deferred if not t.phone])
        self.repair(calls + [t for t in self.deferred if t.phone])

    def blocks(
        self, coord: Coordinator, tasks: list[_Task], days: list[dt.date]
    ) -> list[tuple[list[dt.date], list[_Task]]]:
        copies: dict[dt.date, int] = {}
        for task in tasks:
            day = self.tentative[task][1]
            copies[day] = copies.get(day, 0) + len(task.ranges(coord))
        blocks: list[tuple[list[dt.date], list[_Task]]] = []
        current: list[dt.date] = []
        size = 0
        for day in days:
            if current and size + copies.get(day, 0) > MAX_COPIES_PER_PROBLEM:
                blocks.append((current, []))
                current, size = [], 0
            current.append(day)
            size += copies.get(day, 0)
        if current:
            blocks.append((current, []))
        index = {d: i for i, (block_days, _) in enumerate(blocks) for d in block_days}
        for task in tasks:
            blocks[index[self.tentative[task][1]]][1].append(task)
        return [b for b in blocks if b[1]]

    def iterations(self, copies: int) -> int:
        rate = ITERATIONS_PER_SECOND_100 * 100 / max(copies, 20)
        return max(MIN_ITERATIONS, int(self.seconds * rate))

    def solve_block(
        self, coord: Coordinator, days: list[dt.date], tasks: list[_Task]
    ) -> list[_Task]:
        """Route one coordinator over ``days`` with PyVRP; returns the tasks left out."""
        eligible = {task: set(self.days_for(task, coord.code)) & set(days) for task in tasks}
        copies: list[tuple[_Task, int, int]] = []
        for task in tasks:
            for lo, hi in task.ranges(coord):
                copies.append((task, lo, hi))
        visits_by_day: dict[dt.date, int] = {}
        for task in tasks:
            if not task.phone:
                day = self.tentative[task][1]
                visits_by_day[day] = visits_by_day.get(day, 0) + 1
        average = sum(visits_by_day.values()) / max(1, len(days))
        calls_by_day: dict[dt.date, int] = {}
        for task, (code, day) in self.tentative.items():
            if task.phone and code == coord.code:
                calls_by_day[day] = calls_by_day.get(day, 0) + task.duration
        vehicle_days: list[dt.date] = []
        vehicle_types: list[VrptwVehicleType] = []
        for day in days:
            allowed = frozenset(i for i, (t, _, _) in enumerate(copies) if day in eligible[t])
            if not allowed:
                continue
            cap = min(
                coord.max_visits_per_day,
                max(visits_by_day.get(day, 0), math.floor(average * BALANCE_SLACK + 1e-9)),
            )
            vehicle_days.append(day)
            vehicle_types.append(
                VrptwVehicleType(
                    count=1,
                    capacity=cap,
                    ready=_minute(coord.work_start),
                    # the day's calls are made in it too: keep their time free
                    due=max(
                        _minute(coord.work_start),
                        _minute(coord.work_end) - calls_by_day.get(day, 0),
                    ),
                    clients=allowed,
                )
            )
        if not vehicle_types:
            return list(tasks)
        places = [coord.office] + [t.place(coord) for t, _, _ in copies]
        unique = sorted(set(places), key=lambda p: (p.latitude, p.longitude))
        where = {p: i for i, p in enumerate(unique)}
        km, minutes = travel_matrices(self.travel, unique)
        idx = np.array([where[p] for p in places])
        group_of = {task: i for i, task in enumerate(tasks)}
        instance = VrptwInstance(
            name=f"{coord.code}:{days[0]}..{days[-1]}",
            depot=(coord.office.longitude, coord.office.latitude),
            clients=tuple(
                VrptwClient(
                    x=t.place(coord).longitude,
                    y=t.place(coord).latitude,
                    demand=0 if t.phone else 1,
                    service=t.duration,
                    ready=lo,
                    due=hi,
                    required=False,
                    prize=t.prize,
                    group=group_of[t] if len(t.ranges(coord)) > 1 else None,
                )
                for t, lo, hi in copies
            ),
            vehicle_types=tuple(vehicle_types),
            depot_ready=_minute(coord.work_start),
            depot_due=_minute(coord.work_end),
            distances=np.rint(km[np.ix_(idx, idx)] * 1000),
            durations=minutes[np.ix_(idx, idx)].astype(float),
            scale=1,
            minimise_vehicles=False,
            decimals=0,
        )
        budget = self.iterations(len(copies))
        solution = solve_vrptw(
            instance,
            seconds=max(MIN_CEILING, self.seconds * CEILING_FACTOR),
            seed=self.seed,
            iterations=budget,
            patience=max(MIN_ITERATIONS, budget // 3),
        )
        served: set[_Task] = set()
        for route in solution.routes:
            day = vehicle_days[route.vehicle_type]
            target = self.routes.setdefault((coord.code, day), _Route(coord, day))
            for i in route.clients:
                task = copies[i][0]
                if task not in served:
                    served.add(task)
                    target.tasks.append(task)
        return [t for t in tasks if t not in served]

    def fit(self, route: _Route) -> list[_Task]:
        """Exact schedule; drops contacts until it fits the day. Returns the dropped."""
        dropped: list[_Task] = []
        while route.tasks:
            extra = route.visits - route.coord.max_visits_per_day
            timed, failing = _schedule(route.coord, route.tasks, self.trips)
            if timed is not None and extra <= 0:
                route.timed = timed
                return dropped
            upto = len(route.tasks) if timed is not None else min(failing + 1, len(route.tasks))
            movable = [i for i in range(upto) if not route.tasks[i].pinned]
            movable = [i for i in movable if not route.tasks[i].fixed] or movable
            if timed is not None:
                movable = [i for i in movable if not route.tasks[i].phone] or movable
            pick = max(movable or range(upto), key=lambda i: (route.tasks[i].sort_key(), i))
            dropped.append(route.tasks.pop(pick))
        route.timed = _Timed((), (), (0, 0.0), _minute(route.coord.work_start))
        return dropped

    def insertion(self, task: _Task, route: _Route) -> tuple[tuple[float, ...], int, _Timed] | None:
        """The best feasible position of ``task`` in ``route`` (lower score is better).

        First the fewest stops of an unaffected route (replan) that move, then for a
        visit: least extra km, then least extra time; for a call: least extra time,
        then at the office (before the first or after the last visit).
        """
        coord = route.coord
        if not task.phone and route.visits >= coord.max_visits_per_day:
            return None
        base = route.timed or _Timed((), (), (0, 0.0), _minute(coord.work_start))
        positions: Iterable[int] = range(len(route.tasks) + 1)
        if task.phone and len(base.starts) == len(route.tasks):
            # A call costs no km: only the ends of the day and waiting gaps can be best.
            ends = [_minute(coord.work_start)] + [
                b + t.duration for b, t in zip(base.starts, route.tasks, strict=True)
            ]
            positions = sorted(
                {0, len(route.tasks)}
                | {i for i, begin in enumerate(base.starts) if begin > ends[i] + base.legs[i][0]}
            )
        best: tuple[tuple[float, ...], int, _Timed] | None = None
        for pos in positions:
            trial = [*route.tasks[:pos], task, *route.tasks[pos:]]
            timed, _ = _schedule(coord, trial, self.trips)
            if timed is None:
                continue
            later = timed.end - base.end
            moved = sum(
                1
                for t, begin in zip(trial, timed.starts, strict=True)
                if t.original is not None and t.original != begin
            )
            score: tuple[float, ...]
            if task.phone:
                away = any(not t.phone for t in trial[:pos]) and any(
                    not t.phone for t in trial[pos + 1 :]
                )
                score = (moved, later, 1 if away else 0, pos)
            else:
                score = (moved, round(timed.km - base.km, 6), later, pos)
            if best is None or score < best[0]:
                best = (score, pos, timed)
        return best

    def repair(self, tasks: list[_Task]) -> None:
        """Cheapest feasible insertion into an open route, by coordinator preference.

        A call tries its tentative day first (it balances the days).
        """
        for task in sorted(tasks, key=lambda t: t.sort_key()):
            placed = False
            for coord in self.chain(task):
                if not self.reachable(task, coord):
                    continue
                days = self.days_for(task, coord.code)
                tentative = self.tentative.get(task)
                if task.phone and tentative and tentative[0] == coord.code:
                    days.sort(key=lambda d: (d != tentative[1], d))
                best: tuple[tuple[float, ...], _Route, int, _Timed] | None = None
                for day in days:
                    key = (coord.code, day)
                    route = self.routes.get(key) or _Route(coord, day)
                    found = self.insertion(task, route)
                    if found is None:
                        continue
                    score = (0 if self.previous.get(task.key) == key else 1, *found[0])
                    if best is None or score < best[0]:
                        best = (score, route, found[1], found[2])
                    if task.phone and tentative == key:
                        break
                if best is not None:
                    _, route, pos, timed = best
                    route.tasks.insert(pos, task)
                    route.timed = timed
                    self.routes[(route.coord.code, route.day)] = route
                    placed = True
                    break
            if not placed:
                self.give_up(task)

    def insert_frozen(self) -> None:
        """Replan only: displaced or urgent contacts with no place yet, into kept routes.

        An urgent contact (priority 1, e.g. a first assessment after discharge) that
        fits nowhere takes the place of a routine visit (:meth:`make_room`).
        """
        for task in sorted(self.overflow, key=lambda t: t.sort_key()):
            if not (
                self.insert_anywhere(task)
                or (task.contact.priority <= URGENT_PRIORITY and self.make_room(task))
            ):
                self.drop(task)

    def insert_anywhere(self, task: _Task) -> bool:
        return any(
            self.reachable(task, coord) and self.insert_sealed(task, coord)
            for coord in self.chain(task, booked_only=False)
        )

    def make_room(self, task: _Task) -> bool:
        """Put an urgent contact in place of the least urgent routine visit of a day.

        Coordinators in the usual order (the booked one first); in their days, the
        routine visit to give way is the lowest priority, deferrable first, due
        latest. It is inserted elsewhere where it disturbs the fewest stops, or
        listed as unplanned with the reason: nothing is dropped silently.
        """
        for coord in self.chain(task, booked_only=False):
            if not self.reachable(task, coord):
                continue
            days = set(self.sealed_days_for(task, coord.code)) | set(
                self.days_for(task, coord.code)
            )
            for day in sorted(days):
                key = (coord.code, day)
                route = self.routes.get(key) or (self.thaw(key) if key in self.frozen else None)
                if route is None:
                    continue
                victims = sorted(
                    (
                        t
                        for t in route.tasks
                        if not t.fixed and not t.phone and t.contact.priority > URGENT_PRIORITY
                    ),
                    key=lambda t: (
                        -t.contact.priority,
                        0 if t.contact.deferrable else 1,
                        -t.contact.latest.toordinal(),
                        t.key,
                    ),
                )
                for victim in victims:
                    trial = _Route(coord, day, [t for t in route.tasks if t is not victim])
                    trial.timed, _ = _schedule(coord, trial.tasks, self.trips)
                    found = self.insertion(task, trial) if trial.timed is not None else None
                    if found is None:
                        continue
                    trial.tasks.insert(found[1], task)
                    trial.timed = found[2]
                    self.frozen.pop(key, None)
                    self.frozen_return.pop(key, None)
                    self.touched.add(key)
                    self.routes[key] = trial
                    self.relocate(_Task(victim.contact, victim.order), day)
                    return True
        return False

    def relocate(self, task: _Task, day: dt.date) -> None:
        if not self.insert_anywhere(task):
            reason = f"gave way to an urgent visit on {day}; no other room"
            self.drop(task, reason + _deferral(task.contact))

    def insert_sealed(self, task: _Task, coord: Coordinator) -> bool:
        """Insert into one of ``coord``'s kept (or already touched) routes, if it fits.

        The route and position that move the fewest existing stops win (then an
        already touched route, then the cheapest insertion); existing stops keep
        their order, and only that route changes.
        """
        best: tuple[tuple[float, ...], _Route, int, _Timed] | None = None
        for day in self.sealed_days_for(task, coord.code):
            key = (coord.code, day)
            route = self.routes.get(key) or self.thaw(key)
            found = self.insertion(task, route)
            if found is None:
                continue
            moved, *rest = found[0]
            score = (moved, 0 if key in self.touched else 1, *rest)
            if best is None or score < best[0]:
                best = (score, route, found[1], found[2])
        if best is None:
            return False
        _, route, pos, timed = best
        key = (route.coord.code, route.day)
        self.frozen.pop(key, None)
        self.frozen_return.pop(key, None)
        self.touched.add(key)
        route.tasks.insert(pos, task)
        route.timed = timed
        self.routes[key] = route
        return True

    def thaw(self, key: tuple[str, dt.date]) -> _Route:
        """A frozen route as tasks (not yet unfrozen: that happens on insertion)."""
        coord = self.coords[key[0]]
        stops = sorted(self.frozen[key], key=lambda s: s.sequence)
        tasks = [
            _Task(self.contacts[s.contact_key], -1, pinned=key, original=_minute(s.start))
            for s in stops
        ]
        timed, _ = _schedule(coord, tasks, self.trips)
        return _Route(coord, key[1], tasks, timed)

    # -- the plan ----------------------------------------------------------------------

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
            for seq, (task, begin, (minutes, km)) in enumerate(
                zip(route.tasks, route.timed.starts, route.timed.legs, strict=True), start=1
            ):
                c = task.contact
                plan.stops.append(
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
            plan.return_km[key] = round(route.timed.back[1], 3)
        plan.stops.sort(key=lambda s: (s.day, s.staff_code, s.sequence))
        plan.unplanned.extend(sorted(self.unplanned, key=lambda u: u.contact_key))
        return plan


# -- public planner API -------------------------------------------------------------------


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
        todo = sorted(by_route[key], key=lambda t: t.order)
        route = _Route(coord, key[1], [t for t in todo if t.phone])
        todo = [t for t in todo if not t.phone]
        timed, _ = _schedule(coord, route.tasks, planner.trips)
        while timed is None and route.tasks:
            planner.drop(route.tasks.pop(), "calls do not fit the day")
            timed, _ = _schedule(coord, route.tasks, planner.trips)
        here = coord.office
        while todo and route.visits < coord.max_visits_per_day:
            nearest = sorted(
                todo, key=lambda t: (planner.trips.leg(here, t.contact.place)[1], t.order)
            )
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
        planner.routes[key] = route
    return planner.plan()


def plan_km(plan: Plan) -> float:
    """Total driving of a plan: every leg to a stop and every drive back to the office."""
    return sum(s.travel_km for s in plan.stops) + sum(plan.return_km.values())


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
