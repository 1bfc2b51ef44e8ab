"""Due windows of care-plan cadences: pure calendar arithmetic, no database.

A calendar cadence (weekly, monthly, twice monthly, every other month, quarterly,
every six months) cuts its periods into as many windows as contacts are due per
period; a package is due over its first weeks from the start date, a one-off
service within :data:`ONCE_WINDOW_DAYS` of it. :func:`cadence_windows` clips them to
a service's start and end and keeps those that overlap the horizon.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from care_models import vocab
from care_models.errors import ValidationError

DEFAULT_PACKAGE_WEEKS = 4
ONCE_WINDOW_DAYS = 28
# Calendar cadences: months per period (0: ISO week) and the period label.
_MONTHS_PER_PERIOD = {
    "weekly": 0,
    "monthly": 1,
    "twice_monthly": 1,
    "every_other_month": 2,
    "quarterly": 3,
    "every_six_months": 6,
}
_LABEL_LETTER = {2: "B", 3: "Q", 6: "H"}
ANCHORED_CADENCES = ("package", "once")

Window = tuple[str, int, dt.date, dt.date]  # period label, number in period, first, last day


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _split(first: dt.date, last: dt.date, parts: int) -> list[tuple[dt.date, dt.date]]:
    """Cut ``first..last`` into ``parts`` consecutive windows as even as whole days allow."""
    days = (last - first).days + 1
    windows = []
    for i in range(parts):
        start = first + dt.timedelta(days=i * days // parts)
        end = first + dt.timedelta(days=(i + 1) * days // parts - 1)
        windows.append((start, max(start, end)))
    return windows


def _calendar_periods(
    cadence: str, first: dt.date, last: dt.date
) -> list[tuple[str, dt.date, dt.date]]:
    """The calendar periods of ``cadence`` that overlap ``first..last``."""
    size = _MONTHS_PER_PERIOD[cadence]
    periods = []
    if size == 0:
        monday = first - dt.timedelta(days=first.weekday())
        while monday <= last:
            iso = monday.isocalendar()
            periods.append((f"{iso.year}-W{iso.week:02d}", monday, monday + dt.timedelta(days=6)))
            monday += dt.timedelta(days=7)
        return periods
    start = dt.date(first.year, (first.month - 1) // size * size + 1, 1)
    while start <= last:
        end = add_months(start, size) - dt.timedelta(days=1)
        if size == 1:
            label = f"{start.year}-{start.month:02d}"
        else:
            label = f"{start.year}-{_LABEL_LETTER[size]}{(start.month - 1) // size + 1}"
        periods.append((label, start, end))
        start = end + dt.timedelta(days=1)
    return periods


@lru_cache(maxsize=512)
def calendar_windows(
    cadence: str, per_period: int, first: dt.date, last: dt.date
) -> tuple[Window, ...]:
    windows: list[Window] = []
    for label, start, end in _calendar_periods(cadence, first, last):
        if cadence == "weekly":  # spread over the working week; the last window runs to Sunday
            parts = _split(start, start + dt.timedelta(days=4), per_period)
            parts[-1] = (parts[-1][0], end)
        else:
            parts = _split(start, end, per_period)
        for n, (ws, we) in enumerate(parts, start=1):
            if ws <= last and we >= first:
                windows.append((label, n, ws, we))
    return tuple(windows)


def cadence_windows(
    cadence: str,
    contacts_per_period: int,
    horizon_start: dt.date,
    horizon_end: dt.date,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    package_weeks: int = DEFAULT_PACKAGE_WEEKS,
) -> list[Window]:
    """The due windows of a cadence that overlap the horizon, clipped to ``start..end``.

    Returns ``(period label, number in period, first day, last day)``; the days are the
    due window itself (not clipped to the horizon) so that visits before the horizon
    can satisfy it. ``start_date`` is required for packages and one-off services.
    """
    if cadence not in vocab.CADENCES:
        raise ValidationError("cadence", f"unknown cadence {cadence!r}")
    if contacts_per_period < 1:
        raise ValidationError("contacts_per_period", "must be at least 1")
    if cadence in ANCHORED_CADENCES:
        if start_date is None:
            raise ValidationError("start_date", f"a {cadence} cadence needs a start date")
        days = package_weeks * 7 if cadence == "package" else ONCE_WINDOW_DAYS
        span_end = start_date + dt.timedelta(days=days - 1)
        if end_date is not None:
            span_end = min(span_end, end_date)
        if span_end < start_date:
            return []
        label = start_date.isoformat()
        if cadence == "package":
            parts = _split(start_date, span_end, contacts_per_period)
        else:  # every contact of a one-off service is due in the same window
            parts = [(start_date, span_end)] * contacts_per_period
        raw = [(label, n, ws, we) for n, (ws, we) in enumerate(parts, start=1)]
    else:
        per_period = (
            max(2, contacts_per_period) if cadence == "twice_monthly" else contacts_per_period
        )
        raw = list(calendar_windows(cadence, per_period, horizon_start, horizon_end))
    windows = []
    for label, n, ws, we in raw:
        if start_date is not None and ws < start_date:
            ws = start_date
        if end_date is not None and we > end_date:
            we = end_date
        if ws <= we and ws <= horizon_end and we >= horizon_start:
            windows.append((label, n, ws, we))
    return windows
