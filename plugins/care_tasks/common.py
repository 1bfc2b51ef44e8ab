"""What every task needs: the configured care database, keys and the run's Seoul date.

A task's "today" is its DAG run's date, not the wall clock: the logical date of a
scheduled run, or when an Asset-triggered or manual run was due (``run_after``), as a
calendar date in Asia/Seoul. A re-run or a backfill of last week's run therefore works
on last week. Only outside Airflow (tests, the command line) is the wall clock used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from care_models.config import Settings, load_settings
from care_models.db import engine_from_settings, session_factory
from care_models.errors import ValidationError
from care_models.privacy import Vault
from care_models.workdays import SEOUL, seoul_today


@dataclass(frozen=True)
class TaskContext:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    vault: Vault
    today: dt.date


def run_day(context: Mapping[str, Any] | None = None) -> dt.date:
    """The Seoul calendar date of the DAG run of ``context`` (the current task's by default)."""
    if context is None:
        try:
            from airflow.sdk import get_current_context

            context = get_current_context()
        except Exception:  # not inside a running task: tests and the command line
            return seoul_today()
    stamp = context.get("logical_date")
    if stamp is None:  # Asset-triggered and manual runs may have no logical date
        dag_run = context.get("dag_run")
        stamp = getattr(dag_run, "run_after", None) or getattr(dag_run, "logical_date", None)
    if stamp is None:
        raise ValidationError("dag_run", "has neither a logical date nor run_after")
    return stamp.astimezone(SEOUL).date()


@contextmanager
def care_context(today: dt.date | None = None) -> Iterator[TaskContext]:
    """Settings, engine, sessions and vault for one step, dated by its DAG run."""
    settings = load_settings()
    engine = engine_from_settings(settings)
    try:
        yield TaskContext(
            settings,
            engine,
            session_factory(engine),
            Vault.from_settings(settings),
            today or run_day(),
        )
    finally:
        engine.dispose()
