"""Referral intake throughput: FHIR validation, submit -> gate -> intake per database, API load.

Headline: **end to end against bare parsing**, on each database. The same Bundles are
parsed bare (``json.loads`` + fhir.resources R4B ``Bundle.model_validate``, one core)
and taken through everything the county does with them: validated and stored as the
care API stores concurrent POSTs (each Bundle validated, then stored in groups of
``--store-group`` in one transaction, as the API's writer does with the requests that
arrive together), the intake gate, then intake (set-based, in batches). The ratio is
end-to-end time over bare parsing time (goal: at most 3), printed next to validation
alone (ours over bare, goal: at most 2).

1. Generates N valid referral Bundles (the 8 hospitals, unique identifiers) as bytes.
2. Validation: bare parsing against our ``parse_referral`` on the same bytes, in
   alternating chunks so that machine drift hits both.
3. On each database (a SQLite file, a scratch PostgreSQL database): migrate, load the
   synthetic county, store, gate, intake as above; then intake again, which must
   change nothing. One lone POST's storing (a transaction of its own) is timed too.
4. API: the real care API on 127.0.0.1 (``python -m care_api.serve``: ``--api-workers``
   processes, apart from the load generator), ``--clients`` concurrent clients POSTing
   distinct new referrals, then reading Tasks. Each route runs twice: as fast as the
   server answers (closed loop: saturation), then at half that rate (open loop,
   latency counted from when each request was due). The goals are stated against what
   the machine can parse: the **parse-bound rate** is the bare parsing rate of one core
   (the mean of just before and just after the saturated POSTs, the server idle)
   times the server's worker processes; saturated POSTs must reach 0.7 of it (the load
   generator shares the cores), and p99 at half the saturated rate must stay under
   100 ms. A fixed floor of 300 requests a second is printed too.

Ratios are measured against a baseline in the same run; absolute figures depend on the
machine. Everything runs on loopback and in temporary databases, dropped at the end.

    .venv/bin/python bench/intake.py [--bundles 10000] [--databases sqlite,postgresql]
        [--store-group 50] [--api-requests 10000] [--clients 50]
        [--api-process subprocess|thread] [--api-workers 2]
        [--api-databases sqlite,postgresql] [--skip-api]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from care_models import migrations
from care_models.db import make_engine, session_factory
from care_models.fhir.bundle import parse_referral
from care_models.privacy import Vault, generate_key
from care_models.referrals.intake import TABLES_WRITTEN, IntakeSummary
from care_models.referrals.store import (
    Incoming,
    store_referrals,
    submit_referral,
    validate_referral,
)
from care_models.schema import Organisation
from care_models.synthetic import referrals as sr
from care_models.synthetic.county import County, build_county
from care_models.synthetic.load import load_county
from care_models.workdays import seoul_today

ROOT = Path(__file__).resolve().parent.parent
ADMIN_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COUNTED = (
    *TABLES_WRITTEN,
    "gate_results",
    "quarantined_rows",
    "audit_log",
)
VALIDATION_GOAL = 2.0  # ours / bare fhir.resources, at most
END_TO_END_GOAL = 3.0  # end to end / bare parsing, at most
API_RATE_GOAL = 300.0  # requests a second, at least (a fixed floor, printed beside)
API_PARSE_BOUND_GOAL = 0.7  # saturated POSTs / the parse-bound rate, at least
API_P99_GOAL_MS = 100.0  # at half the saturated rate
API_ROUND_SECONDS = 300.0  # each API round stops sending after this long
SPEC_SEED = 11
INTAKE_SLICE = 1000  # the batches intake answers are smaller; slices show progress
LONE_POSTS = 200
PROGRESS_SECONDS = 60.0
BARE_SAMPLE = 500  # Bundles parsed bare beside each stage (its baseline)


@dataclass(frozen=True)
class BenchBundle:
    hospital: str
    system: str
    body: bytes


@dataclass
class Figures:
    """Rows of the final table: (stage, figure, value, goal)."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    headline: list[str] = field(default_factory=list)

    def add(self, stage: str, figure: str, value: str, goal: str = "") -> None:
        self.rows.append((stage, figure, value, goal))


def say(message: str) -> None:
    print(message, flush=True)


