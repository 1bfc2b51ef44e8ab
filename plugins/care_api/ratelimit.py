"""Requests per hospital and minute, counted by the ``limits`` library in memory.

A moving window: at most ``rate`` requests in any 60 seconds, per caller.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class RateLimiter:
    def __init__(self, rate_per_minute: int) -> None:
        self.item = RateLimitItemPerMinute(rate_per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def allow(self, caller: str) -> bool:
        return self._limiter.hit(self.item, caller)

    def retry_after_seconds(self, caller: str) -> int:
        """Seconds until ``caller`` may send again (at least 1)."""
        reset = self._limiter.get_window_stats(self.item, caller).reset_time
        return max(1, math.ceil(reset - time.time()))
