"""The pledge reports' schedule: 5th business day monthly, first business day after 10
January yearly, on the Korean holiday calendar, and what each run reports."""

from __future__ import annotations

import datetime as dt

import pytest

from care_models import workdays
from care_models.pledges.schedule import (
    RUN_TIME,
    ReportRun,
    fifth_business_day,
    report_runs,
    runs_for,
    runs_on,
    yearly_report_day,
)
from care_models.workdays import SEOUL, is_business_day

D = dt.date

MONTHLY_2026 = [
    D(2026, 1, 8),  # 1 Jan 신정: Fri 2, Mon 5 to Thu 8
    D(2026, 2, 6),  # 설날 is 16-18 Feb, after the 5th business day
    D(2026, 3, 9),  # Mon 2 Mar: 삼일절 substitute holiday
    D(2026, 4, 7),
    D(2026, 5, 11),  # 1 May 노동절, 5 May 어린이날
    D(2026, 6, 8),  # Wed 3 Jun: local election day
    D(2026, 7, 7),
    D(2026, 8, 7),
    D(2026, 9, 7),
    D(2026, 10, 8),  # Mon 5 Oct: 개천절 substitute holiday (Chuseok 24-26 Sep is before)
    D(2026, 11, 6),
    D(2026, 12, 7),
]
MONTHLY_2027 = [
    D(2027, 1, 8),
    D(2027, 2, 5),  # 설날 6-9 Feb, just after
    D(2027, 3, 8),  # Mon 1 Mar 삼일절
    D(2027, 4, 7),
    D(2027, 5, 11),  # Mon 3 May 노동절 substitute, Wed 5 May 어린이날
    D(2027, 6, 7),
    D(2027, 7, 7),
    D(2027, 8, 6),
    D(2027, 9, 7),
    D(2027, 10, 8),  # Mon 4 Oct 개천절 substitute
    D(2027, 11, 5),
    D(2027, 12, 7),
]


@pytest.mark.parametrize(("year", "expected"), [(2026, MONTHLY_2026), (2027, MONTHLY_2027)])
def test_monthly_dates_of_2026_and_2027(year: int, expected: list[dt.date]) -> None:
    assert [fifth_business_day(year, month) for month in range(1, 13)] == expected


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2025, 10, D(2025, 10, 14)),  # 개천절, 추석 5-8 Oct and 한글날: 1, 2, 10, 13, 14
        (2028, 10, D(2028, 10, 13)),  # 추석 2-5 Oct, 한글날 Mon 9 Oct
        (2030, 2, D(2030, 2, 11)),  # 설날 2-4 Feb and its substitute Tue 5 Feb
        (2022, 2, D(2022, 2, 9)),  # 설날 31 Jan - 2 Feb
        (2028, 1, D(2028, 1, 7)),  # 신정 on a Saturday: Mon 3 to Fri 7
    ],
)
def test_holidays_early_in_a_month_push_the_fifth_business_day(
    year: int, month: int, expected: dt.date
) -> None:
    day = fifth_business_day(year, month)
    assert day == expected
    business = [
        D(year, month, d) for d in range(1, day.day + 1) if is_business_day(D(year, month, d))
    ]
    assert len(business) == 5 and business[-1] == day


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2025, D(2025, 1, 13)),  # Sat 11 Jan: Monday the 13th
        (2026, D(2026, 1, 12)),  # Sun 11 Jan: Monday the 12th
        (2027, D(2027, 1, 11)),  # Sun 10 Jan, Mon 11 Jan
        (2028, D(2028, 1, 11)),  # Mon 10 Jan is a business day, but not *after* the 10th
    ],
)
def test_yearly_day_is_the_first_business_day_after_10_january(
    year: int, expected: dt.date
) -> None:
    assert yearly_report_day(year) == expected


def test_monthly_runs_report_the_year_to_date_through_the_previous_month() -> None:
    assert runs_on(D(2026, 10, 8)) == [ReportRun("monthly", 2026, 9, D(2026, 10, 8))]
    (march,) = runs_on(D(2028, 3, 8))
    assert (march.year, march.month, march.through) == (2028, 2, D(2028, 2, 29))
    # January's monthly run reports the previous year in full, as the yearly run does
    (january,) = runs_on(D(2027, 1, 8))
    assert january == ReportRun("monthly", 2026, 12, D(2027, 1, 8))
    assert january.through == D(2026, 12, 31)
    (yearly,) = runs_on(D(2027, 1, 11))
    assert yearly == ReportRun("yearly", 2026, None, D(2027, 1, 11))
    assert yearly.through == D(2026, 12, 31)


