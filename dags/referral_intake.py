"""
### Referral intake: every hospital referral answered, every accepted one a case

Hospitals send discharge referrals (FHIR R4 Bundles) to the care API, and
`referral_pull` fetches them from hospitals that run a FHIR server. This workflow
runs when either records a referral (the `care://referrals/received` Asset) and
every 15 minutes. It never waits for a pull nor for a hospital's callback endpoint:
those run in their own workflows (`referral_pull`, `hospital_callbacks`).

1. **intake gate**: the `intake.referrals` suite on the received referrals
   (required fields, dates, codes, one referral per person and hospital in a
   batch); failing referrals are rejected back to their hospital with the rule they
   broke. The same person referred by two hospitals in one batch goes to identity
   review, with the same neutral reason as any review;
2. **intake**: match the person by keyed hash (ambiguous matches wait for review,
   never merged), triage (rules in `care_models/referrals/rules/triage.json`), open the case
   with its needs, book the first assessment visit within 2 business days of
   discharge, move the hospital's Task to `accepted` or `rejected`. Each referral
   is answered in its own transaction: one that fails (no coordinator free within
   10 business days, or a fault) is put `on-hold` with a reason the hospital can
   read and an operational alert for the team (`python -m care_models summary`),
   and the others go on;
3. **Task versions changed**: emits `care://referrals/task-versions` (for
   `hospital_callbacks`) when intake answered any referral; skipped otherwise.

Re-try the referrals held for capacity or a fault (after freeing capacity or fixing
the fault): trigger with `{"retry_held": true}`, e.g.
`airflow dags trigger referral_intake -c '{"retry_held": true}'`.

Emits `care://cases` and `care://visits/urgent` (for the home-visit planner). Every
raw Bundle read is audited; every step is idempotent; XCom holds counts, ids and
rule names only, never personal data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    Param,
    dag,
    task,
)


def _assets() -> tuple[Asset, Asset, Asset, Asset]:  # plugins are imported inside functions
    from care_assets import CASES, REFERRALS_RECEIVED, TASK_VERSIONS, URGENT_VISITS

    return REFERRALS_RECEIVED, CASES, URGENT_VISITS, TASK_VERSIONS


REFERRALS_RECEIVED, CASES, URGENT_VISITS, TASK_VERSIONS = _assets()


def _deadline() -> Any:  # plugins are imported inside functions
    """Not done within its interval (15 minutes) after being queued: the on-duty
    administrator is told (plugins/run_deadline_alerts.py)."""
    from run_deadline_alerts import run_deadline

    return run_deadline(dt.timedelta(minutes=15))


@dag(
    dag_id="referral_intake",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/15 * * * *", timezone="Asia/Seoul"),
        assets=REFERRALS_RECEIVED,
    ),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    deadline=_deadline(),
    tags=["referrals", "hospitals", "fhir"],
    default_args={
        "owner": "integrated-care-team",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=1),
    },
    params={
        "retry_held": Param(
            False,
            type="boolean",
            description="Also re-try the referrals held for lack of capacity or a fault.",
        )
    },
    doc_md=__doc__,
)
def referral_intake() -> None:
    @task
    def intake_gate(
        run_id: str | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, object]:
        from care_tasks.referrals import gate_pending_referrals

        retry = bool((params or {}).get("retry_held"))
        return gate_pending_referrals(run_key=run_id, retry_held=retry)

    @task(outlets=[CASES, URGENT_VISITS])
    def intake(gated: dict[str, object]) -> dict[str, object]:
        from care_tasks.referrals import run_pending_intake

        return run_pending_intake(gated)

    @task(outlets=[TASK_VERSIONS])
    def task_versions_changed(summary: dict[str, object]) -> int:
        from care_tasks.referrals import changed_or_skip

        return changed_or_skip(summary["processed"], "referral answered")

    task_versions_changed(intake(intake_gate()))  # type: ignore[arg-type]


referral_intake_dag = referral_intake()
