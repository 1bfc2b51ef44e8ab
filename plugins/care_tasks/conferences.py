"""The steps of the conference workflows, each one call into :mod:`care_models.conferences`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from care_models.conferences.schedule import ensure_schedule
from care_tasks.common import care_context
from care_tasks.outcomes import care_task


@care_task
def ensure_conference_schedule(today: str | None = None, weeks: int = 8) -> dict[str, Any]:
    """The conferences of the next ``weeks`` weeks from the run's date, reconciled."""
    day = dt.date.fromisoformat(today) if today else None
    with care_context(day) as ctx, ctx.factory.begin() as session:
        result = ensure_schedule(session, ctx.today, weeks)
    return {"today": ctx.today.isoformat(), "weeks": weeks, **result.as_dict()}


@care_task
def prepare_conference_agendas(today: str | None = None) -> dict[str, Any]:
    """Seat, build and (on their freeze day) freeze the next two weeks' agendas."""
    from care_models.conferences.workflow import prepare_agendas

    day = dt.date.fromisoformat(today) if today else None
    with care_context(day) as ctx, ctx.factory.begin() as session:
        result = prepare_agendas(session, ctx.today, ctx.settings.output_dir)
    return {"today": ctx.today.isoformat(), **result.as_dict()}


@care_task
def send_conference_invitations(run_at: str | None = None) -> dict[str, Any]:
    """Mail the invitations due (Connection ``smtp_outbound``); none without it."""
    from care_hooks.mail import MailHook
    from care_models.conferences.workflow import invite
    from care_tasks.alerts_ingest import run_time

    now = dt.datetime.fromisoformat(run_at) if run_at else run_time()
    hook = MailHook()
    if not hook.configured():  # invitations stay due; the staff page shows the agenda
        return {"run_at": now.isoformat(), "mail": "no Connection smtp_outbound", "sent": 0}
    with care_context() as ctx, ctx.factory.begin() as session:
        result = invite(session, hook, now, ctx.settings.output_dir)
    return {"run_at": now.isoformat(), **result}


@care_task
def apply_conference_effects(today: str | None = None) -> dict[str, Any]:
    """Effects of the decisions recorded since: plans, services, cases, Task moves."""
    from care_models.conferences.effects import apply_effects
    from care_tasks.alerts_ingest import run_time

    day = dt.date.fromisoformat(today) if today else None
    with care_context(day) as ctx, ctx.factory.begin() as session:
        result = apply_effects(session, ctx.today, run_time())
    return {"today": ctx.today.isoformat(), **result.as_dict()}


@care_task
def hold_started_conferences(run_at: str | None = None) -> dict[str, Any]:
    """The conferences that started by the run's time, marked held."""
    from care_models.conferences.workflow import hold_conferences
    from care_tasks.alerts_ingest import run_time

    now = dt.datetime.fromisoformat(run_at) if run_at else run_time()
    with care_context() as ctx, ctx.factory.begin() as session:
        held = hold_conferences(session, now)
    return {"run_at": now.isoformat(), "held": held}
