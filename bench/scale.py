"""Scale benchmark: two weeks of home visits for a 100,000-client county, the per-team
solves mapped on the CeleryExecutor stack with 1 worker and with 2, against the same
solves in one process.

1. **The county.** ``build_county(clients)`` is loaded with ``load_county`` into a
   scratch PostgreSQL database migrated by the project's migrations, and backed up
   with ``care_models.backup`` (``pg_dump``). Every measurement below starts from that
   backup restored into a fresh database (``pg_restore``, then ``ANALYZE``): a re-run
   reuses a plan in force and solves nothing, so each needs the county as it was.
2. **One process.** The solves the workflow's mapped ``solve`` task makes (one per
   town team; ``care_models.visits.workflow.solve_job``, which the task calls), one
   after the other in this process, for the jobs ``gate_demand`` lists (its data
   gate left out).
3. **The stack.** ``care_sim.stack`` (``make stack``'s processes, on ports, databases
   and Redis databases of its own, schedules off) with both Celery workers; then one
   worker stopped (a warm shutdown) and the other alone. Each time
   ``home_visit_planning`` is triggered through the REST API (a token from the auth
   manager) with ``{"plan": "next", "horizon_days": 14}`` and the routing budget
   below, and timed from its task instances: **solves** is from the first solve's
   start to the last one's end, **run** from the run being queued to the last
   solve's end (the demand step, its gate and the scheduling included). Then the run
   is marked failed: the plan gate and publishing (day sheets for every coordinator)
   are not part of the measurement, unless ``--whole-run``.

What the ratio measures. Each worker has ``--slots`` task slots (1; deploy/stack.env
gives 2) and at most ``--solves-at-once`` solves run at once over all workers
(``AIRFLOW__CARE__ROUTING_SOLVES_AT_ONCE``, 2, the workflow's default): one worker
runs one solve at a time, two run two. The ratio 1 worker / 2 workers is therefore
the speed-up of two solves at once over one, on this machine: with 2 cores it is at
most 2, less what the stack's own processes take. With ``--slots 2`` one worker
already runs two solves at once and the ratio says only what a second machine would
add, which on one 2-core machine is nothing. One process / 1 worker is what the
stack costs (task start, parsing, XCom).

The jobs. The workflow solves one job per routing team: a town's team, or in a town
of more than ``TEAM_SIZE`` (24) coordinators, teams of at most that many
(``care_models.visits.planning.team_partitions``). The synthetic county keeps its
seven towns at any size, so at 100,000 clients JC-01 alone has 892 coordinators and
is solved as 38 teams; the county makes 116 jobs. A job reads only the demand its
team may serve (``care_models.visits.served``), so its cost follows its team, not
the county. Before teams, JC-01's one job grew with the square of the county (the
planner's repair tries each contact that found no room at every coordinator, day
and position of its job) and took longer than every other job together.

The routing budget is the planner's own: ``--seconds-per-problem`` (the workflow's
``seconds_per_problem`` param; 1.0 on schedule) is PyVRP's work for one
coordinator's problem, a fixed number of iterations (so both sides plan the same),
with a safety time limit of max(5 s, 3 x that) per problem. The default here, 0.1, is
a tenth of the workflow's: it still solves every coordinator's problem, with fewer
iterations (the repair above does not depend on it).

    .venv/bin/python bench/scale.py [--clients 100000] [--seconds-per-problem 0.1]
        [--slots 1] [--solves-at-once 2] [--horizon-days 14] [--whole-run]
        [--timeout 3600] [--postgres URL]

A quick run: ``--clients 5000``. Needs PostgreSQL (``CARE_TEST_POSTGRES_URL``, by
default the local server as the tests use it) with ``pg_dump``/``pg_restore``, and
Redis (127.0.0.1:6379; two empty databases from 4-5 to 14-15). Everything runs in a
temporary directory and scratch databases, removed at the end, also on failure or
SIGTERM (the stack brought down, its databases dropped).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.scratch import scratch_environment
from care_models import migrations
from care_models.backup import backup, restore
from care_models.db import make_engine, session_factory
from care_models.synthetic.county import build_county
from care_models.synthetic.load import load_county
from care_models.visits import workflow
from care_sim import stack as native

DAG = "home_visit_planning"
ADMIN_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379"
# The runs' dates (Asia/Seoul): each plans the two weeks from the next Monday, 2 November
# 2026, whatever the weekday; a logical date is used once per DAG.
RUN_DAYS = (dt.date(2026, 10, 27), dt.date(2026, 10, 28))
RUN_HOUR_UTC = 6  # 15:00 in Seoul
TERMINAL = {"success", "failed", "upstream_failed", "skipped", "removed"}
BUSY = {"running", "queued", "scheduled", "up_for_retry", "up_for_reschedule", "restarting"}


def say(message: str) -> None:
    print(message, flush=True)


# -- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """One measurement of the solves: their span, the run's, each solve's time and host."""

    solves_s: float
    run_s: float | None = None  # queued to the last solve's end (the stack only)
    whole_run_s: float | None = None  # queued to the run's end (--whole-run)
    per_town: dict[str, float] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Figures:
    clients: int
    coordinators: int
    contacts: int
    solves: int
    seconds_per_problem: float
    one_process: Measured
    one_worker: Measured
    two_workers: Measured

    @property
    def ratio(self) -> float:
        """Wall time of the solves with 1 worker over 2 workers (a speed-up: > 1 is faster)."""
        return ratio(self.one_worker.solves_s, self.two_workers.solves_s)

    @property
    def run_ratio(self) -> float | None:
        one, two = self.one_worker.run_s, self.two_workers.run_s
        return None if one is None or two is None else ratio(one, two)


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("inf")


def safety_limit(seconds_per_problem: float) -> float:
    """The planner's safety time limit of one PyVRP problem (routing/routes.py)."""
    from care_models.visits.routing.routes import CEILING_FACTOR, MIN_CEILING

    return max(MIN_CEILING, seconds_per_problem * CEILING_FACTOR)