class Progress:
    """A line every ``PROGRESS_SECONDS`` of a long step: how far, how fast, how long to go."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.started = self.shown = time.perf_counter()

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.shown < PROGRESS_SECONDS or done >= self.total:
            return
        self.shown = now
        per_second = done / (now - self.started)
        left = (self.total - done) / per_second if per_second else math.inf
        say(
            f"  {self.label}: {done}/{self.total} ({per_second:.1f}/s, "
            f"about {left / 60:.0f} min to go)"
        )


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else math.inf


# -- 1. Bundles ----------------------------------------------------------------------------


def make_bundles(
    county: County, count: int, today: dt.date, seed: int, prefix: str = ""
) -> list[BenchBundle]:
    """``count`` valid Bundles over the 8 hospitals; identifiers made unique if they are not."""
    specs = sr.referral_specs(county, count, today=today, seed=seed)
    keys = Counter((s.hospital_code, s.number) for s in specs)
    if prefix or any(n > 1 for n in keys.values()):
        specs = [
            dataclasses.replace(s, number=f"{s.hospital_code}-{prefix or 'B'}{i + 1:07d}")
            for i, s in enumerate(specs)
        ]
    assert len({(s.hospital_code, s.number) for s in specs}) == count
    return [
        BenchBundle(
            s.hospital_code,
            sr.identifier_system(s.hospital_code),
            json.dumps(sr.build_bundle(s), ensure_ascii=False).encode(),
        )
        for s in specs
    ]


# -- 2. Validation ---------------------------------------------------------------------------


def bench_validation(
    bundles: Sequence[BenchBundle], today: dt.date, figures: Figures, chunk: int = 250
) -> None:
    from fhir.resources.R4B.bundle import Bundle

    def bare(part: Sequence[BenchBundle]) -> float:
        started = time.perf_counter()
        for b in part:
            Bundle.model_validate(json.loads(b.body))
        return time.perf_counter() - started

    def ours(part: Sequence[BenchBundle]) -> float:
        started = time.perf_counter()
        for b in part:
            parse_referral(b.body, b.system, today=today)
        return time.perf_counter() - started

    bare(bundles[:20]), ours(bundles[:20])  # imports and pydantic's lazy schema building
    bare_total = ours_total = 0.0
    ratios = []
    for index, start in enumerate(range(0, len(bundles), chunk)):
        part = bundles[start : start + chunk]
        if index % 2:  # alternate the order, so neither always runs on a warmer cache
            ours_s, bare_s = ours(part), bare(part)
        else:
            bare_s, ours_s = bare(part), ours(part)
        bare_total, ours_total = bare_total + bare_s, ours_total + ours_s
        ratios.append(ours_s / bare_s)
    ratio = ours_total / bare_total
    figures.headline.append(
        f"validation alone: parse_referral / bare parsing = {ratio:.2f} (goal <= {VALIDATION_GOAL})"
    )
    median = statistics.median(ratios)
    verdict = "ok" if ratio <= VALIDATION_GOAL else "MISSED"
    say(
        f"validation: bare fhir.resources {rate(len(bundles), bare_total):8.1f} bundles/s, "
        f"parse_referral {rate(len(bundles), ours_total):8.1f} bundles/s"
    )
    say(
        f"validation: ratio ours/bare {ratio:.2f} (median of {len(ratios)} chunks {median:.2f}; "
        f"goal <= {VALIDATION_GOAL}: {verdict})"
    )
    figures.add("validation", "bare fhir.resources", f"{rate(len(bundles), bare_total):.1f}/s")
    figures.add("validation", "parse_referral", f"{rate(len(bundles), ours_total):.1f}/s")
    figures.add("validation", "ratio ours/bare", f"{ratio:.2f}", f"<= {VALIDATION_GOAL} {verdict}")


def bare_rate_now(bundles: Sequence[BenchBundle], sample: int = BARE_SAMPLE) -> float:
    """Bare parsing's rate on a sample, now: a stage's baseline taken beside it, so that
    other work on the machine weighs on both sides of its ratio alike."""
    from fhir.resources.R4B.bundle import Bundle

    part = bundles[:sample]
    started = time.perf_counter()
    for b in part:
        Bundle.model_validate(json.loads(b.body))
    return rate(len(part), time.perf_counter() - started)


class Baseline:
    """Bare parsing measured before and after a stage; the stage's ratio uses their mean."""

    def __init__(self, bundles: Sequence[BenchBundle]) -> None:
        self.bundles = bundles
        self.before = bare_rate_now(bundles)

    def rate(self) -> float:
        after = bare_rate_now(self.bundles)
        return (self.before + after) / 2


