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
