"""quarantine: how a row left the queue (released or discarded) and by whom

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 07:10:00

The administrators' page releases a quarantined row (the rule was wrong for it) or
discards it (it stays out); either way it leaves the queue with who decided, and an
audit row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantined_rows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolution", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantined_rows", schema=None) as batch_op:
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("resolution")
