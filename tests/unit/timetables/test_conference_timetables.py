"""The conference timetables: serialization, UI texts, holiday moves, never silently empty."""

from __future__ import annotations

import datetime as dt

import pytest
from airflow.timetables.base import DataInterval, TimeRestriction
from pendulum import instance

from care_models.conferences.calendar import conference_slots
from care_models.workdays import SEOUL, is_business_day
from timetables.conferences import Tier1ConferenceTimetable, Tier2ConferenceTimetable

START = instance(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def seoul(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SEOUL)


def runs(timetable: Tier1ConferenceTimetable | Tier2ConferenceTimetable, count: int) -> list:
    """``count`` consecutive scheduled runs from the start date, with catchup."""
    restriction = TimeRestriction(earliest=START, latest=None, catchup=True)
    last: DataInterval | None = None
    result = []
    for _ in range(count):
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        assert info is not None, f"the timetable stopped after {len(result)} runs"
        assert info.data_interval is not None
        result.append(info.run_after)
        last = info.data_interval
    return result


def test_tier2_runs_are_the_calendars_conferences_for_three_years() -> None:
    starts = runs(Tier2ConferenceTimetable(), 72)  # 3 years: never empty
    expected = [
        s.start_at for s in conference_slots(dt.date(2026, 1, 1), dt.date(2028, 12, 31), [], tier=2)
    ]
    assert starts == expected
    assert all(is_business_day(s.astimezone(SEOUL).date()) for s in starts)
    assert seoul(2026, 9, 28, 14) in starts  # the 4th Thursday fell on Chuseok eve


def test_tier1_runs_at_each_towns_time_weekly() -> None:
    timetable = Tier1ConferenceTimetable(((1, "10:00"), (3, "09:30"), (1, "10:00")))
    assert timetable.slots == ((1, "10:00"), (3, "09:30"))
    starts = runs(timetable, 2 * 52 * 3)
    assert len(set(starts)) == len(starts) and starts == sorted(starts)
    assert starts[-1] > seoul(2028, 12, 1)
    # the local election day (Wed 2026-06-03) is not a Tuesday or Thursday: both stay
    assert seoul(2026, 6, 2, 10) in starts and seoul(2026, 6, 4, 9, 30) in starts
    # Thu 2026-09-24 (Chuseok eve) moves to Mon 09-28, Tue 2026-10-06 stays
    assert seoul(2026, 9, 28, 9, 30) in starts and seoul(2026, 10, 6, 10) in starts


@pytest.mark.parametrize(
    "timetable",
    [Tier2ConferenceTimetable(), Tier1ConferenceTimetable(((0, "08:45"), (4, "16:00")))],
)
def test_serializes_and_describes_itself(
    timetable: Tier1ConferenceTimetable | Tier2ConferenceTimetable,
) -> None:
    again = type(timetable).deserialize(timetable.serialize())
    assert again.serialize() == timetable.serialize()
    assert runs(again, 5) == runs(timetable, 5)
    assert timetable.summary and timetable.description
    manual = timetable.infer_manual_data_interval(run_after=START)
    assert manual.start == manual.end == START


def test_without_catchup_the_next_run_is_the_next_conference_from_now() -> None:
    restriction = TimeRestriction(earliest=START, latest=None, catchup=False)
    info = Tier2ConferenceTimetable().next_dagrun_info(
        last_automated_data_interval=DataInterval.exact(START), restriction=restriction
    )
    assert info is not None and info.run_after > dt.datetime.now(dt.UTC)
    assert info.run_after - dt.datetime.now(dt.UTC) < dt.timedelta(days=40)


def test_latest_ends_the_schedule_only_past_it() -> None:
    latest = instance(dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    restriction = TimeRestriction(earliest=START, latest=latest, catchup=True)
    timetable = Tier2ConferenceTimetable()
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert info is not None and info.data_interval is not None
    info = timetable.next_dagrun_info(
        last_automated_data_interval=info.data_interval, restriction=restriction
    )
    assert info is not None and info.data_interval is not None  # Jan 22
    assert (
        timetable.next_dagrun_info(
            last_automated_data_interval=info.data_interval, restriction=restriction
        )
        is None
    )


def test_bad_slots_are_refused() -> None:
    with pytest.raises(ValueError, match="weekday"):
        Tier1ConferenceTimetable(((7, "10:00"),))
