"""The generic VRPTW core on PyVRP: instances, the model build and the solve.

See the package docstring (:mod:`care_models.visits.routing`) for the objective and scaling.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import vrplib
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
    """A Solomon / Gehring–Homberger file, read by ``vrplib``; ``customers`` keeps the first N."""
    data = vrplib.read_instance(path, instance_format="solomon", compute_edge_weights=False)
    coords, windows = data["node_coord"], data["time_window"]
    demand, service = data["demand"], data["service_time"]
    last = len(coords) if customers is None else min(len(coords), customers + 1)
    clients = tuple(
        VrptwClient(
            x=float(coords[i][0]),
            y=float(coords[i][1]),
            demand=int(demand[i]),
            ready=float(windows[i][0]),
            due=float(windows[i][1]),
            service=float(service[i]),
        )
        for i in range(1, last)
    )
    name = str(data["name"])
    return VrptwInstance(
        name=name if customers is None else f"{name}.{customers}",
        depot=(float(coords[0][0]), float(coords[0][1])),
        clients=clients,
        vehicle_types=(
            VrptwVehicleType(count=int(data["vehicles"]), capacity=int(data["capacity"])),
        ),
        depot_ready=float(windows[0][0]),
        depot_due=float(windows[0][1]),
    )


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
    clients, groups = _clients(instance)
    profile_of, distances, durations = _profiles(instance, dist, dur)
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
        distances,  # type: ignore[arg-type]
        durations,  # type: ignore[arg-type]
        groups,
    )


def _clients(instance: VrptwInstance) -> tuple[list[Client], list[ClientGroup]]:
    """PyVRP clients (location i + 1) and the groups of alternatives."""
    scale = instance.scale
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
    return clients, [ClientGroup(members[g], required=False) for g in group_ids]


def _profiles(
    instance: VrptwInstance, dist: np.ndarray, dur: np.ndarray
) -> tuple[dict[frozenset[int] | None, int], list[np.ndarray], list[np.ndarray]]:
    """One routing profile per distinct client set; profile 0 lets everyone go anywhere."""
    n = len(instance.clients)
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
    return profile_of, distances, durations


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
