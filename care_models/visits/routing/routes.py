"""Routing a coordinator's days with PyVRP, then the exact schedules: steps 4 and 5."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from care_models.visits.model import Coordinator
from care_models.visits.routing.assignment import _Assignment
from care_models.visits.routing.timelines import (
    _minute,
    _Route,
    _schedule,
    _Task,
    _Timed,
)
from care_models.visits.routing.vrptw import (
    VrptwClient,
    VrptwInstance,
    VrptwVehicleType,
    solve_vrptw,
)
from care_models.visits.travel import travel_matrices

_Copy = tuple[_Task, int, int]  # a contact with one allowed range of start minutes

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


class _Routing(_Assignment):
    """Per-coordinator PyVRP problems, calls and repair afterwards."""

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
        copies = [(task, lo, hi) for task in tasks for lo, hi in task.ranges(coord)]
        vehicle_days, vehicle_types = self.vehicles(coord, days, tasks, copies)
        if not vehicle_types:
            return list(tasks)
        instance = self.block_instance(coord, days, tasks, copies, vehicle_types)
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

    def vehicles(
        self, coord: Coordinator, days: list[dt.date], tasks: list[_Task], copies: list[_Copy]
    ) -> tuple[list[dt.date], list[VrptwVehicleType]]:
        """One vehicle per day with an eligible contact: its capacity and working hours."""
        eligible = {task: set(self.days_for(task, coord.code)) & set(days) for task in tasks}
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
        return vehicle_days, vehicle_types

    def block_instance(
        self,
        coord: Coordinator,
        days: list[dt.date],
        tasks: list[_Task],
        copies: list[_Copy],
        vehicle_types: list[VrptwVehicleType],
    ) -> VrptwInstance:
        """The PyVRP instance: a copy of a contact per allowed range (alternatives)."""
        places = [coord.office] + [t.place(coord) for t, _, _ in copies]
        unique = sorted(set(places), key=lambda p: (p.latitude, p.longitude))
        where = {p: i for i, p in enumerate(unique)}
        km, minutes = travel_matrices(self.travel, unique)
        idx = np.array([where[p] for p in places])
        group_of = {task: i for i, task in enumerate(tasks)}
        return VrptwInstance(
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
