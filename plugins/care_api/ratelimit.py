"""The care API's limits, counted once for all its workers by the ``limits`` library.

Three limits, each a sliding window of one minute (the weighted count of this minute
and the last, so no burst at a window's edge):

- requests per hospital (``CARE_API_RATE_PER_MINUTE``);
- request body bytes per hospital (``CARE_API_BYTES_PER_MINUTE``);
- failed logins per client address (``CARE_API_AUTH_FAILURES_PER_MINUTE``), checked
  before any database lookup.

Where the counts live (``CARE_RATE_LIMIT_STORAGE``): Redis when a ``redis://`` URL
is set, shared by every worker on every machine; otherwise a SQLite file,
``CARE_VAR_DIR/ratelimit.db``, shared by the workers of one machine (each count is
one statement; SQLite's file lock orders the workers). Keys are
prefixed per care database, so two deployments (or two test databases) sharing a
Redis never share counts. When the store cannot be reached, :class:`LimitUnavailable`
is raised and the API answers 503: an unlimited API is not an option.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import RedisStorage, SlidingWindowCounterSupport, Storage
from limits.storage.base import TimestampedSlidingWindow
from limits.strategies import SlidingWindowCounterRateLimiter

from care_models.config import Settings

REDIS_TIMEOUT_SECONDS = 2.0
SQLITE_BUSY_MS = 5000
T = TypeVar("T")


def _owner_only(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


class LimitUnavailable(Exception):
    """The shared store of the counts cannot be reached."""


# What an insert into counters does to a key already there: adds to it, unless its
# window expired, when it starts again (positional: the current time, twice).
_ADDED = (
    "ON CONFLICT (key) DO UPDATE SET "
    "value = CASE WHEN counters.expires <= ? THEN excluded.value "
    "ELSE counters.value + excluded.value END, "
    "expires = CASE WHEN counters.expires <= ? THEN excluded.expires "
    "ELSE counters.expires END "
    "RETURNING value"
)
# Sliding windows checked and counted in one statement. Each wanted row is a window:
# its weighted count (the previous window's by its weight, plus the current one's),
# floored (CAST truncates; counts are never negative), plus its amount must be within
# its limit. A row is counted when it and every row before it (by pos) fit; guards
# (counted = 0, pos -1) are only checked. SQLite evaluates the whole SELECT before it
# inserts a row (it reads the table it inserts into), so every row is judged on the
# counts as they were. A window's key names the window (limits' sliding_window_keys),
# so the row found for it was made in it: it is added to, never expired. "{rows}" is
# one "(?, ?, ?, ?, ?, ?, ?, ?, ?)" per window.
_TAKE = """
WITH wanted (pos, counted, previous, current, amount, lim, weight, now, expires) AS (
    VALUES {rows}),
room AS MATERIALIZED (
    SELECT pos, counted, current, amount, now, expires, CAST(
        coalesce((SELECT value FROM counters WHERE key = previous AND expires > now), 0)
        * weight
        + coalesce((SELECT value FROM counters WHERE key = current AND expires > now), 0)
        AS INTEGER) + amount <= lim AS fits
    FROM wanted)
