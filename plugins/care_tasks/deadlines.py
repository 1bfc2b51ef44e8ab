"""The ``care_deadlines`` watchdog: one call into :mod:`care_models.deadlines`."""

from __future__ import annotations

from typing import Any

from care_tasks.alerts_ingest import run_time
from care_tasks.common import care_context
from care_tasks.outcomes import care_task


@care_task
def watch_care_deadlines() -> dict[str, Any]:
    """Missed deadlines as of the run's time: an operational alert per overdue item."""
    from care_models.deadlines import watch_deadlines

    with care_context() as ctx, ctx.factory.begin() as session:
        return watch_deadlines(session, run_time())
