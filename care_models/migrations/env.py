"""Alembic environment: the engine is handed in by care_models.migrations (never built here)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from care_models.schema import Base

engine = context.config.attributes["engine"]


def _run(connection: Connection) -> None:
    with connection.begin():
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
            compare_type=True,
        )
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration left {len(broken)} broken foreign keys")


with engine.connect() as connection:
    if connection.dialect.name != "sqlite":
        _run(connection)
    else:
        # Batch mode re-creates a table to alter it. With foreign keys enforced, dropping
        # the old copy of a table that other rows reference fails, so keys are off while
        # tables are rebuilt (SQLite's documented procedure: off, alter, check, on). The
        # pragma is ignored inside a transaction, hence before the migration's own.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            _run(connection)
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
