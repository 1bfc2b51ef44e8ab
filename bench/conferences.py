"""Conferences benchmark: a year of agendas and decisions by the project's own code.

A ``--clients`` county (default 10,000) from ``build_county`` is loaded with
``load_county`` into a scratch SQLite database. Then ``simulate_conferences``
(``care_models.synthetic.conference_history``) walks the days ``--from`` to ``--to``
(default 2025-12-01 to 2026-11-30, both included), in one transaction as ``python -m
care_models conferences history`` runs it: it keeps the schedule, seats and freezes the
agendas, holds the day's conferences, records their decisions and applies their effects,
with the same functions the workflow runs. Nothing is re-implemented: inside this script
only, the step functions the simulation imports are wrapped with timers
(``unittest.mock.patch`` on the names in ``care_models.synthetic.conference_history``):

- **schedule**: ``ensure_schedule`` (each Monday, and the first day);
- **seating**: ``seat_participants`` (the agenda's preparation: its roster);
- **agendas**: ``build_agenda`` (every build, the freeze day's included);
- **decisions**: ``record_decisions`` (one call per discussed case);
- **effects**: ``apply_effects`` (every day).

A step's time includes the ORM's flush of what was pending when it queries (an
autoflush). The rest of the simulation (new cases from intake, drawing decisions,
the day's conference query, freeze days, services' end dates) is printed apart,
as is the commit.

Each step's wall time is set against **the bare SQL that counts the same rows**,
measured in the same run once the year is written (one plain ``sqlalchemy.text``
statement, all rows fetched, on its own connection; the median of 5 runs):

- schedule: ``SELECT COUNT(*) FROM conferences``;
- seating: ``SELECT conference_id, COUNT(*) FROM conference_participants GROUP BY
  conference_id``;
- agendas: ``SELECT conference_id, COUNT(*) FROM agenda_items GROUP BY
  conference_id``;
- decisions: ``SELECT agenda_item_id, COUNT(*) FROM decisions GROUP BY
  agenda_item_id``;
- effects: the care plans approved or closed (``approved_on`` or ``valid_to``) and
  the planned services started (``start_date``) in the period: one statement of two
  ``COUNT(*)`` subqueries.

Printed per step: calls, wall time, mean per call, the rows the baseline counts, the
baseline's time, and the ratios step / baseline (the year's total) and per call /
baseline. Then, from the rows, ``conference_measures`` (``care_models.conferences.
measures``, the period half-open to the day after ``--to``): needs, decided and the
decision rate per need category and overall (one decimal), conferences held, moved
and cancelled per tier, and attendance per discipline.

    .venv/bin/python bench/conferences.py [--clients 10000] [--from 2025-12-01]
        [--to 2026-11-30] [--seed 2023]

A quick run: ``--clients 450``. Absolute figures depend on the machine; the ratios
are against baselines measured in the same run. Everything runs in a temporary
directory (database, CARE_VAR_DIR), removed at the end; the shell's ``CARE_``
settings are not used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from bench.scratch import county_database, scratch_environment
from care_models.conferences.measures import ConferenceMeasures, conference_measures
from care_models.schema import AgendaItem, Case, Client, Decision, Need
from care_models.synthetic import conference_history
from care_models.synthetic.county import build_county

P = ParamSpec("P")
R = TypeVar("R")

BASELINE_RUNS = 5
# (step, the name simulate_conferences calls it by, the bare count of its rows)
STEPS: tuple[tuple[str, str, str], ...] = (
    ("schedule", "ensure_schedule", "SELECT COUNT(*) FROM conferences"),
    (
        "seating",
        "seat_participants",
        "SELECT conference_id, COUNT(*) FROM conference_participants GROUP BY conference_id",
    ),
    (
        "agendas",
        "build_agenda",
        "SELECT conference_id, COUNT(*) FROM agenda_items GROUP BY conference_id",
    ),
    (
        "decisions",
        "record_decisions",
        "SELECT agenda_item_id, COUNT(*) FROM decisions GROUP BY agenda_item_id",
    ),
    (
        "effects",
        "apply_effects",
        "SELECT (SELECT COUNT(*) FROM care_plans"
        " WHERE approved_on BETWEEN :first AND :last OR valid_to BETWEEN :first AND :last)"
        " + (SELECT COUNT(*) FROM planned_services WHERE start_date BETWEEN :first AND :last)",
    ),
)


def say(message: str) -> None:
    print(message, flush=True)


# -- timing the steps ----------------------------------------------------------------------


@dataclass
class Step:
    name: str
    function: str
    baseline_sql: str
    calls: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    baseline_s: float = 0.0
    baseline_rows: int = 0


def timed(step: Step, function: Callable[P, R]) -> Callable[P, R]:
    """``function`` as it is, its calls and wall time added to ``step``."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent = time.perf_counter() - started
            step.calls += 1
            step.seconds += spent
            step.slowest = max(step.slowest, spent)

    return wrapper


