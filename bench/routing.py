"""Routing benchmark: the VRPTW core against best-known solutions, then two weeks of visits.

(a) ``solve_vrptw`` on Solomon (100 customers) and Gehring-Homberger (400 customers)
    instances from ../shared/data/benchmarks (or $BENCHMARK_DATA), hierarchical objective (vehicles,
    then distance, double precision). Prints vehicles, distance, the best-known
    solution (BKS) and the gap; goals: <= 1 % on 100 customers, <= 5 % on 400, with the
    BKS number of vehicles (a solution with more vehicles is worse whatever its
    distance, so its distance gap is not counted as met). Default: one instance of
    each class C1, C2, R1, R2, RC1, RC2 per size; ``--instances`` or ``--all``.
(b) ``plan_days`` over two weeks (10 business days) for the synthetic county (450
    clients) and a 10,000-client district: demand and coordinators come from the
    project's own demand and supply modules on a scratch SQLite database loaded with
    ``build_county`` (``--demand plain`` builds a simplified demand from the plain
    county data instead, without a database). Prints the planning wall time (goals:
    450 clients < 60 s, 10,000 < 10 min) and the plan's total driving against the
    greedy nearest-neighbour baseline computed in the same run.

    .venv/bin/python bench/routing.py [--part all|vrptw|care] [--seconds 60]
        [--instances C101,r1_4_1 | --all] [--clients 450,10000]
        [--seconds-per-problem 1.0] [--start 2026-11-02] [--demand db|plain]

Absolute figures depend on the machine; every instance and plan runs one at a time.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from care_models.synthetic.county import TOWNS, ClientSpec, build_county
from care_models.synthetic.load import load_county
from care_models.visits.model import SKILLS_BY_SERVICE, Coordinator, DueContact, Place, Plan
from care_models.visits.routing import (
    nearest_neighbour_plan,
    plan_days,
    plan_km,
    read_solomon,
    solve_vrptw,
)
from care_models.visits.travel import HaversineTravel

DATA = Path(
    os.environ.get(
        "BENCHMARK_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmarks"
    )
)
DEFAULT_INSTANCES = (
    "C101",
    "C201",
    "R101",
    "R201",
    "RC101",
    "RC201",
    "c1_4_1",
    "c2_4_1",
    "r1_4_1",
    "r2_4_1",
    "rc1_4_1",
    "rc2_4_1",
)
# The benchmark README: other public tables list R101 as 19 / 1650.80 (the CSV has
# 1645.79, a value the source itself doubts); measurements here use 1650.80.
BKS_OVERRIDES = {"R101": (19, 1650.80)}
GAP_GOALS = {100: 1.0, 400: 5.0}  # % distance over BKS, at the BKS number of vehicles
TIME_GOALS = {450: 60.0, 10_000: 600.0}  # seconds to plan two weeks


# -- (a) VRPTW -------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    vehicles: int
    distance: float


def best_known() -> dict[str, Known]:
    known: dict[str, Known] = {}
    with (DATA / "solomon" / "BKS.csv").open() as fh:
        for row in csv.DictReader(fh):
            known[row["instance"]] = Known(int(row["hier_vehicles"]), float(row["hier_distance"]))
    with (DATA / "gehring_homberger" / "BKS_sintef_mirror.csv").open() as fh:
        for row in csv.DictReader(fh):
            known[row["instance"]] = Known(int(row["routes"]), float(row["distance"]))
    for name, (vehicles, distance) in BKS_OVERRIDES.items():
        known[name] = Known(vehicles, distance)
    return known


def instance_path(name: str) -> Path:
    for folder in ("solomon", "gehring_homberger"):
        path = DATA / folder / f"{name}.txt"
        if path.exists():
            return path
    raise SystemExit(f"unknown instance {name!r} (no file under {DATA})")


def all_instances() -> list[str]:
    solomon = sorted(p.stem for p in (DATA / "solomon").glob("*.txt"))
    homberger = sorted(p.stem for p in (DATA / "gehring_homberger").glob("*_4_*.txt"))
    return solomon + homberger


def run_vrptw(names: Sequence[str], seconds: float, seed: int) -> None:
    known = best_known()
    print(f"== (a) VRPTW: {len(names)} instances, {seconds:g} s each, seed {seed}")
    print(
        f"{'instance':<10} {'n':>4} {'veh':>4} {'distance':>10} {'BKS veh':>7} "
        f"{'BKS dist':>10} {'gap %':>7}  {'time s':>6}  verdict"
    )
    gaps: dict[int, list[float]] = {}
    met: Counter[int] = Counter()
    for name in names:
        instance = read_solomon(instance_path(name))
        solution = solve_vrptw(instance, seconds=seconds, seed=seed)
        n = len(instance.clients)
        bks = known.get(name)
        if bks is None:
            print(f"{name:<10} {n:>4} {solution.vehicles:>4} {solution.distance:>10.2f}  (no BKS)")
            continue
        gap = (solution.distance - bks.distance) / bks.distance * 100
        goal = GAP_GOALS.get(n, 5.0)
        if not solution.feasible:
            verdict = "INFEASIBLE"
        elif solution.vehicles > bks.vehicles:
            verdict = f"+{solution.vehicles - bks.vehicles} vehicle(s): goal missed"
        elif solution.vehicles < bks.vehicles:
            verdict = "fewer vehicles than the BKS"
        else:
            verdict = "goal met" if gap <= goal else f"over the {goal:g} % goal"
        if solution.feasible and solution.vehicles == bks.vehicles:
            gaps.setdefault(n, []).append(gap)
        met[n] += verdict in ("goal met", "fewer vehicles than the BKS")
        print(
            f"{name:<10} {n:>4} {solution.vehicles:>4} {solution.distance:>10.2f} "
            f"{bks.vehicles:>7} {bks.distance:>10.2f} {gap:>7.2f}  {solution.runtime:>6.1f}  "
            f"{verdict}",
            flush=True,
        )
    sizes = Counter(len(read_solomon(instance_path(n)).clients) for n in names)
    for n, count in sorted(sizes.items()):
        mean = f"{statistics.fmean(gaps[n]):.2f} %" if gaps.get(n) else "n/a"
        print(
            f"   {n} customers: goal (<= {GAP_GOALS.get(n, 5.0):g} % at BKS vehicles) met on "
            f"{met[n]}/{count}; mean gap at BKS vehicles {mean} ({len(gaps.get(n, []))} inst.)"
        )


# -- (b) two weeks of home visits -----------------------------------------------------------


def demand_from_database(
    clients: int, start: dt.date, end: dt.date
) -> tuple[list[DueContact], list[Coordinator], list[dt.date]]:
    """The project's demand and supply modules on a scratch SQLite copy of the county."""
    from care_models import migrations
    from care_models.db import make_engine, session_factory
    from care_models.privacy import Vault, generate_key
    from care_models.visits.demand import expand_demand
    from care_models.visits.supply import coordinators, working_days

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/care.db")
        migrations.upgrade(engine)
        vault = Vault.from_keys([generate_key()], generate_key())
        with session_factory(engine)() as session:
            load_county(session, vault, build_county(clients=clients))
            session.commit()
        with session_factory(engine)() as session:
            contacts = expand_demand(session, start, end)
            staff = coordinators(session, start, end)
        engine.dispose()
    return contacts, staff, working_days(start, end)


