"""Alembic environment: the engine is handed in by care_models.migrations (never built here)."""

from __future__ import annotations

from alembic import context

from care_models.schema import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    context.run_migrations()
