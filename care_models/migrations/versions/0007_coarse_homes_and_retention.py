"""clients: exact home encrypted, a coarse copy in clear; referrals: raw Bundle purge time

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-03 07:40:00

Existing homes are encrypted and coarsened here, so no exact coordinate stays in clear
after the upgrade. That needs the encryption keys: they come from the settings, as for
every other command (``CARE_ENCRYPTION_KEYS``, or the development key file). A database
without clients (every fresh one) needs no key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location_enc", sa.Text(), nullable=True))
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_purged_at", sa.DateTime(timezone=True), nullable=True))
    _protect_existing_homes()


def _protect_existing_homes() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, latitude, longitude FROM clients "
            "WHERE latitude IS NOT NULL AND longitude IS NOT NULL AND location_enc IS NULL"
        )
    ).all()
    if not rows:
        return
    from care_models.config import load_settings
    from care_models.privacy import Vault, location_columns

    vault = Vault.from_settings(load_settings())
    update = sa.text(
        "UPDATE clients SET location_enc = :location_enc, latitude = :latitude, "
        "longitude = :longitude WHERE id = :id"
    )
    for client_id, latitude, longitude in rows:
        bind.execute(update, {"id": client_id, **location_columns(vault, latitude, longitude)})


def downgrade() -> None:
    # The exact homes stay encrypted: a downgrade keeps the coarse copy only.
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("raw_purged_at")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("location_enc")
