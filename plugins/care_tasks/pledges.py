"""The steps of ``pledge_reports``, each one call into :mod:`care_models.pledges.workflow`."""

from __future__ import annotations

from typing import Any

from care_tasks.alerts_ingest import run_time
from care_tasks.common import care_context, run_day
from care_tasks.outcomes import care_task


@care_task
def load_pledge_cards() -> dict[str, Any]:
    """The shipped cards and a department's new versions (CARE_VAR_DIR/pledges/)."""
    from care_models.pledges.workflow import load_shipped_cards

    with care_context() as ctx, ctx.factory.begin() as session:
        return load_shipped_cards(session, ctx.settings.var_dir / "pledges", run_time())


@care_task
def compute_pledge_actuals() -> dict[str, Any]:
    """The actuals of the year(s) the run's day reports (reported ones are kept)."""
    from care_models.pledges.workflow import compute_runs

    with care_context() as ctx, ctx.factory.begin() as session:
        return compute_runs(session, run_day(), run_time())


@care_task
def publish_pledge_report() -> dict[str, Any]:
    """The year's report (HTML, PDF, XLSX, CSV) and, on a monthly run, the progress report."""
    from care_models.pledges.workflow import publish_runs

    with care_context() as ctx, ctx.factory.begin() as session:
        return publish_runs(session, run_day(), ctx.settings.output_dir)