def table(figures: Figures, towns: dict[str, tuple[int, int]]) -> list[str]:
    """The final table: each side's solves and run, the ratios; then each team's solve."""

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    sides = (
        ("one process", figures.one_process),
        ("stack, 1 worker", figures.one_worker),
        ("stack, 2 workers", figures.two_workers),
    )
    lines = [f"{'':<28} {'solves (s)':>11} {'run (s)':>9}"]
    lines += [f"{name:<28} {cell(m.solves_s):>11} {cell(m.run_s):>9}" for name, m in sides]
    run_ratio = figures.run_ratio
    lines.append(
        f"{'ratio 1 worker / 2 workers':<28} {figures.ratio:>11.2f} "
        f"{'-' if run_ratio is None else f'{run_ratio:.2f}':>9}"
    )
    lines.append(
        f"{'1 worker / one process':<28} "
        f"{ratio(figures.one_worker.solves_s, figures.one_process.solves_s):>11.2f}"
    )
    if figures.two_workers.whole_run_s is not None:
        lines.append(
            f"whole runs (publishing included): 1 worker {cell(figures.one_worker.whole_run_s)} s,"
            f" 2 workers {cell(figures.two_workers.whole_run_s)} s"
        )
    lines.append("")
    lines.append(
        f"{'team':<9} {'staff':>6} {'contacts':>9} {'one process':>12} {'1 worker':>9} "
        f"{'2 workers':>10}  host (2 workers)"
    )
    for town in sorted(figures.one_process.per_town):
        staff, contacts = towns.get(town, (0, 0))
        lines.append(
            f"{town:<9} {staff:>6} {contacts:>9} "
            f"{cell(figures.one_process.per_town.get(town)):>12} "
            f"{cell(figures.one_worker.per_town.get(town)):>9} "
            f"{cell(figures.two_workers.per_town.get(town)):>10}  "
            f"{figures.two_workers.hosts.get(town, '')}"
        )
    return lines


# -- scratch databases -------------------------------------------------------------------------


class Databases:
    """Scratch databases on one server, every one dropped by :meth:`drop_all`."""

    def __init__(self, admin_url: str) -> None:
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.made: list[str] = []

    def url(self, name: str) -> str:
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def fresh(self, name: str) -> str:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        if name not in self.made:
            self.made.append(name)
        return self.url(name)

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in self.made:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.made.clear()
        self.admin.dispose()


def restore_fresh(databases: Databases, name: str, path: Path) -> str:
    """The backup restored into the fresh database ``name``, analysed; its URL."""
    url = databases.fresh(name)
    engine = make_engine(url)
    try:
        restore(engine, path)
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    finally:
        engine.dispose()
    return url


