"""
### Care deadlines: the watchdog

Every hour at :05 (Asia/Seoul) the care deadlines are checked as of the run's time
(`care_models.deadlines`, each with its rule and source):

- a referral answered within one business day of its arrival;
- the first visit on or before the second business day after discharge;
- the day-2 protocol visit recorded by 12:00;
- a conference's agenda frozen two county business days before it.

Each item past its deadline and not done gets one operational alert
(`deadline_<rule>`), resolved when it is done; the counts per rule (overdue, late)
are this run's XCom. Codes and times only, never a name.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, dag, task


@dag(
    dag_id="care_deadlines",
    schedule=CronTriggerTimetable("5 * * * *", timezone="Asia/Seoul"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["operations", "deadlines"],
    default_args={
        "owner": "integrated-care-team",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=1),
        "execution_timeout": dt.timedelta(minutes=10),
    },
    doc_md=__doc__,
)
def care_deadlines() -> None:
    @task
    def watch() -> dict[str, object]:
        from care_tasks.deadlines import watch_care_deadlines

        return watch_care_deadlines()

    watch()


care_deadlines_dag = care_deadlines()