def test_a_run_is_at_six_in_seoul() -> None:
    (run,) = runs_on(D(2026, 10, 8))
    assert dt.time(6, 0) == RUN_TIME
    assert run.run_at == dt.datetime(2026, 10, 8, 6, tzinfo=SEOUL)
    assert run.run_at.astimezone(dt.UTC) == dt.datetime(2026, 10, 7, 21, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "day",
    [
        D(2026, 10, 7),  # the 5th weekday of October 2026, but 5 Oct was a holiday
        D(2026, 10, 9),  # 한글날
        D(2026, 1, 10),  # Saturday
        D(2026, 1, 11),  # Sunday: the yearly run is on Monday
        D(2026, 6, 3),  # election day
        D(2026, 7, 15),  # an ordinary Wednesday
        D(2028, 1, 10),  # the 10th itself, a business day
        D(2026, 1, 1),
    ],
)
def test_other_days_have_no_run(day: dt.date) -> None:
    assert runs_on(day) == []


def test_report_runs_in_order_with_both_ends_included() -> None:
    runs = report_runs(D(2026, 1, 8), D(2027, 1, 11))
    assert [r.run_date for r in runs] == sorted(r.run_date for r in runs)
    assert [r.run_date for r in runs if r.kind == "monthly"] == [*MONTHLY_2026, D(2027, 1, 8)]
    assert [(r.kind, r.year, r.run_date) for r in runs if r.kind == "yearly"] == [
        ("yearly", 2025, D(2026, 1, 12)),
        ("yearly", 2026, D(2027, 1, 11)),
    ]
    assert [(r.year, r.month) for r in runs if r.kind == "monthly"] == [
        (2025, 12),
        *[(2026, m) for m in range(1, 13)],
    ]
    assert report_runs(D(2026, 1, 9), D(2026, 1, 11)) == []
    assert report_runs(D(2027, 1, 1), D(2026, 1, 1)) == []


def test_every_run_over_ten_years_is_a_business_day_each_month_once() -> None:
    runs = report_runs(D(2026, 1, 1), D(2035, 12, 31))
    assert len(runs) == 10 * 13
    assert all(is_business_day(r.run_date) for r in runs)
    months = [(r.run_date.year, r.run_date.month) for r in runs if r.kind == "monthly"]
    assert len(set(months)) == len(months) == 120
    assert all(runs_on(r.run_date) == [r] for r in runs)


def test_both_kinds_on_one_day_if_the_calendar_ever_makes_them_coincide(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a made-up calendar: 1 and 4 January 2027 off, so Mon 11 January is the 5th business day
    closed = {D(2027, 1, 1), D(2027, 1, 4)}
    monkeypatch.setattr(workdays, "korean_holidays", lambda year: dict.fromkeys(closed, "x"))
    assert fifth_business_day(2027, 1) == yearly_report_day(2027) == D(2027, 1, 11)
    assert runs_on(D(2027, 1, 11)) == [
        ReportRun("monthly", 2026, 12, D(2027, 1, 11)),
        ReportRun("yearly", 2026, None, D(2027, 1, 11)),
    ]


def test_a_run_knows_its_kind_by_its_month() -> None:
    with pytest.raises(ValueError, match="month"):
        ReportRun("yearly", 2026, 12, D(2027, 1, 11))
    with pytest.raises(ValueError, match="month"):
        ReportRun("monthly", 2026, None, D(2027, 1, 8))


def test_a_run_off_the_schedule_reports_the_year_to_date_through_last_month() -> None:
    (manual,) = runs_for(dt.date(2026, 12, 4))
    assert (manual.kind, manual.year, manual.month) == ("monthly", 2026, 11)
    assert manual.through == dt.date(2026, 11, 30)
    (january,) = runs_for(dt.date(2027, 1, 2))  # a Saturday, off the schedule
    assert (january.year, january.month) == (2026, 12)
    assert runs_for(dt.date(2026, 12, 7)) == runs_on(dt.date(2026, 12, 7))  # scheduled