def demand_from_plain_data(
    clients: int, start: dt.date, end: dt.date
) -> tuple[list[DueContact], list[Coordinator], list[dt.date]]:
    """A simplified demand built from ``build_county`` without a database.

    Fallback for when the demand/supply modules are unavailable: the same services,
    tiers and staff, with each cadence's share of a two-week horizon (a monthly
    contact is due for half of the clients, chosen by client number).
    """
    from care_models.workdays import is_business_day

    county = build_county(clients=clients)
    towns = {t.code: t for t in county.towns}
    days = [
        start + dt.timedelta(days=i)
        for i in range((end - start).days + 1)
        if is_business_day(start + dt.timedelta(days=i))
    ]
    staff = [
        Coordinator(
            staff_id=i,
            code=s.code,
            role=s.role,
            skills=frozenset(s.skills),
            town_code=s.town_code,
            office=Place(towns[s.town_code].latitude, towns[s.town_code].longitude),
            work_start=dt.time(9),
            work_end=dt.time(18),
            lunch_start=dt.time(12),
            lunch_end=dt.time(13),
            max_visits_per_day=s.max_visits_per_day,
            days_off=frozenset(d for d in s.leave if start <= d <= end),
        )
        for i, s in enumerate(county.staff, start=1)
    ]
    week2 = start + dt.timedelta(days=7)
    contacts: list[DueContact] = []

    def add(
        c: ClientSpec,
        number: int,
        service: str,
        mode: str,
        minutes: int,
        n: int,
        first: dt.date,
        last: dt.date,
        priority: int = 3,
    ) -> None:
        contacts.append(
            DueContact(
                key=f"{c.code}:{service}:{mode}:{first.isoformat()}:{n}",
                client_id=number,
                client_code=c.code,
                town_code=c.town_code,
                place=Place(c.latitude, c.longitude),
                service_type=service,
                mode=mode,
                skill=SKILLS_BY_SERVICE[service],
                duration_min=minutes,
                earliest=first,
                latest=last,
                purpose=service,
                window_start=c.window[0] if c.window else None,  # calls too
                window_end=c.window[1] if c.window else None,
                usual_staff_code=c.usual_staff_code,
                priority=priority,
            )
        )

    for number, c in enumerate(county.clients, start=1):
        half = number % 2 == 0  # due this fortnight for a monthly cadence
        for s in c.services:
            count = {"twice_monthly": 1, "monthly": 1 if half else 0}.get(
                s.cadence, math.ceil(s.contacts_per_period / 2)
            )
            if s.cadence == "monthly" and s.contacts_per_period > 1:
                count = math.ceil(s.contacts_per_period / 2)
            for n in range(count):
                add(c, number, s.service_type, s.mode, s.duration_min, n, start, end)
        if c.risk_tier == "at_risk":
            add(c, number, "monitoring", "phone", 15, 0, start, week2 - dt.timedelta(days=1))
            add(c, number, "monitoring", "phone", 15, 1, week2, end)
            if half:
                add(c, number, "monitoring", "visit", 40, 0, start, end, priority=2)
        elif (c.risk_tier == "caution" and half) or (c.risk_tier == "interest" and number % 4 == 0):
            add(c, number, "monitoring", "phone", 15, 0, start, end)
        elif c.risk_tier == "closed" and number % 12 == 0:
            add(c, number, "monitoring", "visit", 40, 0, start, end)
    return contacts, staff, days


