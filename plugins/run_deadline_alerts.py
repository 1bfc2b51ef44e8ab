"""The Airflow Deadline Alert of a workflow that must keep up with its schedule.

``referral_intake`` and ``device_alert_sync`` build theirs here (DAG files import only
the standard library and ``airflow.sdk`` at their top level, and plugins inside a
function): a run not done ``interval`` after it was queued makes Airflow's triggerer
call :func:`care_tasks.run_deadlines.run_deadline_missed`. ``CARE_RUN_DEADLINE_SECONDS``
shortens every deadline for a drill or a test (0: the schedule's interval).
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import (  # type: ignore[attr-defined]  # lazy exports of airflow.sdk
    AsyncCallback,
    DeadlineAlert,
    DeadlineReference,
)

CALLBACK = "care_tasks.run_deadlines.run_deadline_missed"


def run_deadline(interval: dt.timedelta) -> DeadlineAlert:
    seconds = int(os.environ.get("CARE_RUN_DEADLINE_SECONDS") or 0)
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=dt.timedelta(seconds=seconds) if seconds else interval,
        callback=AsyncCallback(CALLBACK),
    )
