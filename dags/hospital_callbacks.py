"""
### Hospital callbacks: each Task status change told to its hospital, once

Hospitals with a callback URL (`organisations.callback_url`, or an Airflow
Connection `callback_<hospital code>`) receive each version of their referral's
FHIR Task by POST. Runs when intake answered referrals
(`care://referrals/task-versions`), when a referral arrives
(`care://referrals/received`, version 1) and every 5 minutes for the retries.

A dead endpoint costs little and holds up nobody: its own workflow, one attempt per
version with a short connect timeout, a per-hospital circuit breaker within a run,
backoff between runs, and after the last attempt a dead letter with an operational
alert for the team (`python -m care_models summary`). Settings: `CARE_CALLBACK_*`.
The task has an execution timeout; what was delivered before it stays delivered.
XCom holds counts and hospital codes only.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, task


def _assets() -> tuple[Asset, Asset]:  # plugins are imported inside functions
    from care_assets import REFERRALS_RECEIVED, TASK_VERSIONS

    return TASK_VERSIONS, REFERRALS_RECEIVED


TASK_VERSIONS, REFERRALS_RECEIVED = _assets()


@dag(
    dag_id="hospital_callbacks",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/5 * * * *", timezone="Asia/Seoul"),
        assets=TASK_VERSIONS | REFERRALS_RECEIVED,
    ),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["referrals", "hospitals", "callbacks"],
    default_args={
        "owner": "integrated-care-team",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=1),
    },
    doc_md=__doc__,
)
def hospital_callbacks() -> None:
    @task(execution_timeout=dt.timedelta(minutes=10))
    def deliver() -> dict[str, object]:
        from care_tasks.referrals import deliver_hospital_callbacks

        return deliver_hospital_callbacks()

    deliver()


hospital_callbacks_dag = hospital_callbacks()
