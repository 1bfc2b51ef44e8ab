"""Steps of the ``home_visit_planning`` DAG: each one call into
:mod:`care_models.visits.workflow`. Each returns codes, dates and counts only (XCom)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from care_models.visits import workflow
from care_models.visits.workflow import plan_choice
from care_tasks.common import TaskContext, care_context
from care_tasks.outcomes import care_task

__all__ = ["gate_demand", "gate_plan", "plan_choice", "publish_and_record", "solve_job"]


def _gate(ctx: TaskContext) -> workflow.Gate:
    """The Great Expectations gate, as the domain's ``Gate`` callable."""

    def run(suite: str, rows: list[dict[str, Any]], run_key: str | None) -> object:
        import pandas as pd

        from gates import run_gate_on_rows

        return run_gate_on_rows(ctx.engine, suite, pd.DataFrame(rows), run_key=run_key)

    return run


@care_task
def gate_demand(which: str, days: int, today: str, run_key: str | None = None) -> dict[str, Any]:
    """Expand and gate the demand of each horizon to plan; the (horizon, town) jobs."""
    day = dt.date.fromisoformat(today)
    with care_context(day) as ctx:
        return workflow.gate_demand(ctx.factory, _gate(ctx), which, days, day, run_key)


@care_task
def solve_job(
    job: dict[str, Any], today: str, seconds_per_problem: float = workflow.SECONDS_PER_PROBLEM
) -> dict[str, Any]:
    """Route one town team's contacts over one horizon (a mapped task per job)."""
    day = dt.date.fromisoformat(today)
    with care_context(day) as ctx:
        return workflow.solve_job(ctx.factory, job, day, seconds_per_problem)


@care_task
def gate_plan(
    gated: dict[str, Any], parts: list[dict[str, Any]], run_key: str | None = None
) -> dict[str, Any]:
    """Merge each horizon's town plans and check them: our checks, then the GX suite."""
    with care_context(dt.date.fromisoformat(gated["today"])) as ctx:
        return workflow.gate_plans(ctx.factory, _gate(ctx), gated, parts, run_key)


@care_task
def publish_and_record(checked: dict[str, Any]) -> dict[str, Any]:
    """Publish each plan's day sheets and record it, with the audit rows, in one transaction."""
    with care_context() as ctx:
        return {
            "plans": [
                workflow.publish_one(ctx.factory, ctx.vault, ctx.settings.output_dir, rows)
                for rows in checked["plans"]
            ]
        }
