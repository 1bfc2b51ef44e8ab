"""Fuzz the running care API: N hostile requests per database, counts by status.

    .venv/bin/python bench/fuzz.py [--cases 10000] [--databases sqlite,postgresql]
        [--clients 4] [--seed 20261203]

For each database it creates a scratch care database with the synthetic county,
starts the API the way ``bench/intake.py`` does (``care_api.serve`` in its own
process, see ``bench/api_server.py``), and sends ``--cases`` requests from
:mod:`care_sim.hostile` (mutated Bundles, random JSON, odd encodings, huge and deep
values, odd Task ids and search parameters, no token). It prints the count of each
status, and of any 4xx that is not an OperationOutcome. The exit status is 1 when
any answer is a 5xx (a server error) or a malformed refusal, or a request fails.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from bench.api_server import api_env, api_server, hospital_headers  # noqa: E402
from bench.intake import prepare_care_database, scratch_database  # noqa: E402
from care_models.config import load_settings  # noqa: E402
from care_models.privacy import Vault, generate_key  # noqa: E402
from care_models.synthetic import referrals as sr  # noqa: E402
from care_models.synthetic.county import build_county  # noqa: E402
from care_models.synthetic.load import issue_synthetic_tokens  # noqa: E402
from care_models.workdays import seoul_today  # noqa: E402
from care_sim import hostile  # noqa: E402


def _send(client: httpx.Client, case: hostile.Case, tokens: dict[str, dict[str, str]]) -> str:
    """The answer's status, or ``bad-outcome`` for a refusal that is no OperationOutcome."""
    headers = {"Content-Type": case.content_type}
    if case.hospital is not None:
        headers["Authorization"] = tokens[case.hospital]["Authorization"]
    try:
        response = client.request(case.method, case.path, content=case.body, headers=headers)
    except httpx.HTTPError as error:
        return f"no answer ({type(error).__name__})"
    status = str(response.status_code)
    if response.status_code >= 400:
        try:
            kind = response.json().get("resourceType")
        except ValueError:
            kind = None
        if kind != "OperationOutcome":
            return f"{status} bad-outcome"
    return status


def run(database: str, cases: int, clients: int, seed: int, workdir: Path) -> Counter[str]:
    county = build_county()
    specs = sr.referral_specs(county, 40, today=seoul_today(), seed=seed)
    rng = random.Random(seed)
    requests = [hostile.case(rng, specs) for _ in range(cases)]
    encryption_key, match_key, token_key = generate_key(), generate_key(), generate_key()
    vault = Vault.from_keys([encryption_key], match_key, token_key)
    with scratch_database(database, workdir) as url:
        # The limits stay out of the way: the cases are for the parser, not the limiter.
        env = api_env(
            url,
            (encryption_key, match_key, token_key),
            workdir / f"var-{database}",
            CARE_API_AUTH_FAILURES_PER_MINUTE="1000000",
        )
        settings = load_settings(env)
        engine = prepare_care_database(url, vault, county)
        with Session(engine) as session, session.begin():
            issue_synthetic_tokens(session, vault, settings, county)
        engine.dispose()
        tokens = hospital_headers(settings)
        with (
            api_server("subprocess", env) as base_url,
            httpx.Client(base_url=base_url, timeout=60) as client,
            ThreadPoolExecutor(max_workers=clients) as pool,
        ):
            started = time.monotonic()
            statuses = Counter(pool.map(lambda case: _send(client, case, tokens), requests))
            elapsed = time.monotonic() - started
    print(f"{database}: {cases} cases in {elapsed:.1f} s")
    for status, count in sorted(statuses.items()):
        print(f"  {status:<28} {count:>6}")
    errors = sum(n for s, n in statuses.items() if s.startswith("5") or not s[:1].isdigit())
    print(f"  server errors                {errors:>6}")
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=10_000, help="requests per database (N)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--seed", type=int, default=20261203, help="the same seed, the same cases")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory(prefix="care-fuzz-") as tmp:
        for database in args.databases.split(","):
            statuses = run(database.strip(), args.cases, args.clients, args.seed, Path(tmp))
            failed |= any(s.startswith("5") or "bad" in s or not s[:1].isdigit() for s in statuses)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
