"""Care plans, planned services, visit plans and visits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from care_models import vocab
from care_models.schema.base import Base, created_at, one_of


class CarePlan(Base):
    """A person's integrated support plan (개인별 통합지원계획)."""

    __tablename__ = "care_plans"
    __table_args__ = (
        UniqueConstraint("client_id", "version"),
        one_of("status", vocab.CARE_PLAN_STATUSES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    review_due: Mapped[dt.date | None] = mapped_column(Date)
    approved_on: Mapped[dt.date | None] = mapped_column(Date)


class PlannedService(Base):
    """A service of a care plan with its cadence (e.g. home nursing twice a month)."""

    __tablename__ = "planned_services"
    __table_args__ = (
        UniqueConstraint("care_plan_id", "service_type", "mode"),
        one_of("service_type", vocab.SERVICE_TYPES),
        one_of("cadence", vocab.CADENCES),
        one_of("mode", vocab.CONTACT_MODES),
        one_of("required_skill", vocab.SKILLS),
        CheckConstraint("contacts_per_period > 0", name="contacts_positive"),
        CheckConstraint("duration_min > 0", name="duration_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    care_plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id", ondelete="CASCADE"))
    service_type: Mapped[str] = mapped_column(String(30))
    cadence: Mapped[str] = mapped_column(String(30))
    contacts_per_period: Mapped[int] = mapped_column(default=1)
    mode: Mapped[str] = mapped_column(String(10), default="visit")
    required_skill: Mapped[str] = mapped_column(String(20))
    duration_min: Mapped[int] = mapped_column(default=45)
    intensive: Mapped[bool] = mapped_column(default=False)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)


class VisitPlan(Base):
    """One published home-visit plan over a horizon; ``input_hash`` makes re-runs idempotent."""

    __tablename__ = "visit_plans"
    __table_args__ = (UniqueConstraint("horizon_start", "horizon_end", "revision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    horizon_start: Mapped[dt.date] = mapped_column(Date)
    horizon_end: Mapped[dt.date] = mapped_column(Date)
    revision: Mapped[int] = mapped_column(default=1)
    input_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = created_at()
    total_km: Mapped[float | None]
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Visit(Base):
    """A home visit or phone call, planned, booked or done."""

    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("natural_key"),
        one_of("mode", vocab.CONTACT_MODES),
        one_of("status", vocab.VISIT_STATUSES),
        one_of("source", vocab.VISIT_SOURCES),
        Index("ix_visits_staff_day", "staff_id", "visit_date"),
        Index("ix_visits_client_day", "client_id", "visit_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    natural_key: Mapped[str] = mapped_column(String(120))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    planned_service_id: Mapped[int | None] = mapped_column(ForeignKey("planned_services.id"))
    visit_plan_id: Mapped[int | None] = mapped_column(ForeignKey("visit_plans.id"))
    service_type: Mapped[str] = mapped_column(String(30))
    mode: Mapped[str] = mapped_column(String(10), default="visit")
    purpose: Mapped[str] = mapped_column(String(200))
    visit_date: Mapped[dt.date] = mapped_column(Date)
    start_at: Mapped[dt.datetime | None]
    duration_min: Mapped[int] = mapped_column(default=45)
    sequence: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), default="planned")
    source: Mapped[str] = mapped_column(String(20), default="plan")
    travel_km: Mapped[float | None]
    completed_at: Mapped[dt.datetime | None]


class UnplannedContact(Base):
    """A due contact the planner could not place, with its reason: never dropped silently."""

    __tablename__ = "unplanned_contacts"
    __table_args__ = (UniqueConstraint("visit_plan_id", "contact_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_plan_id: Mapped[int] = mapped_column(ForeignKey("visit_plans.id", ondelete="CASCADE"))
    contact_key: Mapped[str] = mapped_column(String(120))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    service_type: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
