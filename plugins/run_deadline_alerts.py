"""The Airflow Deadline Alert of a workflow that must keep up with its schedule.

``referral_intake`` and ``device_alert_sync`` build theirs here (DAG files import only
the standard library and ``airflow.sdk`` at their top level, and plugins inside a
function): a run not done ``interval`` after it was queued makes Airflow's triggerer
call :func:`care_tasks.run_deadlines.run_deadline_missed`. ``CARE_RUN_DEADLINE_SECONDS``
shortens every deadline for a drill or a test (0: the schedule's interval).
``airflow dags test`` gets none (:func:`in_dags_test`).
"""

from __future__ import annotations

import datetime as dt
import os
import sys

from airflow.sdk import (  # type: ignore[attr-defined]  # lazy exports of airflow.sdk
    AsyncCallback,
    DeadlineAlert,
    DeadlineReference,
)

CALLBACK = "care_tasks.run_deadlines.run_deadline_missed"


def in_dags_test(argv: list[str] | None = None) -> bool:
    """Parsed by ``airflow dags test``: Airflow 3.3.2's ``Dag.test()`` reads the DAG's
    deadlines as alert ids once the run succeeds and fails on a real one, and a local
    test run has no deadline to keep, so none is attached there."""
    return (argv if argv is not None else sys.argv)[1:3] == ["dags", "test"]


def run_deadline(interval: dt.timedelta) -> DeadlineAlert | None:
    if in_dags_test():
        return None
    seconds = int(os.environ.get("CARE_RUN_DEADLINE_SECONDS") or 0)
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=dt.timedelta(seconds=seconds) if seconds else interval,
        callback=AsyncCallback(CALLBACK),
    )
