"""The holiday-aware timetable of the pledge reports, on the domain's own schedule.

:class:`PledgeReportTimetable` runs at :data:`~care_models.pledges.schedule.RUN_TIME`
Asia/Seoul on each day :func:`~care_models.pledges.schedule.report_runs` gives: the 5th
business day of every month (the year to date through the previous month) and the first
business day after 10 January (the previous year). Korean public holidays, substitute
and election days included, are not business days, so the UI's next run is the day the
report is made. A day with both kinds (never, on today's calendar) is one run; the
workflow asks :func:`~care_models.pledges.schedule.runs_on` what the run's day reports.
Each run is exact (its data interval is the instant it runs); catchup, ``earliest`` and
``latest`` are handled as for the conference timetables (:mod:`timetables.exact`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from care_models.pledges.schedule import report_runs
from care_models.workdays import SEOUL
from timetables.exact import ExactRunsTimetable

SEARCH_DAYS = 120  # runs are at most about 40 days apart


class PledgeReportTimetable(ExactRunsTimetable):
    """Pledge reports: 5th business day monthly, first business day after 10 January yearly."""

    description = (
        "06:00 Asia/Seoul on the 5th business day of each month (the year to date through "
        "the previous month) and on the first business day after 10 January (the previous "
        "year); public holidays (substitute and election days included) are not business days"
    )

    @property
    def summary(self) -> str:
        return "공약 이행 보고: 매월 5번째 영업일, 매년 1월 10일 후 첫 영업일 06:00 (공휴일 제외)"

    def _next_after(self, after: dt.datetime, *, inclusive: bool) -> dt.datetime | None:
        start = after.astimezone(SEOUL).date()
        for run in report_runs(start, start + dt.timedelta(days=SEARCH_DAYS)):
            if run.run_at > after or (inclusive and run.run_at == after):
                return run.run_at
        return None

    def serialize(self) -> dict[str, Any]:
        return {}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> PledgeReportTimetable:
        return cls()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PledgeReportTimetable)

    def __hash__(self) -> int:
        return hash(type(self).__name__)
