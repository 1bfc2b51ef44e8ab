"""The care API worker's full garbage collections, before and after it settles its heap.

A worker (``care_api.serve.run_worker``) loads the app, then calls
``care_api.serve.settle_the_heap`` before it takes a connection. This bench loads the
app the same way (uvicorn's ``Config.load`` of the factory, in a scratch environment),
then times full collections of that heap with a load of request-like garbage (short-lived
reference cycles) beside it: first as it is (the baseline), then after the worker's own
``settle_the_heap``. Each full collection stops the worker's event loop, so its time is
added to every request in flight.

    .venv/bin/python bench/gc_pause.py [--rounds 15] [--garbage 20000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parent.parent),
    str(Path(__file__).resolve().parent.parent / "plugins"),
]

from bench.scratch import scratch_environment  # noqa: E402


def request_garbage(count: int) -> list[dict[str, object]]:
    """Short-lived cycles, as parsed Bundles and their models leave behind."""
    made = []
    for index in range(count):
        node: dict[str, object] = {"id": index, "entry": [index, str(index)]}
        node["self"] = node
        made.append(node)
    return made


def full_collection_ms(rounds: int, garbage: int) -> float:
    """The median time of a full collection, with ``garbage`` fresh cycles each round."""
    times = []
    for _ in range(rounds):
        request_garbage(garbage)
        started = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="full collections timed each way")
    parser.add_argument("--garbage", type=int, default=20000, help="request-like cycles per round")
    args = parser.parse_args()

    import uvicorn

    from care_api.serve import DEFAULT_APP, settle_the_heap

    with scratch_environment("care_bench_gc_"):
        config = uvicorn.Config(DEFAULT_APP, factory=True, log_level="warning")
        config.load()
        tracked = len(gc.get_objects())
        before = full_collection_ms(args.rounds, args.garbage)
        settle_the_heap()
        frozen = gc.get_freeze_count()
        after = full_collection_ms(args.rounds, args.garbage)
        gc.unfreeze()

    print(f"the loaded app: {tracked:,} objects tracked; {frozen:,} frozen by settle_the_heap")
    print(f"full collection, median of {args.rounds}, {args.garbage:,} request-like cycles beside:")
    print(f"  as loaded (baseline)   {before:8.1f} ms")
    print(f"  settled (the worker)   {after:8.1f} ms")
    print(f"headline: settled / as loaded = {after / before:.2f} (lower is better)")


if __name__ == "__main__":
    main()
