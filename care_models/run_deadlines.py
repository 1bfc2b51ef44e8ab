"""A workflow run that missed its Airflow Deadline Alert: seen, and the on-duty
administrator texted.

``referral_intake`` and ``device_alert_sync`` carry a Deadline Alert: a run not done
within its schedule's interval after it was queued makes Airflow's triggerer call
``care_tasks.run_deadlines.run_deadline_missed``, which calls
:func:`record_missed_run`: one operational alert per run (``run_deadline_missed``, on
the administrators' page and in ``python -m care_models summary``) and one text to
the on-duty administrator (the duty roster's worker on a weekend or holiday, the team
lead otherwise, or the first of the duty rotation), queued once per run and sent by
the alert workflow's SMS step.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.notify import queue_sms
from care_models.operations import raise_alert
from care_models.schema import DutyRoster, Staff
from care_models.workdays import SEOUL

KIND = "run_deadline_missed"


def on_duty_administrator(session: Session, day: dt.date) -> Staff | None:
    """The duty roster's worker of ``day``; on a business day the team lead, or where
    the county has none, the first of the duty rotation (active social workers)."""
    on_duty = session.scalar(
        select(Staff).join(DutyRoster, DutyRoster.staff_id == Staff.id).where(DutyRoster.day == day)
    )
    if on_duty is not None:
        return on_duty
    for role in ("team_lead", "social_worker"):
        staff = session.scalar(
            select(Staff).where(Staff.role == role, Staff.active.is_(True)).order_by(Staff.code)
        )
        if staff is not None:
            return staff
    return None


def record_missed_run(
    session: Session, dag_id: str, run_id: str, deadline_at: dt.datetime | None, now: dt.datetime
) -> dict[str, object]:
    due = (deadline_at or now).astimezone(SEOUL).strftime("%Y-%m-%d %H:%M")
    raise_alert(
        session,
        workflow=dag_id,
        kind=KIND,
        entity=dag_id[:40],
        entity_id=run_id[:40],
        detail=f"run {run_id} of {dag_id} was not done by {due} KST (its deadline alert)",
    )
    staff = on_duty_administrator(session, now.astimezone(SEOUL).date())
    texted = None
    if staff is not None:
        message = queue_sms(
            session,
            natural_key=f"run_deadline:{dag_id}:{run_id}"[:160],
            purpose=KIND,
            recipient_role="staff",
            staff_id=staff.id,
        )
        texted = staff.code if message.status == "queued" else None
    return {"dag_id": dag_id, "run_id": run_id, "texted": texted}
