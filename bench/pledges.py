"""Pledge report benchmark: the yearly report on five years of a county, against its bare queries.

A ``--clients`` county (default 100,000) from ``build_county`` is loaded with
``load_county`` into a scratch PostgreSQL database migrated by the project's
migrations. Five years of operations, 2022 to 2026, are then written the way the
workflows leave them, set-based (``INSERT … SELECT`` with ``generate_series`` in the
database; ``executemany`` for what is drawn in Python), every CHECK and foreign key
holding (rates per 100 clients, so ``--clients`` scales everything):

- **conferences**: the calendar's own slots (``conference_slots``: tier 1 weekly per
  town, tier 2 on the 2nd and 4th Thursday, moved off holidays), held, a few
  cancelled;
- **referrals**: about 0.5 per 100 clients a month from the 8 hospitals, 3% rejected;
  each accepted one a case (``referral_id``) with the needs the hospital named and the
  first assessment visit; the raw Bundle (``build_bundle`` for the client) encrypted
  with the run's vault for the last 90 days and emptied before, as the retention job
  leaves it; the county's own cases (2025-2026, from ``load_county``) and others
  opened 2022-2024 (0.35 per 100 clients a month), most closed since;
- **agendas**: each case on its town's next tier-1 conference, a review every 180
  days while open, high-risk cases at tier 2, 2% not discussed and carried over;
  **decisions** per need of each discussed item (96% decided, 3% deferred, the rest
  still open); the approved **care plans** and their **planned services**;
- **client_absences**: re-admissions of 12% of the discharged within six months,
  and 8% a year of the other clients in care (hospital or away);
- **devices**: the county's, and others installed 2022-2024 (many removed since);
- **alerts**: about 20 per client (2 million at 100,000) in bursts on the devices
  over their years, device-health kinds read, those raised during an absence
  suppressed, the rest merged per person into **incidents** (a new one after 36 quiet
  hours), closed by the desk within 34 hours (the day-2 home visit booked for the
  late ones), those still unanswered at the end open;
- **visits**: about 10 per client (1 million at 100,000), from the planned services'
  cadences, the referrals' first assessments and the incidents' day-2 visits;
- **ltc_grade_changes**: each year 9% of the clients in care entering or rising in
  long-term-care grade and 4% falling, leaving or renewed (``care_models.ltc``'s
  direction).

Personal data is only what ``load_county`` encrypts and the recent raw Bundles
(encrypted); everything else is codes, dates and counts. The shipped pledge cards are
then loaded (``load_cards``), and measured on that database, best of 3 after one
warm-up each, alternating:

(a) **the yearly report** for ``--year`` (2026) as the ``pledge_reports`` workflow
    runs it: ``compute_year`` (``compute_actuals``, its transaction committed) and
    ``publish_year`` (``pledge_report``, ``consistency`` and ``write_report``: HTML,
    PDF and CSVs into a temporary folder), each in its own transaction;
(b) **the bare actuals queries**: each query bound to a card (``sql/pledges/``),
    for the periods ``compute_actuals`` computes, run by ``measure_span`` in one
    read-only transaction: no ORM writes, no rendering.

Prints the counts and the build time, both times, the ratio report / bare and whether
the report met its goal (under 10 seconds), then each query's time and what it
counted.

    .venv/bin/python bench/pledges.py [--clients 100000] [--year 2026] [--seed 2026]
        [--keep]

A quick run: ``--clients 5000``. Needs PostgreSQL (``CARE_TEST_POSTGRES_URL``, by
default the local server as the tests use it): a database ``care_bench_pledges_…``
is created and dropped at the end (kept with ``--keep``). Everything else runs in a
temporary directory (CARE_VAR_DIR, the report's files), removed at the end; the
shell's ``CARE_`` settings are not used. Absolute figures depend on the machine; the
ratio is against the bare queries measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bench.pledge_county import REPORT_GOAL_S, REPORT_YEAR, RUN_NOW, RUNS, say, scratch_postgres
from bench.pledge_county_events import build_database
from bench.scratch import scratch_environment
from care_models.db import session_factory
from care_models.pledges import workflow
from care_models.pledges.actuals import measure_span, period_dates
from care_models.pledges.cards import shipped_cards
from care_models.pledges.store import load_cards
from care_models.schema import (
    IndicatorTarget,
    PledgeIndicator,
    PledgeProgram,
)

# -- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """One bound query and one period, as compute_actuals computes it."""

    indicator: str
    query: str
    unit: str
    period: str
    start: dt.date
    end: dt.date


def bound_queries(session: Session, year: int) -> list[Bound]:
    """The periods compute_actuals computes for ``year``: each bound indicator's
    targets of the year (or the year itself), inside the program's term."""
    found = []
    for indicator, program in session.execute(
        select(PledgeIndicator, PledgeProgram)
        .join(PledgeProgram, PledgeProgram.id == PledgeIndicator.program_id)
        .order_by(PledgeProgram.code, PledgeIndicator.code)
    ).all():
        if not indicator.query_name:
            continue
        periods = {
            p
            for p in session.scalars(
                select(IndicatorTarget.period).where(IndicatorTarget.indicator_id == indicator.id)
            )
            if p.startswith(str(year))
        } or {str(year)}
        for code in sorted(periods):
            dates = period_dates(code)
            if dates is None or not program.start_year <= dates[0].year <= program.end_year:
                continue
            found.append(Bound(indicator.code, indicator.query_name, indicator.unit, code, *dates))
    return found


