"""pledges: each card's versions kept whole; program status and stated progress

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 05:10:00

A pledge card is loaded from its JSON file (``care_models/pledges/``); a changed card
is a new version and every version stays (the 일치도 compares the current one with
the first published). Indicators learn whether they add up over periods or are a
level, and whether their actual is computed or reported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pledge_card_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("loaded_by", sa.String(length=80), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["pledge_programs.id"],
            name=op.f("fk_pledge_card_versions_program_id_pledge_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledge_card_versions")),
        sa.UniqueConstraint(
            "program_id", "version", name=op.f("uq_pledge_card_versions_program_id_version")
        ),
    )
    with op.batch_alter_table("pledge_programs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=30), nullable=True))
        batch_op.add_column(
            sa.Column("stated_progress", sa.Numeric(precision=6, scale=2), nullable=True)
        )
    with op.batch_alter_table("indicator_actuals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entered_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("evidence", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("review_flag", sa.Text(), nullable=True))
    with op.batch_alter_table("pledge_indicators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("aggregation", sa.String(length=10), nullable=False, server_default="sum")
        )
        batch_op.add_column(
            sa.Column("reported", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("indicator_actuals", schema=None) as batch_op:
        batch_op.drop_column("review_flag")
        batch_op.drop_column("evidence")
        batch_op.drop_column("entered_by")
    with op.batch_alter_table("pledge_indicators", schema=None) as batch_op:
        batch_op.drop_column("reported")
        batch_op.drop_column("aggregation")
    with op.batch_alter_table("pledge_programs", schema=None) as batch_op:
        batch_op.drop_column("stated_progress")
        batch_op.drop_column("status")
    op.drop_table("pledge_card_versions")
