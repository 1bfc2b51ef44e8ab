"""The pledge reports' timetable: runs on the schedule's days at 06:00 Seoul, exact
intervals, catchup and restriction handled, serialization, never silently empty."""

from __future__ import annotations

import datetime as dt
import re

from airflow.timetables.base import DataInterval, TimeRestriction
from pendulum import instance

from care_models.pledges.schedule import report_runs
from care_models.workdays import SEOUL
from timetables.pledges import PledgeReportTimetable

START = instance(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def seoul(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SEOUL)


def runs(timetable: PledgeReportTimetable, count: int) -> list[dt.datetime]:
    """``count`` consecutive scheduled runs from the start date, with catchup."""
    restriction = TimeRestriction(earliest=START, latest=None, catchup=True)
    last: DataInterval | None = None
    result: list[dt.datetime] = []
    for _ in range(count):
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        assert info is not None, f"the timetable stopped after {len(result)} runs"
        assert info.data_interval is not None
        assert info.data_interval.start == info.data_interval.end == info.run_after
        result.append(info.run_after)
        last = info.data_interval
    return result


def test_runs_are_the_schedules_days_at_six_for_three_years() -> None:
    starts = runs(PledgeReportTimetable(), 3 * 13)
    expected = [r.run_at for r in report_runs(dt.date(2026, 1, 1), dt.date(2028, 12, 31))]
    assert starts == expected
    assert starts[:3] == [seoul(2026, 1, 8, 6), seoul(2026, 1, 12, 6), seoul(2026, 2, 6, 6)]
    assert seoul(2026, 10, 8, 6) in starts and seoul(2026, 10, 7, 6) not in starts


def test_next_run_after_the_last_interval() -> None:
    timetable = PledgeReportTimetable()
    restriction = TimeRestriction(earliest=START, latest=None, catchup=True)
    for last, expected in [
        (seoul(2026, 10, 8, 6), seoul(2026, 11, 6, 6)),
        (seoul(2027, 1, 8, 6), seoul(2027, 1, 11, 6)),  # the yearly run comes next
        (seoul(2027, 1, 11, 6), seoul(2027, 2, 5, 6)),
        (seoul(2026, 12, 20, 9), seoul(2027, 1, 8, 6)),  # a manual run's interval
    ]:
        info = timetable.next_dagrun_info(
            last_automated_data_interval=DataInterval.exact(instance(last)),
            restriction=restriction,
        )
        assert info is not None and info.run_after == expected


def test_a_run_is_exactly_at_six_seoul_time() -> None:
    timetable = PledgeReportTimetable()
    at_six = instance(seoul(2026, 10, 8, 6).astimezone(dt.UTC))
    assert (at_six.year, at_six.month, at_six.day, at_six.hour) == (2026, 10, 7, 21)
    # a start date exactly at a run's instant includes that run ...
    restriction = TimeRestriction(earliest=at_six, latest=None, catchup=True)
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert info is not None and info.data_interval is not None
    assert info.run_after == at_six
    assert info.data_interval.start == info.data_interval.end == at_six
    # ... a last run at it does not repeat it, and a minute later it is missed
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval.exact(at_six), restriction=restriction
    )
    assert info is not None and info.run_after == seoul(2026, 11, 6, 6)
    later = TimeRestriction(earliest=at_six.add(minutes=1), latest=None, catchup=True)
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=later)
    assert info is not None and info.run_after == seoul(2026, 11, 6, 6)


def test_without_catchup_the_first_run_is_the_next_report_day_from_now() -> None:
    restriction = TimeRestriction(earliest=START, latest=None, catchup=False)
    timetable = PledgeReportTimetable()
    for last in (None, DataInterval.exact(START)):
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        now = dt.datetime.now(dt.UTC)
        assert info is not None and info.run_after > now
        assert info.run_after - now < dt.timedelta(days=45)
        run_at = info.run_after.astimezone(SEOUL)
        assert run_at.time() == dt.time(6, 0)
        between = report_runs(now.astimezone(SEOUL).date(), run_at.date())
        assert [r.run_at for r in between if r.run_at > now] == [run_at]


def test_never_none_before_latest_and_none_past_it() -> None:
    latest = instance(dt.datetime(2029, 1, 1, tzinfo=dt.UTC))
    restriction = TimeRestriction(earliest=START, latest=latest, catchup=True)
    timetable = PledgeReportTimetable()
    last: DataInterval | None = None
    seen: list[dt.datetime] = []
    while True:
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        if info is None:
            break
        assert info.data_interval is not None
        seen.append(info.run_after)
        last = info.data_interval
        assert len(seen) < 100
    assert seen == [r.run_at for r in report_runs(dt.date(2026, 1, 1), dt.date(2028, 12, 31))]
    assert len(seen) == 39  # 12 monthly and 1 yearly run a year, the last on 2028-12-07


def test_serializes_and_describes_itself() -> None:
    timetable = PledgeReportTimetable()
    again = PledgeReportTimetable.deserialize(timetable.serialize())
    assert again == timetable and hash(again) == hash(timetable)
    assert again.serialize() == timetable.serialize() == {}
    assert runs(again, 14) == runs(timetable, 14)
    assert re.search("[가-힣]", timetable.summary) and "영업일" in timetable.summary
    assert "5th business day" in timetable.description
    assert "10 January" in timetable.description
    manual = timetable.infer_manual_data_interval(run_after=START)
    assert manual.start == manual.end == START


def test_no_start_date_schedules_nothing() -> None:
    restriction = TimeRestriction(earliest=None, latest=None, catchup=True)
    assert (
        PledgeReportTimetable().next_dagrun_info(
            last_automated_data_interval=None, restriction=restriction
        )
        is None
    )
