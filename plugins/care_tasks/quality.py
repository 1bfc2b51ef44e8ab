"""Steps of the ``care_data_quality`` DAG."""

from __future__ import annotations

from care_tasks.outcomes import care_task


@care_task
def check_county_suite(suite: str, run_key: str | None = None) -> dict[str, object]:
    """Run one county suite on its table; a failed gate fails the task (no retry)."""
    from care_models.db import engine_from_environment
    from gates import run_gate_on_table

    engine = engine_from_environment()
    try:
        outcome = run_gate_on_table(engine, suite, run_key=run_key)
    finally:
        engine.dispose()
    return {
        "suite": suite,
        "rows": outcome.rows_evaluated,
        "failed": outcome.rows_failed,
        "rules": [rule["rule"] for rule in outcome.failed_rules],
    }
