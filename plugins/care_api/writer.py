"""Referrals that arrive together are stored together, in the event loop's own thread.

Fifty hospitals posting at once would otherwise be fifty transactions queueing for
the database's write lock (SQLite has one writer; PostgreSQL waits for a disk flush
per commit). Each request validates its Bundle, then hands it to the
:class:`ReferralWriter` of its event loop and waits; the writer stores everything
handed over in the same turn of the loop in one transaction with
:func:`care_models.referrals.store.store_referrals`, and each request gets its own answer
(201 new, 200 already known) as if it had been alone. Nothing waits for a batch to
fill: the batch is whatever is there when the loop gets to it.

A failing batch does not fail its neighbours: if storing the batch raises anything,
each of its items is stored again on its own, and only an item that fails alone gets
:class:`~care_models.errors.StorageError` (its request an OperationOutcome); the
others are answered as usual. One log line names the error's type, never a value.

Where the batch is stored depends on the database:

- **SQLite, on the loop.** A commit there does not wait for the disk (WAL), and a
  writer thread that needs the GIL back after each database call would wait up to the
  interpreter's switch interval (5 ms) every time: ``bench/intake.py`` at 300 POSTs a
  second on 2 cores showed latencies several times higher with one.
- **PostgreSQL, in the writer's own thread** (``off_loop``), one batch at a time. Each
  statement is a network round trip and each commit waits for the server's disk; on
  the loop, every request of the process would wait with them. While a batch is
  stored the loop goes on reading and validating requests, and the next batch is
  whatever arrived meanwhile: the slower the disk, the larger the batch.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from care_models.errors import StorageError
from care_models.referrals.store import Incoming, Submission

log = logging.getLogger(__name__)

Store = Callable[[list[Incoming]], list[Submission]]


class ReferralWriter:
    """Batches of one event loop (see the module docstring)."""

    def __init__(self, store: Store, *, off_loop: bool = False) -> None:
        self._store = store
        self._pending: list[tuple[Incoming, asyncio.Future[Submission]]] = []
        self._scheduled = False
        self._storing = False  # a batch is in the writer's thread
        self._thread = ThreadPoolExecutor(1, "referral-writer") if off_loop else None

    async def submit(self, item: Incoming) -> Submission:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Submission] = loop.create_future()
        self._pending.append((item, answer))
        if not self._scheduled and not self._storing:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await answer

    def _flush(self) -> None:
        self._scheduled = False
        if self._storing or not self._pending:
            return
        batch, self._pending = self._pending, []
        items = [item for item, _ in batch]
        if self._thread is None:
            self._settle(batch, self._safe_answers(items))
            return
        self._storing = True
        stored = asyncio.get_running_loop().run_in_executor(self._thread, self._safe_answers, items)
        stored.add_done_callback(lambda done: self._stored(batch, done))

    def _stored(
        self,
        batch: list[tuple[Incoming, asyncio.Future[Submission]]],
        done: asyncio.Future[list[Submission | Exception]],
    ) -> None:
        self._storing = False
        self._settle(batch, done.result())  # _safe_answers never raises
        self._flush()  # what arrived meanwhile

    def _safe_answers(self, items: list[Incoming]) -> list[Submission | Exception]:
        try:
            return self._answers(items)
        except Exception as error:  # never leave a request hanging, whatever broke
            return [error] * len(items)

    @staticmethod
    def _settle(
        batch: list[tuple[Incoming, asyncio.Future[Submission]]],
        answers: list[Submission | Exception],
    ) -> None:
        for (_, answer), result in zip(batch, answers, strict=True):
            if answer.done():  # its client went away
                continue
            if isinstance(result, Exception):
                answer.set_exception(result)
            else:
                answer.set_result(result)

    def _answers(self, items: list[Incoming]) -> list[Submission | Exception]:
        try:
            return list(self._store(items))
        except Exception as error:  # anything: find the culprit, one by one
            log.warning(
                "storing %d referrals failed (%s); storing each on its own",
                len(items),
                type(error).__name__,
            )
        return [self._store_alone(item) for item in items]

    def _store_alone(self, item: Incoming) -> Submission | Exception:
        try:
            (submission,) = self._store([item])
        except Exception as error:  # this item's own failure, and only its
            log.error("storing one referral failed (%s)", type(error).__name__)
            return StorageError("the referral could not be stored")
        return submission


class WriterPerLoop:
    """One :class:`ReferralWriter` per running event loop (an app may serve from several)."""

    def __init__(self, store: Callable[[], tuple[Store, bool]]) -> None:
        # The store and whether off the loop, on first use: the database is not touched before.
        self._store = store
        self._writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ReferralWriter] = (
            weakref.WeakKeyDictionary()
        )

    def current(self) -> ReferralWriter:
        loop = asyncio.get_running_loop()
        writer = self._writers.get(loop)
        if writer is None:
            store, off_loop = self._store()
            writer = self._writers[loop] = ReferralWriter(store, off_loop=off_loop)
        return writer
