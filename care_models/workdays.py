"""Business days in Korea: weekends and public holidays (with substitute holidays) are off.

Holidays come from the pinned ``holidays`` package (Korean names); dates are
Asia/Seoul calendar dates.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from care_models.errors import ValidationError

SEOUL = dt.timezone(dt.timedelta(hours=9), "Asia/Seoul")


@lru_cache(maxsize=32)
def korean_holidays(year: int) -> dict[dt.date, str]:
    import holidays

    return dict(holidays.country_holidays("KR", years=year, language="ko").items())


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in korean_holidays(day.year)


def add_business_days(start: dt.date, days: int) -> dt.date:
    """The ``days``-th business day after ``start`` (``start`` itself does not count)."""
    if days < 0:
        raise ValidationError("days", "must not be negative")
    current = start
    remaining = days
    while remaining:
        current += dt.timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current


def next_business_day(day: dt.date) -> dt.date:
    """``day`` itself when it is a business day, else the next one."""
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def seoul_today(now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(SEOUL).date()
