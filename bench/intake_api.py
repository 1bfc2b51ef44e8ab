"""The API stage of ``bench/intake.py``: the care API under load, against the parse-bound rate.

Each route runs twice: as fast as the server answers (closed loop: saturation), then at
half that rate (open loop, latency counted from when each request was due). See
``bench/intake.py``'s docstring for the goals.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from bench.api_server import api_env, api_server, hospital_headers
from bench.intake import (
    API_P99_GOAL_MS,
    API_PARSE_BOUND_GOAL,
    API_RATE_GOAL,
    API_ROUND_SECONDS,
    SPEC_SEED,
    Baseline,
    Figures,
    make_bundles,
    prepare_care_database,
    rate,
    say,
    scratch_database,
)
from bench.loadgen import Job, RoundResult, load_round
from care_models.config import load_settings
from care_models.privacy import Vault
from care_models.synthetic.county import HOSPITALS, County
from care_models.synthetic.load import issue_synthetic_tokens


def report_round(
    name: str,
    result: RoundResult,
    figures: Figures,
    expect: str,
    count: int,
    goal: str,
    parse_bound: float,
) -> None:
    """``goal``: "rate" for a saturation round, "latency" for a round at half its rate."""
    sent = len(result.latencies)
    per_second = rate(sent, result.seconds)
    p50, p99 = result.percentile_ms(0.50), result.percentile_ms(0.99)
    codes = ", ".join(f"{k}: {v}" for k, v in sorted(result.statuses.items()))
    say(
        f"api {name}: {sent} of {count} in {result.seconds:.1f} s, {per_second:.1f} req/s; "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; status {codes} (expected {expect})"
    )
    if goal == "rate":
        floor = "ok" if per_second >= API_RATE_GOAL else "MISSED"
        figures.add(f"api {name}", "req/s", f"{per_second:.1f}", f">= {API_RATE_GOAL:.0f} {floor}")
        if "POST" in name:
            share = per_second / parse_bound
            verdict = "ok" if share >= API_PARSE_BOUND_GOAL else "MISSED"
            line = (
                f"api {name}: saturated / parse-bound = {share:.2f} ({per_second:.1f} against "
                f"{parse_bound:.1f} req/s; goal >= {API_PARSE_BOUND_GOAL}: {verdict})"
            )
            say(line)
            figures.headline.append(line)
            figures.add(
                f"api {name}",
                "/ parse-bound",
                f"{share:.2f}",
                f">= {API_PARSE_BOUND_GOAL} {verdict}",
            )
        figures.add(f"api {name}", "p50 / p99", f"{p50:.1f} / {p99:.1f} ms", "all clients busy")
    else:
        verdict = "ok" if p99 < API_P99_GOAL_MS else "MISSED"
        figures.add(f"api {name}", "req/s", f"{per_second:.1f}")
        figures.add(f"api {name}", "p50", f"{p50:.1f} ms")
        figures.add(f"api {name}", "p99", f"{p99:.1f} ms", f"< {API_P99_GOAL_MS:.0f} ms {verdict}")
        if "POST" in name:
            figures.headline.append(
                f"api {name}: p99 {p99:.1f} ms (goal < {API_P99_GOAL_MS:.0f} ms: {verdict})"
            )
    figures.add(f"api {name}", "status", codes, f"expected {expect}")


def route_rounds(
    base_url: str,
    name: str,
    jobs: Sequence[Job],
    clients: int,
    expect: str,
    figures: Figures,
    headers: dict[str, dict[str, str]],
    parse_bound: Callable[[], float],
) -> list[RoundResult]:
    """A route's two rounds, on two halves of ``jobs``: saturated, then at half that rate.

    ``parse_bound`` is called when the saturated round is over (see :func:`bench_api`)."""
    half = len(jobs) // 2
    saturated = load_round(base_url, jobs[:half], headers, clients, seconds=API_ROUND_SECONDS)
    bound = parse_bound()
    report_round(f"{name}, saturated", saturated, figures, expect, half, "rate", bound)
    paced_rate = rate(len(saturated.latencies), saturated.seconds) / 2
    paced = load_round(base_url, jobs[half:], headers, clients, paced_rate, API_ROUND_SECONDS)
    label = f"{name}, half rate {paced_rate:.0f}/s"
    report_round(label, paced, figures, expect, half, "latency", bound)
    return [saturated, paced]


def bench_api(
    workdir: Path,
    vault_keys: tuple[str, str, str],
    county: County,
    today: dt.date,
    requests: int,
    clients: int,
    mode: str,
    workers: int,
    database: str,
    figures: Figures,
) -> None:
    """Two rounds per route: saturation (closed loop), then half its rate (open loop)."""
    encryption_key, match_key, token_key = vault_keys
    vault = Vault.from_keys([encryption_key], match_key, token_key)
    warmup = len(HOSPITALS) * max(1, workers)
    bundles = make_bundles(county, 2 * requests + warmup, today, SPEC_SEED + 1, prefix="API")
    posts = [Job("POST", "/fhir/Bundle", b.hospital, b.body) for b in bundles]
    where = f"care_api.serve, {workers} worker(s)" if mode == "subprocess" else "a thread"
    say(
        f"api on {database}: server in {where}, {clients} clients; per route {requests} "
        f"requests as fast as answered, then {requests} at half that rate"
    )
    servers = workers if mode == "subprocess" else 1
    with scratch_database(database, workdir) as url:
        env = api_env(url, vault_keys, workdir / "api-var")
        settings = load_settings(env)
        engine = prepare_care_database(url, vault, county)
        with Session(engine) as session, session.begin():
            issue_synthetic_tokens(session, vault, settings, county)
        engine.dispose()
        headers = hospital_headers(settings)
        with api_server(mode, env, workers) as base_url:
            warm = load_round(
                base_url, posts[:warmup], headers, clients, seconds=API_ROUND_SECONDS
            )  # imports, engine, queries
            if warm.statuses != Counter({"201": warmup}):
                raise RuntimeError(f"warm-up POSTs answered {dict(warm.statuses)}")
            # Bare parsing with the server idle, just before and just after the saturated
            # POSTs (their mean, as the other stages' baselines): this machine's speed
            # drifts over minutes, and a baseline taken once drifts away from the round.
            baseline = Baseline(bundles)

            @functools.cache  # once, after the saturated POSTs; the GETs reuse it
            def parse_bound() -> float:
                bare = baseline.rate()
                say(
                    f"api on {database}: parse-bound rate {bare * servers:.1f} req/s (bare "
                    f"parsing {bare:.1f}/s on one core, the mean of before and after the "
                    f"saturated POSTs, x {servers} server process(es))"
                )
                return bare * servers

            posted = route_rounds(
                base_url,
                f"{database} POST /fhir/Bundle",
                posts[warmup:],
                clients,
                "201",
                figures,
                headers,
                parse_bound,
            )
            tasks = [t for r in posted for t in r.created] or warm.created
            reads = [
                Job("GET", f"/fhir/Task/{task_id}", hospital)
                for hospital, task_id in (tasks[i % len(tasks)] for i in range(2 * requests))
            ]
            load_round(base_url, reads[:warmup], headers, clients, seconds=API_ROUND_SECONDS)
            route_rounds(
                base_url,
                f"{database} GET /fhir/Task/{{id}}",
                reads,
                clients,
                "200",
                figures,
                headers,
                parse_bound,
            )
