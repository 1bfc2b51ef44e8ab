"""
### Device alert sync: vendor alerts into the care database, once each

Every 10 minutes, and at once when a vendor pushes an alert to the care API (the
`care://alerts/pushed` Asset, emitted only after the pushed alert is stored):

1. **pull**: every polled vendor (smart plugs, emergency-safety gateways, AI
   check-in calls) that has an Airflow Connection `vendor_<code>`, each on its own,
   page by page from its watermark; a page is stored in the transaction that moves
   the watermark, so the watermark never covers an alert that is not committed;
2. **gate**, inside the pull: a known vendor and device, an active device, a time
   neither in the future of the run nor older than the vendor's retention, a kind
   the vendor's mapping rules know (`care_models/alerts/rules/`); a bad alert is
   quarantined with its rule, its vendor's count shown to administrators;
3. **store**: an upsert keyed on (vendor, the vendor's alert id): the same alert
   twice is one row, a corrected alert updates it and the correction is recorded;
4. **device health**: a device offline (two missed heartbeats), never heard from or
   low on battery is a maintenance task for the vendor and the town office (an
   operational alert per device); a high-risk client's device silent for over a day
   raises the platform's own `silent_device` alert, merged like any other
   (`care_models/alerts/health.py`);
5. **merge per person**: every open alert joins its client's open incident, from
   whichever device or vendor it came; a new incident opens only when none is open
   (the rule: `care_models/alerts/incidents.py`). Device-health alerts (battery,
   offline) open nothing; alerts while a client is away or a device is under
   maintenance are kept, suppressed, with the reason. The SOS word, fire, gas and the
   emergency button make the incident critical;
6. **escalate**: the Suyeong-gu protocol on every open incident, on the run's clock
   (Asia/Seoul; weekends and holidays do not pause it), each step once: the day-1
   call (and the SMS when nobody answers), then the day-2 home visit by 12:00 on
   the client's coordinator's route on a business day, or with the duty roster's
   worker on a weekend or holiday; the police report when nobody is found
   (`care_models/alerts/protocol.py`). A late or repeated run does each step once;
7. **day-2 visits to the planner**: when the run booked any, the
   `care://visits/urgent` Asset makes `home_visit_planning` replan that route.

A vendor that fails (5xx, timeouts, a malformed page) fails alone: the others are
pulled, the failure is an operational alert for the team, and its watermark stays.
The run's time (not the wall clock) is what "in the future" is judged against, so a
re-run judges as the run did. XCom holds vendor codes, counts and alert ids only.

8. **texts**: the day-1 SMS to the person (and to the guardian who consented), through
   the SMS gateway (Connection `sms_gateway`, `api_key` extra), each text alone,
   retried across runs with backoff (`CARE_SMS_MAX_ATTEMPTS`, `CARE_SMS_BACKOFF_MINUTES`)
   and dead-lettered after the last attempt; then the gateway's delivery receipts.
   Without the Connection, texts stay queued and the step shows as due.

The town desk sees open incidents per town, records outcomes and prints the police
report on the care API's staff page (`/staff/incidents`) or with
`python -m care_models incidents`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    dag,
    task,
)


def _assets() -> tuple[Asset, Asset]:  # plugins are imported inside functions
    from care_assets import DEVICE_ALERTS_PUSHED, URGENT_VISITS

    return DEVICE_ALERTS_PUSHED, URGENT_VISITS


DEVICE_ALERTS_PUSHED, URGENT_VISITS = _assets()


def _deadline() -> Any:  # plugins are imported inside functions
    """Not done within its interval (10 minutes) after being queued: the on-duty
    administrator is told (plugins/run_deadline_alerts.py)."""
    from run_deadline_alerts import run_deadline

    return run_deadline(dt.timedelta(minutes=10))


@dag(
    dag_id="device_alert_sync",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/10 * * * *", timezone="Asia/Seoul"),
        assets=DEVICE_ALERTS_PUSHED,
    ),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    deadline=_deadline(),
    dagrun_timeout=dt.timedelta(minutes=9),
    tags=["alerts", "devices", "vendors"],
    default_args={
        "owner": "integrated-care-team",
        "retries": 2,
        "retry_delay": dt.timedelta(seconds=30),
        "execution_timeout": dt.timedelta(minutes=5),
    },
    doc_md=__doc__,
)
def device_alert_sync() -> None:
    @task
    def pull() -> dict[str, object]:
        from care_tasks.alerts_ingest import pull_vendor_alerts

        return pull_vendor_alerts()

    # Checked and merged even when a vendor failed: the alerts of the others (and pushed
    # ones) must reach their incidents; the run's time comes from the pull, so a re-run
    # matches it.
    @task(trigger_rule="all_done")
    def device_health(pulled: dict[str, object] | None) -> dict[str, object]:
        from care_tasks.alerts_incidents import check_device_health

        run_at = pulled.get("run_at") if isinstance(pulled, dict) else None
        return check_device_health(str(run_at) if run_at else None)

    @task
    def merge(checked: dict[str, object]) -> dict[str, object]:
        from care_tasks.alerts_incidents import merge_into_incidents

        return merge_into_incidents(str(checked["run_at"]))

    @task
    def escalate(merged: dict[str, object]) -> dict[str, object]:
        from care_tasks.alerts_incidents import escalate

        return escalate(str(merged["run_at"]))

    # Skipped when no day-2 visit was booked: a skipped task emits no Asset event.
    @task(outlets=[URGENT_VISITS])
    def day2_visits_booked(escalated: dict[str, object]) -> int:
        from care_tasks.referrals import changed_or_skip

        return changed_or_skip(escalated["day2_visits_booked"], "day-2 visit booked")

    @task
    def send_texts(escalated: dict[str, object]) -> dict[str, object]:
        from care_tasks.alerts_incidents import send_sms

        return send_sms(str(escalated["run_at"]))

    @task
    def receipts(sent: dict[str, object]) -> dict[str, object]:
        from care_tasks.alerts_incidents import collect_sms_receipts

        return collect_sms_receipts(str(sent["run_at"]))

    escalated = escalate(merge(device_health(pull())))  # type: ignore[arg-type]
    day2_visits_booked(escalated)  # type: ignore[arg-type]
    receipts(send_texts(escalated))  # type: ignore[arg-type]


device_alert_sync_dag = device_alert_sync()
