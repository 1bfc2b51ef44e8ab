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
from care_models.schema.base import Base, created_at, one_of


class Conference(Base):
    """Tier 1 weekly per town; tier 2 on the 2nd and 4th Thursday.

    ``slot_key`` is the identity of the rule's slot (tier, town, the date the rule
    gives): a conference moved off a holiday keeps its row, UID and slot, with
    ``scheduled_on`` the day it is really held, ``sequence`` raised and the reason kept.
    """

    __tablename__ = "conferences"
    __table_args__ = (
        UniqueConstraint("slot_key"),
        UniqueConstraint("uid"),
        one_of("tier", vocab.CONFERENCE_TIERS),
        one_of("form", ("video", "in_person")),
        one_of("status", ("scheduled", "held", "cancelled")),
        one_of("agenda_status", vocab.AGENDA_STATES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[int]
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    scheduled_on: Mapped[dt.date] = mapped_column(Date)
    starts_at: Mapped[dt.datetime | None]
    form: Mapped[str] = mapped_column(String(20), default="video")
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    slot_key: Mapped[str] = mapped_column(String(60))
    rule_date: Mapped[dt.date] = mapped_column(Date)
    uid: Mapped[str] = mapped_column(String(120))
    sequence: Mapped[int] = mapped_column(default=0)
    move_reason: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    agenda_status: Mapped[str] = mapped_column(String(10), default="open")
    agenda_frozen_at: Mapped[dt.datetime | None]
    effects_applied_at: Mapped[dt.datetime | None]


class ConferenceMember(Base):
    """The standing roster of a tier (and town, for tier 1): who is invited, as what."""

    __tablename__ = "conference_members"
    __table_args__ = (
        one_of("tier", vocab.CONFERENCE_TIERS),
        one_of("discipline", vocab.CONFERENCE_DISCIPLINES),
        one_of("role", vocab.CONFERENCE_ROLES),
        CheckConstraint("staff_id IS NOT NULL OR organisation_id IS NOT NULL", name="who"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[int]
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    discipline: Mapped[str] = mapped_column(String(30))
    role: Mapped[str] = mapped_column(String(20), default="required")
    email: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)


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
    email: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20), default="required")
    rsvp: Mapped[str | None] = mapped_column(String(20))
    invited_sequence: Mapped[int | None]
    attended: Mapped[bool | None]


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    __table_args__ = (
        UniqueConstraint("conference_id", "case_id", "kind"),
        one_of("kind", vocab.AGENDA_KINDS),
        one_of("discussion", vocab.AGENDA_DISCUSSIONS),
        one_of("status", vocab.AGENDA_ITEM_STATUSES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"))
    late: Mapped[bool] = mapped_column(default=False)
    discussion: Mapped[str] = mapped_column(String(10), default="full")
    question: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="listed")
    added_at: Mapped[dt.datetime] = created_at()


class Decision(Base):
    """A conference decision, per need category (Jincheon counts decisions per category)."""

    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("agenda_item_id", "need_id"),
        one_of("decision", vocab.DECISIONS),
        one_of("category", vocab.NEED_CATEGORIES),
        one_of("service_type", vocab.SERVICE_TYPES),
        one_of("cadence", vocab.CADENCES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"))
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    category: Mapped[str | None] = mapped_column(String(20))
    decision: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    decided_on: Mapped[dt.date] = mapped_column(Date)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    service_type: Mapped[str | None] = mapped_column(String(30))
    cadence: Mapped[str | None] = mapped_column(String(30))
    amount: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(50))
    recorded_at: Mapped[dt.datetime | None]
    amendments: Mapped[int] = mapped_column(default=0)
    applied_at: Mapped[dt.datetime | None]
