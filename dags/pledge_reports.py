"""
### Pledge and performance reports: targets against actuals, from the care data

At 06:00 (Asia/Seoul) on the 5th business day of every month, for the progress
meeting (the year to date through the end of the previous month; January's run: the
previous year in full), and on the first business day after 10 January, as the
previous year's report. Korean public holidays (substitute and election days
included) are not business days (the holiday-aware timetable in
`plugins/timetables/pledges.py`, on `care_models/pledges/schedule.py`). Each run:

1. **cards**: the pledge cards (`care_models/pledges/cards/`, and a department's new
   versions dropped in `CARE_VAR_DIR/pledges/`) are loaded; a changed card becomes a
   new version, the earlier ones kept; the cards' own arithmetic that does not add up
   is counted as warnings;
2. **actuals**: every indicator a card binds to a query in `sql/pledges/` is computed
   for the year the run reports from the care data (referrals, visits, conferences,
   alerts); reported actuals are kept; over 150% of the target or a 3x jump is flagged;
3. **report**: the year's report in Korean (HTML, PDF with charts, XLSX with the rates
   as formulas) and its CSV tables, with the achievement and execution rates, progress
   as stated and as computed, the set's 완료율, 목표달성도 and 일치도 and an appendix
   tracing each computed figure (`var/out/pledges/<year>/`); a monthly run adds the
   progress report, the indicators behind their share of the year first
   (`monthly/<YYYY-MM>.html`, `.csv`). A run triggered by hand off the schedule
   reports the year to date through the previous month.

`python -m care_models pledges load|compute|report|progress|actual|executed` does the
same by hand and records what only people know.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import dag, task


def _timetable() -> Any:  # plugins are imported inside functions
    from timetables.pledges import PledgeReportTimetable

    return PledgeReportTimetable()


@dag(
    dag_id="pledge_reports",
    schedule=_timetable(),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["pledges", "reports"],
    default_args={
        "owner": "integrated-care-team",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
    },
    doc_md=__doc__,
)
def pledge_reports() -> None:
    @task
    def cards() -> dict[str, object]:
        from care_tasks.pledges import load_pledge_cards

        return load_pledge_cards()

    @task
    def actuals(_cards: dict[str, object]) -> dict[str, object]:
        from care_tasks.pledges import compute_pledge_actuals

        return compute_pledge_actuals()

    @task
    def report(_actuals: dict[str, object]) -> dict[str, object]:
        from care_tasks.pledges import publish_pledge_report

        return publish_pledge_report()

    report(actuals(cards()))  # type: ignore[arg-type]


pledge_reports_dag = pledge_reports()
