"""When the pledge reports run, and what each run reports (no Airflow, no database).

Business days are those of :mod:`care_models.workdays`: Monday to Friday except Korean
public holidays (substitute and election days included). Every run is at
:data:`RUN_TIME`, Asia/Seoul.

- **Monthly**: on the 5th business day of month M, the progress report of the year to
  date through the end of month M-1 (``year`` is M-1's year, ``month`` is M-1). January's
  monthly run therefore reports the previous year in full (``month`` 12): a provisional
  year-end report, made before the last reported actuals are in.
- **Yearly**: on the first business day strictly after 10 January of year Y, the report
  of year Y-1 (``month`` None).

The 5th business day of January is at the latest 8 January on today's calendar, so the
two never fall on the same day; if a changed calendar ever made them coincide, that day
has both runs (monthly first).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from care_models.workdays import SEOUL, add_business_days, next_business_day

RUN_TIME = dt.time(6, 0)  # Asia/Seoul
MONTHLY_BUSINESS_DAY = 5
YEARLY_AFTER = (1, 10)  # the yearly run is on the first business day after 10 January


@dataclass(frozen=True)
class ReportRun:
    """One report run: its kind, the period it reports and the day it runs."""

    kind: Literal["monthly", "yearly"]
    year: int  # the reported year
    month: int | None  # monthly: the last month reported (through its end); yearly: None
    run_date: dt.date

    def __post_init__(self) -> None:
        if (self.kind == "yearly") != (self.month is None):
            raise ValueError("a yearly run has no month; a monthly run has one")

    @property
    def through(self) -> dt.date:
        """The last day the report covers."""
        month = self.month or 12
        return _first_of_next_month(self.year, month) - dt.timedelta(days=1)

    @property
    def run_at(self) -> dt.datetime:
        return dt.datetime.combine(self.run_date, RUN_TIME, tzinfo=SEOUL)


def _first_of_next_month(year: int, month: int) -> dt.date:
    return dt.date(year + month // 12, month % 12 + 1, 1)


def fifth_business_day(year: int, month: int) -> dt.date:
    first = next_business_day(dt.date(year, month, 1))
    return add_business_days(first, MONTHLY_BUSINESS_DAY - 1)


def yearly_report_day(year: int) -> dt.date:
    """The first business day strictly after 10 January of ``year``."""
    month, day = YEARLY_AFTER
    return next_business_day(dt.date(year, month, day) + dt.timedelta(days=1))


def _runs_of_month(year: int, month: int) -> list[ReportRun]:
    previous = dt.date(year, month, 1) - dt.timedelta(days=1)
    runs = [ReportRun("monthly", previous.year, previous.month, fifth_business_day(year, month))]
    if month == YEARLY_AFTER[0]:
        runs.append(ReportRun("yearly", year - 1, None, yearly_report_day(year)))
    return runs


def report_runs(start: dt.date, end: dt.date) -> list[ReportRun]:
    """Every run from ``start`` to ``end`` (both included), by date, monthly first."""
    runs: list[ReportRun] = []
    # a month's runs fall in that month, so the months of start..end hold them all
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        runs += [r for r in _runs_of_month(year, month) if start <= r.run_date <= end]
        first = _first_of_next_month(year, month)
        year, month = first.year, first.month
    return sorted(runs, key=lambda r: (r.run_date, r.kind != "monthly"))


def runs_on(day: dt.date) -> list[ReportRun]:
    """The runs of ``day``: none on most days, both kinds if they ever coincide."""
    return report_runs(day, day)


def runs_for(day: dt.date) -> list[ReportRun]:
    """What a run on ``day`` reports: the scheduled runs of that day, or, for a run on
    another day (triggered by hand), the year to date through the previous month."""
    scheduled = runs_on(day)
    if scheduled:
        return scheduled
    previous = dt.date(day.year, day.month, 1) - dt.timedelta(days=1)
    return [ReportRun("monthly", previous.year, previous.month, day)]
