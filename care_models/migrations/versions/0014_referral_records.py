"""referral records parsed once on arrival

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 10:00:00

What the county takes from a referral's Bundle (care_models/referrals/records.py) is
stored beside the raw Bundle, encrypted, when the referral arrives: the intake gate and
intake read it instead of parsing the FHIR Bundle twice more (bench/intake.py: parsing
was most of intake's time). Referrals stored before keep NULL and are parsed as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("record_enc", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("record_enc")