INSERT INTO counters (key, value, expires)
SELECT current, amount, expires FROM room AS this
WHERE counted AND NOT EXISTS (SELECT 1 FROM room WHERE room.pos <= this.pos AND NOT fits)
ON CONFLICT (key) DO UPDATE SET value = counters.value + excluded.value
RETURNING key
"""


@functools.cache
def _take_statement(windows: int) -> str:
    return _TAKE.format(rows=", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * windows))


def _previous_weight(now: float, expiry: int) -> float:
    """The share of the previous window still inside the last ``expiry`` seconds."""
    return 1 - (((now - expiry) / expiry) % 1)


def _patiently(step: Callable[[], T]) -> T:
    """``step``, tried again while SQLite answers that another worker holds its lock.

    A count holds the write lock for tens of microseconds, but SQLite's own busy handler
    sleeps 1, 2, 5, 10... milliseconds between tries, and the event loop with it: every
    worker stood still that long whenever two counted at once. These tries start at
    50 µs and double up to a millisecond, within SQLITE_BUSY_MS in all.
    """
    deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
    pause = 0.00005
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.001)


class SQLiteStorage(Storage, SlidingWindowCounterSupport, TimestampedSlidingWindow):
    """Fixed and sliding window counters in one SQLite file, shared across processes.

    Every check-and-count is one statement (SQLite's own transaction), so two workers
    cannot both take the last slot. Durability is not needed (``synchronous=OFF``):
    after a crash the counts start again, as they would in memory."""

    def __init__(
        self, uri: str, key_prefix: str = "", wrap_exceptions: bool = False, **options: str
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.key_prefix = key_prefix
        self._path = Path(uri.removeprefix("care+sqlite://"))
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._writes = 0

    @property
    def _db(self) -> sqlite3.Connection:
        """The file, opened on first use (nothing is created before the first request)."""
        if self._connection is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self._path, os.O_WRONLY | os.O_CREAT, 0o600))  # owner only
            # No busy timeout of SQLite's own: it sleeps a millisecond and more between
            # tries, with the event loop waiting (see _patiently).
            db = sqlite3.connect(
                self._path, timeout=0, isolation_level=None, check_same_thread=False
            )
            # Workers starting together would race here: switching to WAL does not wait
            # for another connection's lock, it fails with "database is locked".
            with open(f"{self._path}.setup", "a", opener=_owner_only) as setup:
                fcntl.flock(setup, fcntl.LOCK_EX)
                _patiently(lambda: db.execute("PRAGMA journal_mode=WAL"))
                _patiently(
                    lambda: db.execute(
                        "CREATE TABLE IF NOT EXISTS counters "
                        "(key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires REAL NOT NULL)"
                    )
                )
            db.execute("PRAGMA synchronous=OFF")
            self._connection = db
        return self._connection

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    # -- the plain counter (fixed windows) ------------------------------------------

    def _get(self, key: str, now: float) -> tuple[int, float]:
        query = "SELECT value, expires FROM counters WHERE key = ? AND expires > ?"
        row = _patiently(lambda: self._db.execute(query, (key, now)).fetchone())
        return (int(row[0]), float(row[1])) if row else (0, now)

    def _incr(self, key: str, expiry: float, amount: int, now: float) -> int:
        """Add ``amount`` to the key's count; an expired count starts again. One statement."""
        (value,) = _patiently(
            lambda: self._db.execute(
                f"INSERT INTO counters (key, value, expires) VALUES (?, ?, ?) {_ADDED}",
                (key, amount, now + expiry, now, now),
            ).fetchone()
        )
        self._forget_now_and_then(now)
        return int(value)

    def _forget_now_and_then(self, now: float) -> None:
        self._writes += 1
        if self._writes % 1000 == 0:  # windows long past
            _patiently(lambda: self._db.execute("DELETE FROM counters WHERE expires <= ?", (now,)))

    def _key(self, key: str) -> str:
        return f"{self.key_prefix}:{key}"

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._lock:
            return self._incr(self._key(key), expiry, amount, time.time())

    def get(self, key: str) -> int:
        with self._lock:
            return self._get(self._key(key), time.time())[0]

    def get_expiry(self, key: str) -> float:
        with self._lock:
            return self._get(self._key(key), time.time())[1]

    def check(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1").fetchone() == (1,)

    def reset(self) -> int | None:
        with self._lock:
            return _patiently(lambda: self._db.execute("DELETE FROM counters").rowcount)

    def clear(self, key: str) -> None:
        statement, parameters = "DELETE FROM counters WHERE key = ?", (self._key(key),)
        with self._lock:
            _patiently(lambda: self._db.execute(statement, parameters))

    # -- sliding windows ---------------------------------------------------------------

    def _window(self, key: str, expiry: int, now: float) -> tuple[int, float, int, float]:
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        query = "SELECT key, value FROM counters WHERE key IN (?, ?) AND expires > ?"
        counts = dict(
            _patiently(lambda: self._db.execute(query, (previous_key, current_key, now)).fetchall())
        )
        previous, current = int(counts.get(previous_key, 0)), int(counts.get(current_key, 0))
        previous_ttl = _previous_weight(now, expiry) * expiry if previous else 0.0
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return previous, previous_ttl, current, current_ttl

    def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        return self.acquire_sliding_window_entries([(key, limit, expiry, amount)]) is None

    def acquire_sliding_window_entries(
        self,
        entries: Sequence[tuple[str, int, int, int]],
        guards: Sequence[tuple[str, int, int]] = (),
    ) -> int | None:
        """:meth:`acquire_sliding_window_entry` for each ``(key, limit, expiry, amount)``,
        in order: the index of the first refused, whose predecessors stay counted; None
        if all were taken. Each ``(key, limit, expiry)`` of ``guards`` must have room for
        one more, and is not counted: when one has not, nothing is counted and the answer
        is -1."""
        with self._lock:
            return self._take(entries, guards, time.time())

    def _take(
        self,
        entries: Sequence[tuple[str, int, int, int]],
        guards: Sequence[tuple[str, int, int]],
        now: float,
    ) -> int | None:
        """The checks and counts of :meth:`acquire_sliding_window_entries` as one statement.

        SQLite holds its write lock only inside it, never while this worker waits for
        the GIL (another worker would wait for the lock that long), and two workers
        cannot both take the last slot.
        """
        wanted = [(-1, 0, key, limit, expiry, 1) for key, limit, expiry in guards]
        wanted += [(pos, 1, *entry) for pos, entry in enumerate(entries)]
        values: list[object] = []
        current_keys = []
        for pos, counted, key, limit, expiry, amount in wanted:
            previous, current = self.sliding_window_keys(self._key(key), expiry, now)
            weight, expires = _previous_weight(now, expiry), now + 2 * expiry
            values += (pos, counted, previous, current, amount, limit, weight, now, expires)
            current_keys.append(current)
        statement = _take_statement(len(wanted))
        rows = _patiently(lambda: self._db.execute(statement, values).fetchall())
        if rows:
            self._forget_now_and_then(now)
        taken = {key for (key,) in rows}
        refused = next(
            (i for i, c in enumerate(current_keys[len(guards) :]) if c not in taken), None
        )
        if refused == 0 and any(not self._fits(*guard, now) for guard in guards):
            return -1  # a guard was full (read again only now: refusals are rare)
        return refused

    def _fits(self, key: str, limit: int, expiry: int, now: float) -> bool:
        """Whether the key's sliding window has room for one more."""
        previous, previous_ttl, current, _ = self._window(self._key(key), expiry, now)
        return int(previous * previous_ttl / expiry + current) + 1 <= limit

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        with self._lock:
            return self._window(self._key(key), expiry, time.time())

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        now = time.time()
        for window_key in self.sliding_window_keys(key, expiry, now):
            self.clear(window_key)


def storage_for(settings: Settings) -> Storage:
    """The configured store: Redis, or the machine's SQLite file."""
    prefix = "care-" + hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    if settings.rate_limit_storage:
        return RedisStorage(
            settings.rate_limit_storage,
            key_prefix=prefix,
            wrap_exceptions=True,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
    return SQLiteStorage(
        f"care+sqlite://{settings.var_dir / 'ratelimit.db'}",
        key_prefix=prefix,
        wrap_exceptions=True,
    )


def address_key(address: str) -> str:
    """A client address as a count's key: hashed, so the store keeps no address."""
    return hashlib.sha256(f"care-address:{address}".encode()).hexdigest()[:24]


class RateLimiter:
    """Requests and bytes per hospital, failed logins per client address."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage_for(settings))
        self.requests = RateLimitItemPerMinute(settings.api_rate_per_minute, namespace="requests")
        self.bytes = RateLimitItemPerMinute(settings.api_bytes_per_minute, namespace="bytes")
        self.failures = RateLimitItemPerMinute(
            settings.api_auth_failures_per_minute, namespace="login-failures"
        )

    def allow_bytes(self, hospital: str, size: int) -> bool:
        """Count ``size`` body bytes of ``hospital``; False when over its byte rate."""
        return size <= 0 or self._hit(self.bytes, hospital, size)

    def admit(self, hospital: str, size: int, address: str | None = None) -> RateLimitItem | None:
        """Count one request of ``hospital`` and its ``size`` body bytes: the limit it is
        over (the request stays counted if only its bytes are over), None when within all.

        With ``address``, the request is first refused, uncounted, when the address
        failed to log in too often (``self.failures``). On the SQLite store all of it is
        one statement: a request whose token is known costs one write, not three."""
        charges = [(self.requests, 1)] + ([(self.bytes, size)] if size > 0 else [])
        storage = self._limiter.storage
        if not isinstance(storage, SQLiteStorage):
            if address is not None and self.login_blocked(address):
                return self.failures
            over = (item for item, cost in charges if not self._hit(item, hospital, cost))
            return next(over, None)
        entries = [(i.key_for(hospital), i.amount, i.get_expiry(), cost) for i, cost in charges]
        failures = self.failures
        guards = (
            [(failures.key_for(address_key(address)), failures.amount, failures.get_expiry())]
            if address is not None
            else []
        )
        try:
            refused = storage.acquire_sliding_window_entries(entries, guards)
        except sqlite3.Error as exc:
            raise LimitUnavailable(str(exc)) from None
        if refused == -1:
            return failures
        return None if refused is None else charges[refused][0]

    def login_blocked(self, address: str) -> bool:
        """Whether ``address`` failed to log in too often this last minute (no hit)."""
        try:
            return not self._limiter.test(self.failures, address_key(address))
        except StorageError as exc:
            raise LimitUnavailable(str(exc)) from None

    def login_failed(self, address: str) -> None:
        self._hit(self.failures, address_key(address), 1)

    def login_retry_after_seconds(self, address: str) -> int:
        return self.retry_after_seconds(self.failures, address_key(address))

    def retry_after_seconds(self, item: RateLimitItem, caller: str) -> int:
        """Seconds until ``caller`` may try again under ``item`` (at least 1)."""
        try:
            reset = self._limiter.get_window_stats(item, caller).reset_time
        except StorageError as exc:
            raise LimitUnavailable(str(exc)) from None
        return max(1, math.ceil(reset - time.time()))

    def _hit(self, item: RateLimitItem, caller: str, cost: int) -> bool:
        try:
            return self._limiter.hit(item, caller, cost=cost)
        except StorageError as exc:
            raise LimitUnavailable(str(exc)) from None