class Progress:
    """A line at each month's end (seen through apply_effects, called every day)."""

    def __init__(self, steps: list[Step], began: float) -> None:
        self.steps = steps
        self.began = began

    def after_day(self, session: Session, day: dt.date) -> None:
        if (day + dt.timedelta(days=1)).day != 1:
            return
        items = session.scalar(select(func.count()).select_from(AgendaItem)) or 0
        decisions = session.scalar(select(func.count()).select_from(Decision)) or 0
        spent = ", ".join(f"{s.name} {s.seconds:.1f}" for s in self.steps)
        say(
            f"   {day:%Y-%m}: {items:6d} agenda items, {decisions:6d} decisions; "
            f"{time.perf_counter() - self.began:7.1f} s so far ({spent})"
        )


def timed_effects(step: Step, progress: Progress) -> Callable[..., Any]:
    """apply_effects timed, then the month's line (outside the step's time)."""
    inner = timed(step, conference_history.apply_effects)

    def wrapper(session: Session, today: dt.date, now: dt.datetime) -> Any:
        result = inner(session, today, now)
        progress.after_day(session, today)
        return result

    return wrapper


def measure_baseline(engine: Engine, step: Step, first: dt.date, last: dt.date) -> None:
    params = {"first": first.isoformat(), "last": last.isoformat()}
    times = []
    with engine.connect() as connection:
        for _ in range(BASELINE_RUNS):
            started = time.perf_counter()
            rows = connection.execute(text(step.baseline_sql), params).all()
            times.append(time.perf_counter() - started)
    step.baseline_s = statistics.median(times)
    step.baseline_rows = sum(int(r[-1]) for r in rows)


# -- the year -------------------------------------------------------------------------------


def run(clients: int, first: dt.date, last: dt.date, seed: int) -> None:
    days = (last - first).days + 1
    say(
        f"== conferences: a {clients}-client county, {first}..{last} ({days} days) by "
        f"simulate_conferences (seed {seed}), each step timed"
    )
    with scratch_environment("care-bench-conferences-") as scratch:
        folder, vault = scratch.folder, scratch.vault
        began = time.perf_counter()
        county = build_county(clients=clients)
        built = time.perf_counter() - began
        began = time.perf_counter()
        engine = county_database(f"sqlite:///{folder / 'conferences.db'}", vault, county)
        loaded = time.perf_counter() - began
        with Session(engine) as session:
            cases = session.scalar(select(func.count()).select_from(Case)) or 0
            needs = session.scalar(select(func.count()).select_from(Need)) or 0
            stored = session.scalar(select(func.count()).select_from(Client)) or 0
        say(
            f"   county built in {built:.1f} s, loaded in {loaded:.1f} s: {stored} clients, "
            f"{len(county.staff)} staff, {cases} cases, {needs} needs"
        )
        steps = [Step(name, function, sql) for name, function, sql in STEPS]
        began = time.perf_counter()
        progress = Progress(steps, began)
        with ExitStack() as patches:
            for step in steps:
                wrapped: Callable[..., Any]
                if step.name == "effects":
                    wrapped = timed_effects(step, progress)
                else:
                    wrapped = timed(step, getattr(conference_history, step.function))
                patches.enter_context(mock.patch.object(conference_history, step.function, wrapped))
            with Session(engine) as session:
                with session.begin():
                    history = conference_history.simulate_conferences(session, first, last, seed)
                    simulated = time.perf_counter() - began
                committed = time.perf_counter() - began - simulated
        for step in steps:
            measure_baseline(engine, step, first, last)
        with Session(engine) as session:
            figures = conference_measures(session, first, last + dt.timedelta(days=1))
        engine.dispose()
    report_steps(steps, simulated, committed)
    report_history(history)
    report_measures(figures)


