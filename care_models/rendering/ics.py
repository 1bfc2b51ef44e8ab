"""icalendar helpers: a published calendar in Asia/Seoul with its VTIMEZONE."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from icalendar import Calendar

SEOUL_ZONE = ZoneInfo("Asia/Seoul")


def new_calendar(prodid: str, name: str) -> Calendar:
    """An empty PUBLISH calendar named ``name`` in Asia/Seoul."""
    calendar = Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Seoul")
    return calendar


def calendar_bytes(
    calendar: Calendar, first: dt.date | None = None, last: dt.date | None = None
) -> bytes:
    """The calendar's bytes, with the VTIMEZONEs of the years ``first``..``last``."""
    if first is not None and last is not None:
        calendar.add_missing_timezones(
            first_date=dt.date(first.year, 1, 1), last_date=dt.date(last.year + 1, 1, 1)
        )
    return bytes(calendar.to_ical())
