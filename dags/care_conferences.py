"""
### Care conferences, every day: agendas, invitations and the effects of decisions

Every morning at 07:00 (Asia/Seoul), for both tiers:

1. **schedule**: the conferences of the next 8 weeks from the run's date (as the tier
   DAGs keep them; idempotent);
2. **agendas**: each conference of the next two weeks seats its roster and (re)builds
   its agenda (new plans, reviews, pending decisions, carry-overs; escalations,
   alert escalations and high-risk cases at tier 2), triaged into full discussion or
   standard plan; on its freeze day (two county business days before) the agenda
   passes its gate and freezes, and its external copy (HTML and PDF, no personal
   data) is written to the output folder. A needed discipline nobody covers is an
   operational alert (`conference_quorum`);
3. **invitations**: every participant not yet invited at the conference's sequence
   gets the iCalendar invitation (REQUEST, or CANCEL) by mail through the Connection
   `smtp_outbound`, with the frozen agenda attached; without the Connection they
   stay due;
4. **effects**: decisions recorded (on the staff page or the API) for conferences
   held by today are applied once: plans activated, services linked, cases closed to
   after-care, tier-2 referrals listed; the hospitals' Tasks move ("plan approved",
   "services started", completed);
5. **care plans changed** (`care://care-plans/changed`, so `home_visit_planning`
   replans) and **Task versions** (`care://referrals/task-versions`, so
   `hospital_callbacks` tells the hospitals), each only when something changed.

The tier DAGs (`care_conference_tier1`, `care_conference_tier2`) run at the
conferences' own times and mark them held.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, CronTriggerTimetable, dag, task


def _assets() -> tuple[Asset, Asset]:  # plugins are imported inside functions
    from care_assets import CARE_PLANS_CHANGED, TASK_VERSIONS

    return CARE_PLANS_CHANGED, TASK_VERSIONS


CARE_PLANS_CHANGED, TASK_VERSIONS = _assets()


@dag(
    dag_id="care_conferences",
    schedule=CronTriggerTimetable("0 7 * * *", timezone="Asia/Seoul"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["conferences"],
    default_args={
        "owner": "integrated-care-team",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
    },
    doc_md=__doc__,
)
def care_conferences() -> None:
    @task
    def schedule() -> dict[str, object]:
        from care_tasks.common import run_day
        from care_tasks.conferences import ensure_conference_schedule

        return ensure_conference_schedule(run_day().isoformat())

    @task
    def agendas(scheduled: dict[str, object]) -> dict[str, object]:
        from care_tasks.conferences import prepare_conference_agendas

        return prepare_conference_agendas(str(scheduled["today"]))

    @task
    def invitations(_agendas: dict[str, object]) -> dict[str, object]:
        from care_tasks.conferences import send_conference_invitations

        return send_conference_invitations()

    @task
    def effects(_agendas: dict[str, object]) -> dict[str, object]:
        from care_tasks.conferences import apply_conference_effects

        return apply_conference_effects()

    # Skipped when nothing changed: a skipped task emits no Asset event.
    @task(outlets=[CARE_PLANS_CHANGED])
    def care_plans_changed(applied: dict[str, object]) -> int:
        from care_tasks.referrals import changed_or_skip

        changed = applied["plans_activated"], applied["services_linked"], applied["cases_closed"]
        return changed_or_skip(sum(int(str(n)) for n in changed), "care plan changed")

    @task(outlets=[TASK_VERSIONS])
    def task_versions(applied: dict[str, object]) -> int:
        from care_tasks.referrals import changed_or_skip

        return changed_or_skip(applied["task_versions"], "Task moved")

    built = agendas(schedule())  # type: ignore[arg-type]
    invitations(built)  # type: ignore[arg-type]
    applied = effects(built)  # type: ignore[arg-type]
    care_plans_changed(applied)  # type: ignore[arg-type]
    task_versions(applied)  # type: ignore[arg-type]


care_conferences_dag = care_conferences()
