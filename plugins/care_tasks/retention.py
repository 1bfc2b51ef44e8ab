"""The daily retention step (in the ``care_data_quality`` DAG): one domain call."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from care_models.db import engine_from_settings, session_factory, transaction
from care_models.retention import Periods, run_retention
from care_tasks.common import run_day
from care_tasks.outcomes import care_task


@care_task
def purge_expired(today: str | None = None) -> dict[str, int]:
    """Purge raw Bundles, published sheets and audit rows past their periods; counts only."""
    from care_models.config import load_settings

    day = dt.date.fromisoformat(today) if today else run_day()
    settings = load_settings()
    engine = engine_from_settings(settings)
    try:
        with transaction(session_factory(engine)) as session:
            purged = run_retention(
                session, settings.output_dir, day, Periods.from_settings(settings)
            )
    finally:
        engine.dispose()
    return asdict(purged)
