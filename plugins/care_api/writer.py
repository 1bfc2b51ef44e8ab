"""One writer thread per API process: referrals that arrive together are stored together.

Fifty hospitals posting at once would otherwise be fifty transactions queueing for
the database's write lock (SQLite has one writer; PostgreSQL waits for a disk flush
per commit). The writer takes whatever is waiting, up to ``MAX_BATCH``, and stores it
in one transaction with :func:`care_models.referrals.store_referrals`; each request
gets its own answer (201 new, 200 already known) as if it had been alone. A request
arriving while nothing waits is written at once: batching adds no delay.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from care_models.referrals import Incoming, Submission

log = logging.getLogger(__name__)
MAX_BATCH = 64

Store = Callable[[list[Incoming]], list[Submission]]


class ReferralWriter:
    def __init__(self, store: Callable[[], Store]) -> None:
        self._store = store  # built on first use: the database is not touched before
        self._queue: queue.SimpleQueue[tuple[Incoming, Future[Submission]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, item: Incoming) -> Future[Submission]:
        answer: Future[Submission] = Future()
        self._queue.put((item, answer))
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="care-referral-writer", daemon=True
                )
                self._thread.start()
        return answer

    def _run(self) -> None:
        store = self._store()
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                answers = store([item for item, _ in batch])
            except Exception as error:  # every waiting request learns of it; none hangs
                log.exception("storing %d referrals failed", len(batch))
                for _, answer in batch:
                    answer.set_exception(error)
            else:
                for (_, answer), submission in zip(batch, answers, strict=True):
                    answer.set_result(submission)
