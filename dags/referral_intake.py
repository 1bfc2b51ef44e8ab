"""
### Referral intake: every hospital referral answered, every accepted one a case

Hospitals send discharge referrals (FHIR R4 Bundles) to the care API, or the county
pulls them from hospitals that run a FHIR server (one Airflow Connection per
hospital, `fhir_<hospital code>`, e.g. `fhir_h_cj_uni`). This workflow runs when the
API records a referral (the `care://referrals/received` Asset) and every 15 minutes
for the pull hospitals:

1. **pull**: new ServiceRequests from each pull hospital since its watermark;
2. **intake gate**: the `intake.referrals` suite on the received referrals
   (required fields, dates, codes, one referral per person in a batch); failing
   referrals are rejected back to their hospital with the rule they broke;
3. **intake**: match the person by keyed hash (ambiguous matches wait for review,
   never merged), triage (rules in `care_models/referrals/rules/triage.json`), open the case
   with its needs, book the first assessment visit within 2 business days of
   discharge, move the hospital's Task to `accepted` or `rejected`;
4. **notify**: POST each Task version to hospitals with a callback URL, once.

Emits `care://cases` and `care://visits/urgent` (for the home-visit planner).
Every step is idempotent; XCom holds counts and ids only, never personal data.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, task


def _assets() -> tuple[Asset, Asset, Asset]:  # plugins are imported inside functions
    from care_assets import CASES, REFERRALS_RECEIVED, URGENT_VISITS

    return REFERRALS_RECEIVED, CASES, URGENT_VISITS


REFERRALS_RECEIVED, CASES, URGENT_VISITS = _assets()


@dag(
    dag_id="referral_intake",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/15 * * * *", timezone="Asia/Seoul"),
        assets=REFERRALS_RECEIVED,
    ),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["referrals", "hospitals", "fhir"],
    default_args={
        "owner": "integrated-care-team",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=1),
    },
    doc_md=__doc__,
)
def referral_intake() -> None:
    @task
    def pull_hospitals() -> dict[str, int]:
        from care_tasks.referrals import pull_all_hospitals

        return pull_all_hospitals()

    @task
    def intake_gate(pulled: dict[str, int], run_id: str | None = None) -> dict[str, object]:
        from care_tasks.referrals import gate_pending_referrals

        return gate_pending_referrals(run_key=run_id)

    @task(outlets=[CASES, URGENT_VISITS])
    def intake(gated: dict[str, object]) -> dict[str, object]:
        from care_tasks.referrals import run_pending_intake

        return run_pending_intake(gated)

    @task
    def notify_hospitals(summary: dict[str, object]) -> dict[str, int]:
        from care_tasks.referrals import notify_hospitals as notify

        return notify()

    notify_hospitals(intake(intake_gate(pull_hospitals())))  # type: ignore[arg-type]


referral_intake_dag = referral_intake()
