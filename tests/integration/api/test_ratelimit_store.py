"""The SQLite store of the API's limits counts like the library's own stores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from care_api.ratelimit import SQLiteStorage


def _store(tmp_path: Path) -> SQLiteStorage:
    return SQLiteStorage(f"care+sqlite://{tmp_path / 'ratelimit.db'}", key_prefix="t")


def test_a_count_adds_up_until_it_expires_then_starts_again(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store._incr("k", 60, 5, now=1000.0) == 5
    assert store._incr("k", 60, 2, now=1059.0) == 7  # the window set at 1000 still runs
    assert store._get("k", 1059.0) == (7, 1060.0)
    assert store._incr("k", 60, 1, now=1060.0) == 1  # expired at 1060: a new window
    assert store._get("k", 1060.5) == (1, 1120.0)
    assert store._incr("other", 60, 3, now=1060.0) == 3  # keys count apart


def test_a_sliding_window_weighs_the_last_minute_and_refuses_past_the_limit(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    assert all(store.acquire_sliding_window_entry("h", limit=10, expiry=60) for _ in range(10))
    assert not store.acquire_sliding_window_entry("h", limit=10, expiry=60)
    previous, _, current, _ = store.get_sliding_window("h", 60)
    assert previous + current == 10
    assert not store.acquire_sliding_window_entry("h", limit=100, expiry=60, amount=101)


def _takes(store: SQLiteStorage, key: str, limit: int, amount: int, now: float) -> bool:
    return store._take([(key, limit, 60, amount)], (), now) is None


def test_the_last_windows_count_weighs_by_its_share_of_the_last_minute(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert _takes(store, "w", limit=10, amount=10, now=6001.0)  # window 100, full
    assert not _takes(store, "w", limit=10, amount=1, now=6059.0)
    # Half-way through window 101, window 100's 10 count as 5.
    assert _takes(store, "w", limit=7, amount=2, now=6090.0)
    assert not _takes(store, "w", limit=7, amount=1, now=6090.0)
    # In window 103 the old counts are gone.
    assert _takes(store, "w", limit=1, amount=1, now=6200.0)


def test_counts_taken_together_are_judged_on_the_counts_before_them(tmp_path: Path) -> None:
    """The request that fills its window still lets its bytes be counted: each window is
    judged on the counts as they were before the statement, not after its own rows."""
    store = _store(tmp_path)
    assert store.acquire_sliding_window_entries([("r", 1, 60, 1), ("b", 100, 60, 100)]) is None
    counts = {key: sum(store.get_sliding_window(key, 60)[::2]) for key in ("r", "b")}
    assert counts == {"r": 1, "b": 100}


def test_a_full_guard_refuses_everything_and_a_guard_is_never_counted(tmp_path: Path) -> None:
    store = _store(tmp_path)
    guard = ("failures", 2, 60)
    assert store.acquire_sliding_window_entries([("r", 10, 60, 1)], [guard]) is None
    assert sum(store.get_sliding_window("failures", 60)[::2]) == 0
    assert store.acquire_sliding_window_entries([("failures", 2, 60, 2)]) is None
    assert store.acquire_sliding_window_entries([("r", 10, 60, 1)], [guard]) == -1
    assert sum(store.get_sliding_window("r", 60)[::2]) == 1  # only the first request
    # A refusal of the request itself is told apart from the guard's.
    assert store.acquire_sliding_window_entries([("q", 1, 60, 2)], [("other", 2, 60)]) == 0


def test_counts_taken_together_stop_at_the_first_refused(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.acquire_sliding_window_entries([("r", 2, 60, 1), ("b", 100, 60, 60)]) is None
    # The request is within its limit, the bytes are not: the request stays counted.
    assert store.acquire_sliding_window_entries([("r", 2, 60, 1), ("b", 100, 60, 60)]) == 1
    assert store.acquire_sliding_window_entries([("r", 2, 60, 1), ("b", 100, 60, 1)]) == 0
    counts = {key: sum(store.get_sliding_window(key, 60)[::2]) for key in ("r", "b")}
    assert counts == {"r": 2, "b": 60}  # nothing counted after a refusal, nor by it


FIRST_USE = """
import sys, time
from care_api.ratelimit import SQLiteStorage
store = SQLiteStorage("care+sqlite://" + sys.argv[1], key_prefix="t")
while time.time() < float(sys.argv[2]):
    pass
for _ in range(5):
    assert store.acquire_sliding_window_entry("h", limit=1000, expiry=60)
"""


def test_workers_starting_together_all_open_the_store(tmp_path: Path) -> None:
    """Switching a new file to WAL fails at once under another connection's lock; the
    setup is serialised, so no worker answers its first requests with a 503."""
    plugins = Path(__file__).resolve().parents[3] / "plugins"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins), *sys.path])}
    for attempt in range(4):
        path = tmp_path / f"ratelimit-{attempt}.db"
        start = time.time() + 1.0
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", FIRST_USE, str(path), str(start)],
                env=environment,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        for worker in workers:
            _, errors = worker.communicate(timeout=60)
            assert worker.returncode == 0, errors.decode()[-500:]
