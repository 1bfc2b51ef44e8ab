"""
### Pledge and performance reports: targets against actuals, from the care data

On the 1st of every month at 06:00 (Asia/Seoul), for the progress meeting, and as
the year's report:

1. **cards**: the pledge cards (`care_models/pledges/cards/`, and a department's new
   versions dropped in `CARE_VAR_DIR/pledges/`) are loaded; a changed card becomes a
   new version, the earlier ones kept; the cards' own arithmetic that does not add up
   is counted as warnings;
2. **actuals**: every indicator a card binds to a query in `sql/pledges/` is computed
   for the run's year from the care data (referrals, visits, conferences, alerts);
   reported actuals are kept; over 150% of the target or a 3x jump is flagged;
3. **report**: the year's report in Korean (HTML, PDF) and its CSV tables, with the
   achievement and execution rates, progress as stated and as computed, and the
   set's 완료율, 목표달성도 and 일치도 (`var/out/pledges/<year>/`).

`python -m care_models pledges load|compute|report|actual|executed` does the same by
hand and records what only people know.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, dag, task


@dag(
    dag_id="pledge_reports",
    schedule=CronTriggerTimetable("0 6 1 * *", timezone="Asia/Seoul"),
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
