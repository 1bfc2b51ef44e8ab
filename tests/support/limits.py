"""The limit stores' clock, held still for tests that count within one minute."""

from __future__ import annotations

import time
from typing import Any

import limits.storage.redis
import limits.strategies
import pytest

import care_api.ratelimit as ratelimit


class _FrozenTime:
    """The ``time`` module with ``time()`` held still; everything else as it is."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def mid_minute(monkeypatch: pytest.MonkeyPatch) -> _FrozenTime:
    """The limit stores' clock held in the middle of a minute window: per-minute counts
    are sliding-window estimates, and a test that ran across a window's edge would see
    the previous window's weight fall, which is the limit working, not a fault."""
    frozen = _FrozenTime(time.time() // 60 * 60 + 30)
    for module in (ratelimit, limits.storage.redis, limits.strategies):
        monkeypatch.setattr(module, "time", frozen)
    return frozen
