"""client absences looked up by client and start

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 07:12:00

The pledge query for discharged people settled at home asks, for each case opened from
a referral in the period, whether its client was away (in hospital) again after the
case opened: a correlated look-up per case. Without an index each look-up scanned the
whole table (bench/pledges.py at 100,000 clients: 5,743 cases against 13,739 absences,
4.3 of the report's 5.2 seconds, growing with the square of the county); with it, each
is one index probe. The alert merge's check for an absence covering an alert's time
looks absences up by client too.
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_client_absences_client_starts",
        "client_absences",
        ["client_id", "starts_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_client_absences_client_starts", table_name="client_absences")
