"""Tasks take their date from the DAG run (Asia/Seoul), not from the wall clock."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from care_tasks.common import run_day


def test_a_scheduled_run_is_dated_by_its_logical_date_in_seoul() -> None:
    friday_15_seoul = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)
    assert run_day({"logical_date": friday_15_seoul}) == dt.date(2026, 11, 27)


def test_late_evening_utc_is_already_the_next_day_in_seoul() -> None:
    assert run_day({"logical_date": dt.datetime(2026, 11, 26, 23, 30, tzinfo=dt.UTC)}) == (
        dt.date(2026, 11, 27)
    )


def test_an_asset_triggered_run_without_logical_date_uses_when_it_was_due() -> None:
    dag_run = SimpleNamespace(run_after=dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))
    assert run_day({"logical_date": None, "dag_run": dag_run}) == dt.date(2026, 3, 2)


def test_a_rerun_of_last_weeks_run_works_on_last_week() -> None:
    last_week = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    assert run_day({"logical_date": last_week}) == (last_week + dt.timedelta(hours=9)).date()
