"""Discharge referrals, their Task versions, identity reviews, cases and needs."""

from __future__ import annotations

import datetime as dt
from typing import Any

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


class Referral(Base):
    """A hospital's discharge referral, its raw Bundle kept exactly as received (encrypted)."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("hospital_id", "identifier_system", "identifier_value"),
        one_of("status", vocab.REFERRAL_STATUSES),
        one_of("source", ("push", "pull", "web")),
        CheckConstraint("priority IN (1, 2, 3)", name="priority"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    identifier_system: Mapped[str] = mapped_column(String(200))
    identifier_value: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(10), default="push")
    # Emptied ('') by the retention job (care_models.retention), which sets raw_purged_at.
    raw_payload_enc: Mapped[str] = mapped_column(Text)
    raw_purged_at: Mapped[dt.datetime | None]
    # What the county took from the Bundle, parsed once on arrival (referrals/records.py),
    # encrypted; NULL for referrals stored before it existed and after retention.
    record_enc: Mapped[str | None] = mapped_column(Text)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = created_at()
    status: Mapped[str] = mapped_column(String(20), default="received")
    status_reason: Mapped[str | None] = mapped_column(Text)
    business_status: Mapped[str | None] = mapped_column(String(60))  # "plan approved", ...
    task_version: Mapped[int] = mapped_column(default=1)
    last_updated: Mapped[dt.datetime] = created_at()
    admission_date: Mapped[dt.date | None] = mapped_column(Date)
    discharge_date: Mapped[dt.date | None] = mapped_column(Date)
    priority: Mapped[int | None]
    triage_reason: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))


class ReferralStatusEvent(Base):
    """Each version of a referral's Task; the callback is delivered at most once per version."""

    __tablename__ = "referral_status_events"
    __table_args__ = (
        UniqueConstraint("referral_id", "version"),
        one_of("status", vocab.REFERRAL_STATUSES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    business_status: Mapped[str | None] = mapped_column(String(60))
    changed_at: Mapped[dt.datetime] = created_at()
    callback_delivered_at: Mapped[dt.datetime | None]
    callback_attempts: Mapped[int] = mapped_column(default=0)
    # Backoff between runs, and the dead letter after the last attempt (see callbacks.py).
    callback_next_at: Mapped[dt.datetime | None]
    callback_dead_at: Mapped[dt.datetime | None]


class MatchReview(Base):
    """An ambiguous person match, waiting for a person to decide; never merged automatically."""

    __tablename__ = "match_reviews"
    __table_args__ = (
        UniqueConstraint("referral_id"),
        one_of("status", vocab.MATCH_REVIEW_STATUSES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    candidate_client_ids: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = created_at()


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("referral_id"),
        one_of("status", vocab.CASE_STATUSES),
        CheckConstraint("priority IN (1, 2, 3)", name="priority"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[int | None]
    high_risk: Mapped[bool] = mapped_column(default=False)
    opened_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    lead_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class Need(Base):
    """A need (욕구) of a case, in one of the five categories."""

    __tablename__ = "needs"
    __table_args__ = (
        UniqueConstraint("case_id", "category", "code"),
        one_of("category", vocab.NEED_CATEGORIES),
        one_of("status", ("identified", "decided", "met", "unmet")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="identified")
    identified_on: Mapped[dt.date] = mapped_column(Date)