def check(plan: Plan, contacts: list[DueContact], staff: list[Coordinator]) -> str:
    try:
        from care_models.visits.checks import check_plan
    except ImportError:
        return "plan checks not available"
    problems = check_plan(plan, contacts, staff)
    return f"plan checks: {len(problems)} problems" + (
        f" (first: {problems[0]})" if problems else ""
    )


def run_care(sizes: Sequence[int], start: dt.date, seconds_per_problem: float, demand: str) -> None:
    end = start + dt.timedelta(days=13)
    travel = HaversineTravel(
        urban_places=[Place(t.latitude, t.longitude) for t in TOWNS if t.kind == "eup"]
    )
    print(
        f"\n== (b) two weeks of home visits {start}..{end}, "
        f"{seconds_per_problem:g} s per routing problem, demand from {demand}"
    )
    for clients in sizes:
        began = time.perf_counter()
        if demand == "db":
            contacts, staff, days = demand_from_database(clients, start, end)
        else:
            contacts, staff, days = demand_from_plain_data(clients, start, end)
        prepared = time.perf_counter() - began
        kinds = Counter(c.mode for c in contacts)
        print(
            f"-- {clients} clients: {len(contacts)} contacts ({kinds['visit']} visits, "
            f"{kinds['phone']} calls), {len(staff)} coordinators, {len(days)} days "
            f"(demand built in {prepared:.1f} s)",
            flush=True,
        )
        began = time.perf_counter()
        plan = plan_days(
            contacts, staff, days, travel=travel, seconds_per_problem=seconds_per_problem
        )
        wall = time.perf_counter() - began
        began = time.perf_counter()
        greedy = nearest_neighbour_plan(contacts, staff, days, travel=travel)
        greedy_wall = time.perf_counter() - began
        goal = TIME_GOALS.get(clients)
        verdict = "" if goal is None else (" (goal met)" if wall < goal else " (goal MISSED)")
        limit = f" < {goal:g} s" if goal else ""
        print(f"   plan: wall time {wall:.1f} s{limit}{verdict}")
        for name, p in (("plan", plan), ("nearest neighbour", greedy)):
            km = plan_km(p)
            per_stop = km / max(1, len(p.stops))
            print(
                f"   {name}: {len(p.stops)} stops, {len(p.unplanned)} unplanned, "
                f"{km:.1f} km driving ({per_stop:.2f} km a stop)"
            )
        print(f"   nearest neighbour wall time {greedy_wall:.1f} s")
        ratio = plan_km(plan) / max(plan_km(greedy), 1e-9)
        print(
            f"   travel ratio plan / nearest neighbour: {ratio:.3f} "
            f"(plan serves {len(plan.stops) - len(greedy.stops):+d} more contacts)"
        )
        for reason, count in Counter(u.reason for u in plan.unplanned).most_common(3):
            print(f"   unplanned x{count}: {reason}")
        print(f"   {check(plan, contacts, staff)}", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("all", "vrptw", "care"), default="all")
    parser.add_argument("--seconds", type=float, default=60.0, help="per VRPTW instance")
    parser.add_argument("--seed", type=int, default=1)
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--instances", help="comma-separated, e.g. C101,r1_4_1")
    chosen.add_argument("--all", action="store_true", help="every Solomon and GH 400 instance")
    parser.add_argument("--clients", default="450,10000", help="comma-separated county sizes")
    parser.add_argument("--seconds-per-problem", type=float, default=1.0)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2026, 11, 2))
    parser.add_argument("--demand", choices=("db", "plain"), default="db")
    args = parser.parse_args(argv)
    if args.part in ("all", "vrptw"):
        if args.all:
            names = all_instances()
        elif args.instances:
            names = [n.strip() for n in args.instances.split(",") if n.strip()]
        else:
            names = list(DEFAULT_INSTANCES)
        run_vrptw(names, args.seconds, args.seed)
    if args.part in ("all", "care"):
        sizes = [int(n) for n in args.clients.split(",") if n.strip()]
        run_care(sizes, args.start, args.seconds_per_problem, args.demand)


if __name__ == "__main__":
    main()
