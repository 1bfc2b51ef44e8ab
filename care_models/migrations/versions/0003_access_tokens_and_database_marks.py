"""access tokens with expiry and revocation; database marks; no guessable token survives

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 07:30:00

The hospitals' and coordinators' token hashes move to ``access_tokens``. The old
columns are dropped, not copied: they held hashes of the demo tokens (a public
formula) under the match key, so none of them may keep working. Issue real tokens
with ``python -m care_models token issue``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(organisation_id IS NULL) <> (staff_id IS NULL)",
            name=op.f("ck_access_tokens_one_holder"),
        ),
        sa.CheckConstraint(
            "created_at < expires_at", name=op.f("ck_access_tokens_expires_after_creation")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_access_tokens_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_access_tokens_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_tokens_token_hash")),
    )
    op.create_index(op.f("ix_access_tokens_organisation_id"), "access_tokens", ["organisation_id"])
    op.create_index(op.f("ix_access_tokens_staff_id"), "access_tokens", ["staff_id"])
    op.create_table(
        "database_marks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column(
            "marked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_database_marks")),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_organisations_api_token_hash"), type_="unique")
        batch_op.drop_column("api_token_hash")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_staff_feed_token_hash"), type_="unique")
        batch_op.drop_column("feed_token_hash")


def downgrade() -> None:
    # The old columns come back empty: a token hash is not carried back.
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feed_token_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_staff_feed_token_hash"), ["feed_token_hash"]
        )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_token_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_organisations_api_token_hash"), ["api_token_hash"]
        )
    op.drop_table("database_marks")
    op.drop_index(op.f("ix_access_tokens_staff_id"), table_name="access_tokens")
    op.drop_index(op.f("ix_access_tokens_organisation_id"), table_name="access_tokens")
    op.drop_table("access_tokens")
