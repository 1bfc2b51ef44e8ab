"""Parse time of each DAG file, and its ratio to an empty DAG file parsed the same way.

Each file is imported in a fresh interpreter, several times, and the median is
printed. As in a running DAG processor, `airflow.sdk` with its `dag` and `task`
decorators is loaded before the clock starts, so the figure is the file's own cost. The
baseline, an empty DAG, is measured in the same run, interleaved, so the ratio
holds on a noisy machine.

    .venv/bin/python bench/dag_parse.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMPTY_DAG = '''"""An empty DAG: the parse-time baseline."""
import datetime as dt

from airflow.sdk import dag


@dag(schedule=None, start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), catchup=False)
def empty() -> None:
    pass


empty_dag = empty()
'''
TIMER = """
import importlib.util, sys, time
import airflow.sdk
airflow.sdk.dag, airflow.sdk.task  # a running DAG processor has these loaded already
path = sys.argv[1]
spec = importlib.util.spec_from_file_location("dagfile", path)
module = importlib.util.module_from_spec(spec)
started = time.perf_counter()
spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""


def parse_seconds(path: Path, env: dict[str, str]) -> float:
    result = subprocess.run(
        [sys.executable, "-c", TIMER, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        baseline_file = Path(home) / "empty_dag.py"
        baseline_file.write_text(EMPTY_DAG)
        files = sorted((ROOT / "dags").glob("*.py"))
        times: dict[Path, list[float]] = {p: [] for p in [baseline_file, *files]}
        for _ in range(args.runs):
            for path in times:
                times[path].append(parse_seconds(path, env))
        base = statistics.median(times[baseline_file])
        print(f"{'DAG file':<32} {'median ms':>10} {'ratio to empty DAG':>20}")
        for path, samples in times.items():
            median = statistics.median(samples)
            name = "(empty DAG baseline)" if path == baseline_file else path.name
            print(f"{name:<32} {median * 1000:>10.1f} {median / base:>20.2f}")


if __name__ == "__main__":
    main()