def report_steps(steps: list[Step], simulated: float, committed: float) -> None:
    say(
        f"\n   simulation {simulated:.1f} s (commit {committed:.1f} s apart); per step, "
        f"against the bare count of its rows (median of {BASELINE_RUNS}):"
    )
    say(
        f"   {'step':<10} {'calls':>6} {'wall s':>9} {'ms/call':>9} {'rows':>8} "
        f"{'count ms':>9} {'year/count':>11} {'call/count':>11}"
    )
    for s in steps:
        per_call = s.seconds / s.calls if s.calls else 0.0
        base = max(s.baseline_s, 1e-9)
        say(
            f"   {s.name:<10} {s.calls:>6} {s.seconds:>9.2f} {per_call * 1000:>9.2f} "
            f"{s.baseline_rows:>8} {s.baseline_s * 1000:>9.3f} {s.seconds / base:>11.0f} "
            f"{per_call / base:>11.1f}"
        )
    rest = simulated - sum(s.seconds for s in steps)
    say(
        f"   {'rest':<10} {'':>6} {rest:>9.2f}   (new cases, drawing decisions, the day's "
        f"query, freeze days, services' end dates)"
    )
    slowest = max(steps, key=lambda s: s.slowest)
    say(f"   slowest single call: {slowest.name} {slowest.slowest:.2f} s")


def report_history(history: conference_history.History) -> None:
    made = history.as_dict()
    decided = ", ".join(f"{k} {v}" for k, v in history.by_decision.items())
    say(
        f"\n   history: {made['days']} days, {made['conferences_held']} conferences held, "
        f"{made['agenda_items']} agenda items, {made['decisions']} decisions ({decided}), "
        f"{made['new_cases']} new cases from intake"
    )


def report_measures(figures: ConferenceMeasures) -> None:
    start, end = figures.period
    say(f"\n   conference_measures [{start}, {end}): decision rate per need category")
    say(f"   {'category':<16} {'needs':>7} {'decided':>8} {'rate %':>7}")

    def line(name: str, needs: int, decided: int, rate: float | None) -> None:
        shown = f"{rate:.1f}" if rate is not None else "n/a"
        say(f"   {name:<16} {needs:>7} {decided:>8} {shown:>7}")

    for category, row in figures.by_category.items():
        line(category, row["needs"], row["decided"], row["rate"])
    line("overall", figures.needs, figures.decided, figures.decision_rate)
    say(f"   {'tier':<16} {'held':>7} {'moved':>8} {'cancelled':>10}")
    for row in figures.conferences:
        say(f"   {row['tier']:<16} {row['held']:>7} {row['moved']:>8} {row['cancelled']:>10}")
    say(f"   {'discipline':<16} {'seats':>7} {'attended':>8} {'%':>7}")
    for row in figures.attendance:
        seats, attended = int(row["seats"]), int(row["attended"] or 0)
        share = f"{100 * attended / seats:.1f}" if seats else "n/a"
        say(f"   {row['discipline']:<16} {seats:>7} {attended:>8} {share:>7}")
    linked = Counter({str(r["target_group"]): int(r["linkages"]) for r in figures.linkages})
    people = sum(int(r["people"]) for r in figures.linkages)
    say(
        f"   service linkages: {sum(linked.values())} for {people} people ("
        + ", ".join(f"{k} {v}" for k, v in linked.most_common())
        + ")"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000, help="county size")
    parser.add_argument(
        "--from",
        dest="first",
        type=dt.date.fromisoformat,
        default=dt.date(2025, 12, 1),
        help="first day simulated",
    )
    parser.add_argument(
        "--to",
        dest="last",
        type=dt.date.fromisoformat,
        default=dt.date(2026, 11, 30),
        help="last day simulated (included)",
    )
    parser.add_argument("--seed", type=int, default=2023, help="the simulation's seed")
    args = parser.parse_args(argv)
    if args.clients < 1:
        parser.error("--clients must be at least 1")
    if args.last < args.first:
        parser.error("--to must not be before --from")
    run(args.clients, args.first, args.last, args.seed)


if __name__ == "__main__":
    main()
