"""
### Care conferences, tier 2: county-wide (통합지원회의)

At 14:00 on the 2nd and 4th Thursday of each month.

Scheduled by the holiday-aware conference timetable (`plugins/timetables/`): a
conference day that is a Korean public holiday (substitute and election days
included) moves to the next business day, so the UI's next run is the conference the
county will hold. Each run:

1. **schedule**: keeps the conferences table filled for the next 8 weeks from the
   run's date, with the county's closure days: each conference one row for life (a
   stable invitation UID; a moved conference keeps it, its sequence raised and the
   reason kept; a slot that no longer exists is cancelled). Idempotent.

2. **hold**: the conferences that have started by the run's time are marked held
   (their decisions' effects are applied by the daily `care_conferences`).

`python -m care_models conferences calendar --from ... --to ...` lists the same
conferences. Agendas, invitations and the effects of decisions are the daily
`care_conferences` DAG's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import dag, task


def _timetable() -> Any:  # plugins are imported inside functions
    from timetables.conferences import Tier2ConferenceTimetable

    return Tier2ConferenceTimetable()


@dag(
    dag_id="care_conference_tier2",
    schedule=_timetable(),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["conferences", "tier-2"],
    default_args={
        "owner": "integrated-care-team",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
    },
    doc_md=__doc__,
)
def care_conference_tier2() -> None:
    @task
    def schedule() -> dict[str, object]:
        from care_tasks.common import run_day
        from care_tasks.conferences import ensure_conference_schedule

        return ensure_conference_schedule(run_day().isoformat())

    @task
    def hold(_scheduled: dict[str, object]) -> dict[str, object]:
        from care_tasks.conferences import hold_started_conferences

        return hold_started_conferences()

    hold(schedule())  # type: ignore[arg-type]


care_conference_tier2_dag = care_conference_tier2()
