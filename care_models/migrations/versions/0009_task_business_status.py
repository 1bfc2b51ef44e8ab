"""referrals: the Task's businessStatus (plan approved, services started)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 04:00:00

A referral moves on after intake through the conference's effects: "plan approved",
then "services started". FHIR carries that in Task.businessStatus, separate from
statusReason; each Task version keeps its own, so callbacks send what was true then.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("business_status", sa.String(length=60), nullable=True))
    with op.batch_alter_table("referral_status_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("business_status", sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referral_status_events", schema=None) as batch_op:
        batch_op.drop_column("business_status")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("business_status")
