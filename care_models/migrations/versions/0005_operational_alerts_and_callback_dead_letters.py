"""operational alerts; callback backoff and dead letters

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-03 07:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operational_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "raised_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("workflow", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operational_alerts")),
        sa.UniqueConstraint(
            "kind",
            "entity",
            "entity_id",
            name=op.f("uq_operational_alerts_kind_entity_entity_id"),
        ),
    )
    with op.batch_alter_table("referral_status_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("callback_next_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("callback_dead_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("referral_status_events", schema=None) as batch_op:
        batch_op.drop_column("callback_dead_at")
        batch_op.drop_column("callback_next_at")
    op.drop_table("operational_alerts")
