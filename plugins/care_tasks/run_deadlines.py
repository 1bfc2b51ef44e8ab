"""The Deadline Alerts' callback, run by Airflow's triggerer: one call into the domain.

Airflow calls it with ``context`` (the run and the deadline, as the scheduler saw them);
the care database is written in a thread so the triggerer's loop is never blocked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

log = logging.getLogger(__name__)


def _record(context: dict[str, Any]) -> dict[str, object]:
    from care_models.run_deadlines import record_missed_run
    from care_tasks.common import care_context

    run = context.get("dag_run") or {}
    deadline = (context.get("deadline") or {}).get("deadline_time")
    deadline_at = dt.datetime.fromisoformat(str(deadline)) if deadline else None
    now = dt.datetime.now(dt.UTC)  # when the miss is handled: the alert's own time
    with care_context() as ctx, ctx.factory.begin() as session:
        return record_missed_run(
            session, str(run.get("dag_id")), str(run.get("dag_run_id") or run.get("run_id")),
            deadline_at, now,
        )  # fmt: skip


async def run_deadline_missed(context: dict[str, Any] | None = None, **_: Any) -> str:
    """Record the missed run and text the on-duty administrator; a one-line summary
    (Airflow keeps the callback's output as text)."""
    result = await asyncio.to_thread(_record, context or {})
    summary = f"deadline missed: {result['dag_id']} {result['run_id']}; texted {result['texted']}"
    log.warning("%s", summary)
    return summary
