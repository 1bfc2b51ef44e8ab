"""long-term-care grade changes; the rows each computed pledge actual counted

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 06:40:00

Clients kept out of high-cost care (a pledge indicator) are those in care who did not
enter or rise in long-term-care grade: the grade's history is kept, with the direction
of each change fixed when it is recorded. A computed actual keeps the number of rows
its query counted, so the report's appendix can trace it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

GRADES = "('1', '2', '3', '4', '5', 'cognitive', 'A', 'B', 'none')"


def upgrade() -> None:
    op.create_table(
        "ltc_grade_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("from_grade", sa.String(length=10), nullable=False),
        sa.Column("to_grade", sa.String(length=10), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint(f"from_grade IN {GRADES}", name=op.f("ck_ltc_grade_changes_from_grade")),
        sa.CheckConstraint(f"to_grade IN {GRADES}", name=op.f("ck_ltc_grade_changes_to_grade")),
        sa.CheckConstraint(
            "direction IN ('entered', 'rose', 'fell', 'left', 'same')",
            name=op.f("ck_ltc_grade_changes_direction"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_ltc_grade_changes_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ltc_grade_changes")),
        sa.UniqueConstraint(
            "client_id", "changed_on", name=op.f("uq_ltc_grade_changes_client_id_changed_on")
        ),
    )
    op.create_index(
        op.f("ix_ltc_grade_changes_changed_on"), "ltc_grade_changes", ["changed_on"], unique=False
    )
    with op.batch_alter_table("indicator_actuals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rows_counted", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("indicator_actuals", schema=None) as batch_op:
        batch_op.drop_column("rows_counted")
    op.drop_index(op.f("ix_ltc_grade_changes_changed_on"), table_name="ltc_grade_changes")
    op.drop_table("ltc_grade_changes")
