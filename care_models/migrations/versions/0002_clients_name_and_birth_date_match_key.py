"""clients: name and birth date match key

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 01:27:42.020544
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_birth_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_clients_name_birth_hash"), ["name_birth_hash"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clients_name_birth_hash"))
        batch_op.drop_column("name_birth_hash")
