"""Care conferences, participants, agenda items and decisions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from care_models import vocab
from care_models.schema.base import Base, one_of


class Conference(Base):
    """Tier 1 weekly per town; tier 2 on the 2nd and 4th Thursday."""

    __tablename__ = "conferences"
    __table_args__ = (
        UniqueConstraint("tier", "town_id", "scheduled_on"),
        one_of("tier", vocab.CONFERENCE_TIERS),
        one_of("form", ("video", "in_person")),
        one_of("status", ("scheduled", "held", "cancelled")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[int]
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    scheduled_on: Mapped[dt.date] = mapped_column(Date)
    starts_at: Mapped[dt.datetime | None]
    form: Mapped[str] = mapped_column(String(20), default="video")
    status: Mapped[str] = mapped_column(String(20), default="scheduled")


class ConferenceParticipant(Base):
    __tablename__ = "conference_participants"
    __table_args__ = (
        UniqueConstraint("conference_id", "staff_id", "organisation_id"),
        CheckConstraint("staff_id IS NOT NULL OR organisation_id IS NOT NULL", name="who"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    discipline: Mapped[str] = mapped_column(String(30))
    invited_at: Mapped[dt.datetime | None]


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    __table_args__ = (
        UniqueConstraint("conference_id", "case_id", "kind"),
        one_of("kind", vocab.AGENDA_KINDS),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"))


class Decision(Base):
    """A conference decision, per need category (Jincheon counts decisions per category)."""

    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("agenda_item_id", "need_id"),
        one_of("decision", vocab.DECISIONS),
        one_of("category", vocab.NEED_CATEGORIES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"))
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    category: Mapped[str | None] = mapped_column(String(20))
    decision: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    decided_on: Mapped[dt.date] = mapped_column(Date)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
