"""What every task needs: the configured care database, keys and today's Seoul date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from care_models.config import Settings, load_settings
from care_models.db import engine_from_settings, session_factory
from care_models.privacy import Vault
from care_models.workdays import seoul_today


@dataclass(frozen=True)
class TaskContext:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    vault: Vault
    today: dt.date


@contextmanager
def care_context() -> Iterator[TaskContext]:
    settings = load_settings()
    engine = engine_from_settings(settings)
    try:
        yield TaskContext(
            settings, engine, session_factory(engine), Vault.from_settings(settings), seoul_today()
        )
    finally:
        engine.dispose()
