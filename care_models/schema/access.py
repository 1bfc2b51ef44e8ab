"""Who may call in: access tokens (as keyed hashes) and what the database holds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from care_models.schema.base import Base, created_at


class AccessToken(Base):
    """A hospital's API token or a coordinator's calendar-feed token, as its keyed hash.

    A holder may have several live tokens at once (the grace after a rotation); a
    token works from ``created_at`` until ``expires_at`` unless ``revoked_at`` is set.
    """

    __tablename__ = "access_tokens"
    __table_args__ = (
        CheckConstraint("(organisation_id IS NULL) <> (staff_id IS NULL)", name="one_holder"),
        CheckConstraint("created_at < expires_at", name="expires_after_creation"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class DatabaseMark(Base):
    """Facts about the database itself, e.g. ``synthetic_county``: it was seeded, so
    its clients are synthetic and ``seed`` may load into it again."""

    __tablename__ = "database_marks"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    marked_at: Mapped[dt.datetime] = created_at()
