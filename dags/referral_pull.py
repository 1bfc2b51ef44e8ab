"""
### Referral pull: new referrals from the hospitals that run a FHIR server

Each pull hospital has an Airflow Connection `fhir_<hospital code>` (e.g.
`fhir_h_cj_uni`); hospitals without one push to the care API instead. Every 15
minutes:

1. **pull**: new ServiceRequests from each pull hospital since its watermark (one
   hospital down or sending a bad page does not stop the others);
2. **referrals pulled**: emits `care://referrals/received` when the pull recorded
   new referrals, which runs `referral_intake`; skipped otherwise.

A pull of its own: however slow or broken a hospital's server, pushed referrals are
answered by `referral_intake` without waiting for it. XCom holds counts only.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, CronTriggerTimetable, dag, task


def _assets() -> Asset:  # plugins are imported inside functions
    from care_assets import REFERRALS_RECEIVED

    return REFERRALS_RECEIVED


REFERRALS_RECEIVED = _assets()


@dag(
    dag_id="referral_pull",
    schedule=CronTriggerTimetable("*/15 * * * *", timezone="Asia/Seoul"),
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
def referral_pull() -> None:
    @task(execution_timeout=dt.timedelta(minutes=20))
    def pull_hospitals() -> dict[str, int]:
        from care_tasks.referrals import pull_all_hospitals

        return pull_all_hospitals()

    @task(outlets=[REFERRALS_RECEIVED])
    def referrals_pulled(pulled: dict[str, int]) -> int:
        from care_tasks.referrals import changed_or_skip

        return changed_or_skip(pulled.get("created", 0), "referral pulled")

    referrals_pulled(pull_hospitals())  # type: ignore[arg-type]


referral_pull_dag = referral_pull()
