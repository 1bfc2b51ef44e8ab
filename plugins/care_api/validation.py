"""Bundle validation off the event loop, in a bounded pool of threads.

Parsing and checking a Bundle is CPU work: done in the event loop's thread, a large
one kept the whole worker from answering anything else. Here it runs in a few
threads of its own (``CARE_API_VALIDATION_WORKERS``), and at most
``CARE_API_VALIDATION_QUEUE`` more Bundles wait for one; beyond that the API answers
503 with Retry-After at once instead of queueing without bound.

Threads, not processes: a referral Bundle validates in about a millisecond, less than
shipping it to another process and back would cost, and the input limits
(:mod:`care_models.fhir.limits`) bound the worst case. The loop still shares the GIL
with these threads, but it gets it back every switch interval instead of waiting for
a whole validation.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from care_models.errors import OverloadedError

T = TypeVar("T")


class ValidationPool:
    """A thread pool that refuses work instead of queueing it without bound."""

    def __init__(self, workers: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="validate")
        self._capacity = workers + queue
        self._in_flight = 0
        self._lock = threading.Lock()  # an app may serve from several event loops

    async def run(self, work: Callable[[], T]) -> T:
        with self._lock:
            if self._in_flight >= self._capacity:
                raise OverloadedError("every validation thread is busy")
            self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work)
        finally:
            with self._lock:
                self._in_flight -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