def build(databases: Databases, name: str, clients: int, vault: Any, path: Path) -> None:
    engine = make_engine(databases.fresh(name))
    try:
        migrations.upgrade(engine)
        with Session(engine) as session, session.begin():
            counts = load_county(session, vault, build_county(clients=clients))
        say(f"   {counts['clients']} clients, {counts['staff']} staff loaded")
        backup(engine, path, dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()


# -- one process -------------------------------------------------------------------------------


def solve_in_one_process(
    url: str, today: dt.date, days: int, seconds_per_problem: float
) -> tuple[Measured, list[dict[str, Any]], dict[str, tuple[int, int]], int]:
    """The jobs gate_demand lists, each solved by solve_job one after the other."""
    from care_models.visits.planning import team, team_partitions

    engine = make_engine(url)
    try:
        factory = session_factory(engine)
        gated = workflow.gate_demand(factory, lambda *_: None, "next", days, today)
        jobs = list(gated["jobs"])
        first, last = workflow.horizon(today, days)
        inputs = workflow.load_inputs(factory, first, last)
        by_town, _ = team_partitions(inputs.contacts, inputs.staff)
        towns = {t: (len(team(inputs.staff, t)), len(c)) for t, c in by_town.items()}
        per_town: dict[str, float] = {}
        began = time.perf_counter()
        for job in jobs:
            started = time.perf_counter()
            rows = workflow.solve_job(factory, job, today, seconds_per_problem)
            per_town[job["town"]] = time.perf_counter() - started
            say(
                f"   {job['town']}: {per_town[job['town']]:.1f} s, {len(rows['stops'])} stops, "
                f"{len(rows['unplanned'])} unplanned"
            )
        total = time.perf_counter() - began
    finally:
        engine.dispose()
    return Measured(total, per_town=per_town), jobs, towns, len(inputs.staff)


# -- the stack ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_pair() -> int:
    """The first of two empty Redis databases (other stacks keep keys in their broker's)."""
    first = native.empty_redis_pair(REDIS)
    if first is None:
        raise SystemExit("no two empty Redis databases between 4 and 15")
    return first


class BenchError(RuntimeError):
    pass


def _when(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp)


class Airflow:
    """The stack's REST API as the admin (a token from the auth manager)."""

    def __init__(self, layout: native.Layout) -> None:
        import httpx

        password = native.admin_password(layout)
        if not password:
            raise BenchError("the API server wrote no admin password")
        answer = httpx.post(
            f"{layout.api_url}/auth/token",
            json={"username": "admin", "password": password},
            timeout=30,
        )
        answer.raise_for_status()
        token = answer.json()["access_token"]
        self.api = httpx.Client(
            base_url=layout.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    def get(self, path: str, **params: Any) -> Any:
        answer = self.api.get(path, params=params)
        if answer.status_code != 200:
            raise BenchError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def wait_for_dag(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while self.api.get(f"/api/v2/dags/{DAG}").status_code != 200:
            if time.monotonic() > deadline:
                raise BenchError(f"{DAG} not parsed after {timeout:.0f} s")
            time.sleep(2)
        self.api.patch(f"/api/v2/dags/{DAG}", json={"is_paused": False}).raise_for_status()

    def trigger(self, day: dt.date, conf: dict[str, Any]) -> str:
        logical = dt.datetime.combine(day, dt.time(RUN_HOUR_UTC), dt.UTC)
        answer = self.api.post(
            f"/api/v2/dags/{DAG}/dagRuns",
            json={"logical_date": logical.isoformat(), "conf": conf},
        )
        if answer.status_code != 200:
            raise BenchError(f"trigger: {answer.status_code} {answer.text[:300]}")
        return str(answer.json()["dag_run_id"])

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self.get(f"/api/v2/dags/{DAG}/dagRuns/{run_id}"))

    def task_instances(self, run_id: str) -> list[dict[str, Any]]:
        """All of the run's task instances, page by page (the API caps a page, at 100 by
        default, whatever limit is asked: a county of 100,000 clients maps 116 solves)."""
        path = f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances"
        found: list[dict[str, Any]] = []
        while True:
            page = self.get(path, limit=100, offset=len(found), order_by="id")
            found += page["task_instances"]
            total = page.get("total_entries")
            if len(page["task_instances"]) < 100 or (total is not None and len(found) >= total):
                return found

    def measure(self, run_id: str, whole: bool, timeout: float) -> Measured:
        """Wait for the run's solves (or the whole run) and time them from the task
        instances; then, unless ``whole``, mark the run failed and wait until it is quiet."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id)
            tis = self.task_instances(run_id)
            broken = [
                f"{t['task_id']}[{t['map_index']}] {t['state']}"
                for t in tis
                if t["state"] in ("failed", "upstream_failed")
            ]
            if broken or run["state"] == "failed":
                raise BenchError(f"run {run_id} {run['state']}: " + ", ".join(broken))
            jobs = [t for t in tis if t["task_id"] == "jobs"]
            solves = [t for t in tis if t["task_id"] == "solve"]
            solved = bool(jobs) and jobs[0]["state"] == "success" and bool(solves)
            solved = solved and all(t["state"] in TERMINAL for t in solves)
            if solved and (not whole or run["state"] == "success"):
                break
            if time.monotonic() > deadline:
                raise BenchError(f"run {run_id} not done after {timeout:.0f} s")
            time.sleep(2)
        first = min(_when(t["start_date"]) for t in solves)
        last = max(_when(t["end_date"]) for t in solves)
        queued = _when(run["queued_at"])
        towns = {str(t.get("rendered_map_index") or t["map_index"]).split()[0]: t for t in solves}
        measured = Measured(
            (last - first).total_seconds(),
            run_s=(last - queued).total_seconds(),
            whole_run_s=(_when(run["end_date"]) - queued).total_seconds() if whole else None,
            per_town={town: float(t["duration"] or 0) for town, t in towns.items()},
            hosts={town: str(t["hostname"]) for town, t in towns.items()},
        )
        if not whole:
            self.stop(run_id)
        return measured

    def stop(self, run_id: str, timeout: float = 300.0) -> None:
        """Mark the run failed (the plan gate and publishing are not measured) and wait
        until none of its tasks runs."""
        if self.run(run_id)["state"] not in ("success", "failed"):
            answer = self.api.patch(
                f"/api/v2/dags/{DAG}/dagRuns/{run_id}", json={"state": "failed"}
            )
            answer.raise_for_status()
        deadline = time.monotonic() + timeout
        while any(t["state"] in BUSY for t in self.task_instances(run_id)):
            if time.monotonic() > deadline:
                raise BenchError(
                    f"run {run_id}: tasks still running {timeout:.0f} s after it ended"
                )
            time.sleep(2)


def stack_layout(run_dir: Path, admin_url: str, args: argparse.Namespace) -> native.Layout:
    return native.Layout(
        run_dir=run_dir,
        name=f"bench_scale_{os.getpid()}",
        port=free_port(),
        care_port=free_port(),
        redis_db=redis_pair(),
        postgres=admin_url,
        overrides={
            # only the benchmark's runs: no schedules, no Asset-triggered runs
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(args.slots),
            "AIRFLOW__CARE__ROUTING_SOLVES_AT_ONCE": str(args.solves_at_once),
        },
    )


def on_stack(
    layout: native.Layout, backup_path: Path, databases: Databases, args: argparse.Namespace
) -> tuple[Measured, Measured]:
    """Both workers, then one: each run on the county restored afresh."""
    care = layout.databases[1]
    conf = {
        "plan": "next",
        "horizon_days": args.horizon_days,
        "seconds_per_problem": args.seconds_per_problem,
    }
    native.up(layout, echo=lambda line: say("   " + line))
    airflow = Airflow(layout)
    airflow.wait_for_dag()
    results: list[Measured] = []
    for workers, day in zip((2, 1), RUN_DAYS, strict=True):
        if workers == 1:
            (second,) = [p for p in native.recorded(layout.run_dir) if p.name == native.WORKERS[1]]
            native.stop(second, grace=120)
            say(f"   {second.name} stopped; {native.WORKERS[0]} alone")
        began = time.perf_counter()
        restore_fresh(databases, care, backup_path)
        say(f"   {care} restored in {time.perf_counter() - began:.1f} s")
        run_id = airflow.trigger(day, conf)
        measured = airflow.measure(run_id, args.whole_run, args.timeout)
        hosts = Counter(measured.hosts.values())
        say(
            f"-- {workers} worker(s): solves {measured.solves_s:.1f} s, run {measured.run_s:.1f} s "
            f"(solves per worker: {dict(sorted(hosts.items()))})"
        )
        results.append(measured)
    return results[1], results[0]


# -- the whole benchmark -----------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument(
        "--seconds-per-problem",
        type=float,
        default=0.1,
        help="PyVRP's work budget per coordinator's problem (the workflow's: 1.0)",
    )
    parser.add_argument("--slots", type=int, default=1, help="task slots of each worker")
    parser.add_argument(
        "--solves-at-once", type=int, default=2, help="solves running at once, all workers"
    )
    parser.add_argument("--horizon-days", type=int, default=14)
    parser.add_argument("--whole-run", action="store_true", help="wait for publishing too")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per stack run")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CARE_TEST_POSTGRES_URL", ADMIN_POSTGRES_URL),
        help="an administrator's URL of the PostgreSQL server",
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.slots < 1 or args.solves_at_once < 1:
        parser.error("--clients, --slots and --solves-at-once must be at least 1")
    if not 0.01 <= args.seconds_per_problem <= 30:
        parser.error("--seconds-per-problem must be between 0.01 and 30 (the workflow's range)")
    if not 1 <= args.horizon_days <= 31:
        parser.error("--horizon-days must be between 1 and 31")
    return args


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # the finally blocks clean up


@contextmanager
def cleaned_up(databases: Databases) -> Iterator[list[native.Layout]]:
    """The stacks started inside are brought down and the databases dropped, whatever
    happens (SIGTERM included)."""
    layouts: list[native.Layout] = []
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield layouts
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # cleaning up is not interrupted
        for layout in layouts:
            try:
                native.down(layout, grace=20, drop=True, echo=lambda line: say("   " + line))
            except Exception as exc:  # the databases still go below
                say(f"   stack down failed: {exc}")
        databases.drop_all()
        say("==> cleaned up: stack down, scratch databases dropped")
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    limit = safety_limit(args.seconds_per_problem)
    say(
        f"== {args.clients} clients, {args.horizon_days} days from the Monday after "
        f"{RUN_DAYS[0]}; {args.seconds_per_problem:g} s of PyVRP work per routing problem "
        f"(safety limit {limit:g} s); workers with {args.slots} slot(s), at most "
        f"{args.solves_at_once} solves at once"
    )
    began = time.perf_counter()
    tag = uuid.uuid4().hex[:8]
    databases = Databases(args.postgres)
    with scratch_environment("care_bench_scale_") as scratch, cleaned_up(databases) as layouts:
        path = scratch.folder / "county.backup"
        step = time.perf_counter()
        build(databases, f"care_bench_scale_{tag}", args.clients, scratch.vault, path)
        say(f"==> county built and backed up in {time.perf_counter() - step:.1f} s")

        step = time.perf_counter()
        url = restore_fresh(databases, f"care_bench_scale_{tag}_solo", path)
        say(f"==> restored in {time.perf_counter() - step:.1f} s; the solves in one process")
        solo, jobs, towns, coordinators = solve_in_one_process(
            url, RUN_DAYS[0], args.horizon_days, args.seconds_per_problem
        )
        say(f"-- one process: {solo.solves_s:.1f} s for {len(jobs)} solves")

        say("==> the stack")
        layout = stack_layout(scratch.folder / "stack", args.postgres, args)
        layouts.append(layout)
        one, two = on_stack(layout, path, databases, args)

        figures = Figures(
            clients=args.clients,
            coordinators=coordinators,
            contacts=sum(contacts for _, contacts in towns.values()),
            solves=len(jobs),
            seconds_per_problem=args.seconds_per_problem,
            one_process=solo,
            one_worker=one,
            two_workers=two,
        )
    say("")
    say(
        f"== {figures.clients} clients, {figures.coordinators} coordinators, {figures.contacts} "
        f"contacts routed by team; {figures.solves} team solves; "
        f"{figures.seconds_per_problem:g} s of PyVRP work per problem (safety limit {limit:g} s)"
    )
    for line in table(figures, towns):
        say(line)
    say(f"(benchmark wall time {time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