# -- 3. Full processing ------------------------------------------------------------------------


@contextmanager
def scratch_database(kind: str, workdir: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file, or a PostgreSQL database dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'care-{uuid.uuid4().hex[:8]}.db'}"
        return
    if kind != "postgresql":
        raise SystemExit(f"unknown database {kind!r} (sqlite or postgresql)")
    admin_url = os.environ.get("CARE_TEST_POSTGRES_URL", ADMIN_POSTGRES_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"care_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare_care_database(url: str, vault: Vault, county: County) -> Engine:
    engine = make_engine(url)
    migrations.upgrade(engine)
    with Session(engine) as session, session.begin():
        load_county(session, vault, county)
    # A database in use has its statistics (autovacuum analyses what grew); one bulk-loaded
    # just now has none, and PostgreSQL would scan the clients for each batch's matching.
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    return engine


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            t: connection.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in COUNTED
        }


def dag_intake(
    engine: Engine, vault: Vault, today: dt.date, timings: dict[str, float], label: str
) -> IntakeSummary:
    """What the referral_intake DAG does: care_tasks.referrals' gate, then intake."""
    from care_tasks.referrals import gate_referrals, intake_gated

    factory = session_factory(engine)
    started = time.perf_counter()
    gated = gate_referrals(engine, factory, vault, today)
    ids, rejected = gated.referral_ids, gated.rejected
    timings["gate"] = time.perf_counter() - started
    if ids:
        say(
            f"{label}: gate    {timings['gate']:7.1f} s {rate(len(ids), timings['gate']):8.1f} "
            f"bundles/s ({len(rejected)} referrals quarantined)"
        )
    started = time.perf_counter()
    # The DAG hands intake_gated every id at once; slices of them do the same work (in
    # the same batches of BATCH_SIZE) and let a long run show its progress.
    summary = IntakeSummary()
    progress = Progress(f"{label}: intake", len(ids))
    slice_rates = []
    for start in range(0, len(ids), INTAKE_SLICE):
        part_started = time.perf_counter()
        part = intake_gated(
            factory,
            vault,
            dataclasses.replace(gated, referral_ids=ids[start : start + INTAKE_SLICE]),
            today,
        )
        slice_rates.append(len(part.outcomes) / (time.perf_counter() - part_started))
        summary.outcomes.extend(part.outcomes)
        progress.update(min(len(ids), start + INTAKE_SLICE))
    timings["intake"] = time.perf_counter() - started
    if len(slice_rates) >= 4:  # does intake slow down as the batch goes on?
        tenth = max(1, len(slice_rates) // 10)
        timings["intake_first_rate"] = statistics.mean(slice_rates[:tenth])
        timings["intake_last_rate"] = statistics.mean(slice_rates[-tenth:])
    return summary


def bench_database(
    kind: str,
    workdir: Path,
    vault: Vault,
    county: County,
    bundles: Sequence[BenchBundle],
    today: dt.date,
    figures: Figures,
    store_group: int,
) -> None:
    count = len(bundles)
    with scratch_database(kind, workdir) as url:
        started = time.perf_counter()
        engine = prepare_care_database(url, vault, county)
        say(f"{kind}: migrated and loaded the county in {time.perf_counter() - started:.1f} s")
        try:
            factory = session_factory(engine)
            with factory() as session:
                hospitals = {
                    o.code: o
                    for o in session.scalars(
                        select(Organisation).where(Organisation.kind == "hospital")
                    )
                }
            baseline = Baseline(bundles)
            started = time.perf_counter()
            created = 0
            progress = Progress(f"{kind}: submit", count)
            for start in range(0, count, store_group):
                part = bundles[start : start + store_group]
                incoming = [
                    Incoming(
                        hospitals[b.hospital],
                        b.body,
                        validate_referral(hospitals[b.hospital], b.body, today=today),
                    )
                    for b in part
                ]
                created += sum(s.created for s in store_referrals(factory, vault, incoming))
                progress.update(start + len(part))
            submit_s = time.perf_counter() - started
            say(
                f"{kind}: submit  {submit_s:7.1f} s {rate(count, submit_s):8.1f} bundles/s "
                f"(validated one by one, stored {store_group} to a transaction)"
            )
            timings: dict[str, float] = {}
            summary = dag_intake(engine, vault, today, timings, kind)
            drift = ""
            if "intake_first_rate" in timings:
                drift = (
                    f" (first tenth {timings['intake_first_rate']:.1f}/s, "
                    f"last tenth {timings['intake_last_rate']:.1f}/s)"
                )
            say(
                f"{kind}: intake  {timings['intake']:7.1f} s "
                f"{rate(count, timings['intake']):8.1f} bundles/s{drift}"
            )
            total = submit_s + timings["gate"] + timings["intake"]
            bare_rate = baseline.rate()
            bare_s = count / bare_rate
            ratio = total / bare_s
            verdict = "ok" if ratio <= END_TO_END_GOAL else "MISSED"
            say(f"{kind}: end-to-end {total:7.1f} s {rate(count, total):8.1f} bundles/s")
            headline = (
                f"{kind}: end to end / bare parsing = {ratio:.2f} "
                f"({total:.1f} s against {bare_s:.1f} s of bare parsing at {bare_rate:.1f}/s "
                f"beside it; goal <= {END_TO_END_GOAL}: {verdict})"
            )
            say(headline)
            figures.headline.append(headline)
            result = summary.as_dict()
            say(
                f"{kind}: created {created} of {count}; processed {result['processed']}: "
                f"accepted {result['accepted']}, rejected {result['rejected']}, "
                f"on hold {result['on_hold']}, new clients {result['new_clients']}"
            )
            before = row_counts(engine)
            again: dict[str, float] = {}
            rerun = dag_intake(engine, vault, today, again, f"{kind} rerun")
            unchanged = row_counts(engine) == before
            say(
                f"{kind}: rerun: {len(rerun.outcomes)} processed "
                f"({sum(again.values()) - again['gate']:.1f} s); "
                f"rows {'unchanged' if unchanged else 'CHANGED'}"
            )
            lone = make_bundles(county, min(LONE_POSTS, count), today, SPEC_SEED + 2, "ONE")
            started = time.perf_counter()
            for b in lone:
                submit_referral(factory, vault, hospitals[b.hospital], b.body, today=today)
            lone_s = time.perf_counter() - started
            say(
                f"{kind}: lone POSTs stored one to a transaction: "
                f"{rate(len(lone), lone_s):.1f}/s ({len(lone)} in {lone_s:.1f} s)"
            )
        finally:
            engine.dispose()
    figures.add(kind, "submit", f"{rate(count, submit_s):.1f}/s", f"{submit_s:.1f} s")
    figures.add(kind, "gate", f"{rate(count, timings['gate']):.1f}/s", f"{timings['gate']:.1f} s")
    figures.add(
        kind, "intake", f"{rate(count, timings['intake']):.1f}/s", f"{timings['intake']:.1f} s"
    )
    if "intake_first_rate" in timings:
        figures.add(
            kind,
            "intake first/last tenth",
            f"{timings['intake_first_rate']:.1f}/s / {timings['intake_last_rate']:.1f}/s",
        )
    figures.add(kind, "end-to-end", f"{rate(count, total):.1f}/s", f"{total:.1f} s")
    figures.add(
        kind, "end to end / bare parsing", f"{ratio:.2f}", f"<= {END_TO_END_GOAL} {verdict}"
    )
    figures.add(kind, "lone POSTs (own transaction)", f"{rate(len(lone), lone_s):.1f}/s")
    figures.add(
        kind,
        "outcome",
        f"{result['accepted']}/{result['rejected']}/{result['on_hold']}",
        "accepted/rejected/on-hold",
    )
    figures.add(
        kind,
        "rerun",
        f"{len(rerun.outcomes)} processed",
        "unchanged" if unchanged else "ROWS CHANGED",
    )


# -- 4. Report -----------------------------------------------------------------------------


def print_table(figures: Figures) -> None:
    header = ("stage", "figure", "value", "goal / note")
    widths = [max(len(str(r[i])) for r in [header, *figures.rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    say("")
    say("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    say(line)
    for row in figures.rows:
        say("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def preload(figures: Figures) -> None:
    """Import what a gate task imports on its first gate, outside the timed stages."""
    from gates import _import_gx

    started = time.perf_counter()
    _import_gx()
    seconds = time.perf_counter() - started
    say(f"gate: importing great_expectations took {seconds:.1f} s (once per task process)")
    figures.add("gate", "import great_expectations", f"{seconds:.1f} s", "not in the gate figures")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bundles", type=int, default=10000, help="referral Bundles (N)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument(
        "--store-group",
        type=int,
        default=50,
        help="Bundles stored to a transaction, as the API's writer stores concurrent POSTs",
    )
    parser.add_argument(
        "--api-requests",
        type=int,
        default=10000,
        help="POSTs, then as many GETs (a saturated round lasts a few seconds)",
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent API clients")
    parser.add_argument(
        "--api-process",
        choices=("subprocess", "thread"),
        default="subprocess",
        help="the API server in its own uvicorn process (default) or in a thread of this one",
    )
    parser.add_argument("--skip-api", action="store_true", help="skip the API load stage")
    parser.add_argument(
        "--api-databases", default="sqlite,postgresql", help="databases behind the API"
    )
    parser.add_argument(
        "--api-workers", type=int, default=2, help="uvicorn worker processes (one per core)"
    )
    parser.add_argument(
        "--county-clients",
        type=int,
        default=0,
        help="clients of the synthetic county (default: max(450, N); its coordinators "
        "scale with it and must have room for N first visits)",
    )
    args = parser.parse_args(argv)
    if min(args.bundles, args.api_requests, args.clients) < 1:
        parser.error("--bundles, --api-requests and --clients must be at least 1")
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = sorted(set(databases) - {"sqlite", "postgresql"})
    if unknown:
        parser.error(f"unknown databases {unknown} (sqlite, postgresql)")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    # A terminated run still drops its PostgreSQL database, its files and its API server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    figures = Figures()
    today = seoul_today()
    keys = (generate_key(), generate_key(), generate_key())
    vault = Vault.from_keys([keys[0]], keys[1], keys[2])
    overall = time.perf_counter()

    started = time.perf_counter()
    county = build_county(args.county_clients or max(450, args.bundles))
    bundles = make_bundles(county, args.bundles, today, SPEC_SEED)
    size = statistics.mean(len(b.body) for b in bundles)
    carers = sum(s.role in ("nurse", "social_worker") for s in county.staff)
    say(
        f"bundles: {len(bundles)} over {len({b.hospital for b in bundles})} hospitals, "
        f"unique identifiers, mean {size:.0f} bytes, made in {time.perf_counter() - started:.1f} s;"
        f" county of {len(county.clients)} clients and {carers} nurses and social workers"
    )
    figures.add("bundles", "count", str(len(bundles)), f"mean {size:.0f} bytes")
    figures.add("county", "clients / carers", f"{len(county.clients)} / {carers}")

    started = time.perf_counter()
    bench_validation(bundles, today, figures)
    figures.add("validation", "stage wall time", f"{time.perf_counter() - started:.1f} s")
    preload(figures)
    with tempfile.TemporaryDirectory(prefix="care-bench-") as tmp:
        workdir = Path(tmp)
        for kind in databases:
            started = time.perf_counter()
            bench_database(kind, workdir, vault, county, bundles, today, figures, args.store_group)
            figures.add(kind, "stage wall time", f"{time.perf_counter() - started:.1f} s")
        from bench.intake_api import bench_api  # it imports this module

        for kind in [] if args.skip_api else args.api_databases.split(","):
            started = time.perf_counter()
            bench_api(
                workdir,
                keys,
                county,
                today,
                args.api_requests,
                args.clients,
                args.api_process,
                args.api_workers,
                kind.strip(),
                figures,
            )
            figures.add(f"api {kind}", "stage wall time", f"{time.perf_counter() - started:.1f} s")
    figures.add("total", "wall time", f"{time.perf_counter() - overall:.1f} s")
    print_table(figures)
    say("")
    say("headline:")
    for line in figures.headline:
        say(f"  {line}")


if __name__ == "__main__":
    main()