@dataclass
class ReportRun:
    actuals_s: float
    publish_s: float
    render_s: float

    @property
    def total(self) -> float:
        return self.actuals_s + self.publish_s


def report_once(factory: sessionmaker[Session], year: int, out_dir: Path) -> ReportRun:
    """The workflow's two steps, each in its own transaction, as the tasks run them."""
    rendering = [0.0]
    write_report = workflow.write_report

    def timed_write(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return write_report(*args, **kwargs)
        finally:
            rendering[0] += time.perf_counter() - started

    with mock.patch.object(workflow, "write_report", timed_write):
        began = time.perf_counter()
        with factory.begin() as session:
            workflow.compute_year(session, year, RUN_NOW)
        computed = time.perf_counter()
        with factory.begin() as session:
            workflow.publish_year(session, year, out_dir)
        published = time.perf_counter()
    return ReportRun(computed - began, published - computed, rendering[0])


def bare_once(engine: Engine, bounds: Sequence[Bound]) -> tuple[float, list[float], list[Any]]:
    """Each bound query for its period, one read-only transaction; nothing written."""
    times, results = [], []
    began = time.perf_counter()
    with Session(engine) as session:
        for bound in bounds:
            started = time.perf_counter()
            results.append(measure_span(session, bound.query, bound.unit, bound.start, bound.end))
            times.append(time.perf_counter() - started)
        session.rollback()
    return time.perf_counter() - began, times, results


def measure(engine: Engine, folder: Path, year: int) -> None:
    factory = session_factory(engine)
    with factory.begin() as session:
        loaded = load_cards(session, shipped_cards(), actor="bench", now=RUN_NOW)
    say(
        f"\n   cards loaded: {len(loaded)} ("
        + ", ".join(f"{c.program_code} v{c.version}" for c in loaded)
        + ")"
    )
    with Session(engine) as session:
        bounds = bound_queries(session, year)
    say(
        f"   bound queries for {year}: {len(bounds)} "
        f"({', '.join(sorted({b.query.split('/')[-1] for b in bounds}))})"
    )
    out_dir = folder / "out"
    bare_once(engine, bounds)  # warm-up: the server's caches, the query files
    report_once(factory, year, out_dir)  # warm-up: imports, fonts, the first actuals
    reports: list[ReportRun] = []
    bares: list[tuple[float, list[float], list[Any]]] = []
    for run in range(1, RUNS + 1):
        bares.append(bare_once(engine, bounds))
        reports.append(report_once(factory, year, out_dir))
        say(
            f"   run {run}: report {reports[-1].total:6.2f} s "
            f"(actuals {reports[-1].actuals_s:.2f} s, publish {reports[-1].publish_s:.2f} s), "
            f"bare queries {bares[-1][0]:6.2f} s"
        )
    best = min(reports, key=lambda r: r.total)
    bare_s, per_query, results = min(bares, key=lambda b: b[0])
    ratio = best.total / bare_s
    verdict = "goal met" if best.total < REPORT_GOAL_S else "goal MISSED"
    files = sorted(p.name for p in (out_dir / "pledges" / str(year)).iterdir())
    say(
        f"\n   yearly report {year}: {best.total:.2f} s (best of {RUNS}; goal < "
        f"{REPORT_GOAL_S:g} s: {verdict})"
    )
    say(
        f"      actuals (compute_year, committed) {best.actuals_s:.2f} s; publish_year "
        f"{best.publish_s:.2f} s, of which write_report {best.render_s:.2f} s "
        f"({', '.join(files)})"
    )
    say(f"   bare actuals queries: {bare_s:.2f} s (best of {RUNS}, {len(bounds)} queries)")
    say(f"   ratio report / bare queries: {ratio:.2f}")
    say(f"   {'query':<38} {'period':>6} {'ms':>9} {'actual':>8} {'rows':>8}")
    for bound, spent, result in zip(bounds, per_query, results, strict=True):
        actual = "-" if result.actual is None else str(result.actual)
        say(
            f"   {bound.query:<38} {bound.period:>6} {spent * 1000:>9.1f} {actual:>8} "
            f"{result.rows_counted:>8}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000, help="county size")
    parser.add_argument("--year", type=int, default=REPORT_YEAR, help="the report's year")
    parser.add_argument("--seed", type=int, default=2026, help="the operations' seed")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args(argv)
    if args.clients < 100:
        parser.error("--clients must be at least 100")
    with (
        scratch_environment("care-bench-pledges-") as scratch,
        scratch_postgres(args.keep) as url,
    ):
        engine, _built = build_database(url, scratch, args.clients, args.seed)
        try:
            measure(engine, scratch.folder, args.year)
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
