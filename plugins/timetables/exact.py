"""The scheduling shared by the project's timetables: exact runs at computed instants.

A subclass says only when its next run is (:meth:`ExactRunsTimetable._next_after`);
this base turns that into Airflow's answers: each run's data interval is the instant
itself, a manual run's too; without catchup the next run is the next one from now;
``restriction.earliest`` is never preceded, and None is returned only past
``restriction.latest`` (or when the subclass finds no run at all).
"""

from __future__ import annotations

import datetime as dt

from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from pendulum import DateTime, instance


class ExactRunsTimetable(Timetable):
    def _next_after(self, after: dt.datetime, *, inclusive: bool) -> dt.datetime | None:
        """The first run after ``after`` (at it too when ``inclusive``), aware; None if none."""
        raise NotImplementedError

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        return DataInterval.exact(run_after)

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        after: dt.datetime
        if last_automated_data_interval is not None:
            after, inclusive = last_automated_data_interval.end, False
            if not restriction.catchup:
                now = dt.datetime.now(dt.UTC)
                if now > after:
                    after, inclusive = now, True
        elif restriction.earliest is not None:
            after, inclusive = restriction.earliest, True
            if not restriction.catchup:
                after = max(after, dt.datetime.now(dt.UTC))
        else:
            return None  # no start date: nothing to schedule
        if restriction.earliest is not None and after < restriction.earliest:
            after, inclusive = restriction.earliest, True
        start = self._next_after(after, inclusive=inclusive)
        if start is None:
            return None
        at = instance(start.astimezone(dt.UTC))
        if restriction.latest is not None and at > restriction.latest:
            return None
        return DagRunInfo.exact(at)
