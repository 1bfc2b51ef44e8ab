"""The steps of ``pledge_reports``, each one call into :mod:`care_models.pledges.workflow`."""

from __future__ import annotations

from typing import Any

from care_tasks.alerts_ingest import run_time
from care_tasks.common import care_context
from care_tasks.outcomes import care_task


@care_task
def load_pledge_cards() -> dict[str, Any]:
    """The shipped cards and a department's new versions (CARE_VAR_DIR/pledges/)."""
    from care_models.pledges.workflow import load_shipped_cards

    with care_context() as ctx, ctx.factory.begin() as session:
        return load_shipped_cards(session, ctx.settings.var_dir / "pledges", run_time())


@care_task
def compute_pledge_actuals(year: int | None = None) -> dict[str, Any]:
    """The run year's actuals from the care data (reported ones are kept)."""
    from care_models.pledges.workflow import compute_year

    with care_context() as ctx, ctx.factory.begin() as session:
        return compute_year(session, year or ctx.today.year, run_time())


@care_task
def publish_pledge_report(year: int | None = None) -> dict[str, Any]:
    """The year's report: HTML, PDF and the CSV tables."""
    from care_models.pledges.workflow import publish_year

    with care_context() as ctx, ctx.factory.begin() as session:
        return publish_year(session, year or ctx.today.year, ctx.settings.output_dir)
