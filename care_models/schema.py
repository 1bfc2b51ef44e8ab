"""The care database: SQLAlchemy 2 models for the whole domain of DOMAIN.md.

Conventions:
- natural keys are unique constraints, so writes can be idempotent upserts;
- personal fields end in ``_enc`` (AES-GCM ciphertext, see privacy.py) or
  ``_hash`` (keyed HMAC for matching); nothing personal is stored in clear;
- coded columns are checked by the database, not only by Python;
- timestamps are UTC, calendar dates are Asia/Seoul dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from care_models import vocab

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        dt.datetime: DateTime(timezone=True),
    }


def one_of(column: str, values: Iterable[object], name: str | None = None) -> CheckConstraint:
    """A CHECK that a coded column holds a known code (NULL passes, as in SQL)."""
    listed = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name or column)


def created_at() -> Mapped[dt.datetime]:
    return mapped_column(server_default=func.current_timestamp())


# --- places and organisations ------------------------------------------------


class Town(Base):
    """읍·면·동 with the coordinates of its office (the coordinators' start and end point)."""

    __tablename__ = "towns"
    __table_args__ = (
        one_of("kind", vocab.TOWN_KINDS),
        CheckConstraint(
            "latitude BETWEEN 33 AND 39 AND longitude BETWEEN 124 AND 132", name="in_korea"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(10))
    latitude: Mapped[float]
    longitude: Mapped[float]
    urban: Mapped[bool] = mapped_column(default=False)


class Organisation(Base):
    """Hospitals, service providers and device vendors."""

    __tablename__ = "organisations"
    __table_args__ = (
        one_of("kind", vocab.ORGANISATION_KINDS),
        one_of("device_type", vocab.DEVICE_TYPES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    in_county: Mapped[bool] = mapped_column(default=True)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    # Hospitals: FHIR identifier system they own, API token (hash only), pull server, callback.
    identifier_system: Mapped[str | None] = mapped_column(String(200))
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    fhir_base_url: Mapped[str | None] = mapped_column(String(300))
    callback_url: Mapped[str | None] = mapped_column(String(300))
    # Providers: the services they deliver; vendors: the device type they run.
    services: Mapped[list[Any]] = mapped_column(default=list)
    device_type: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = created_at()


# --- staff --------------------------------------------------------------------


class Staff(Base):
    """Care coordinators: nurses, social workers, the home doctor, therapists."""

    __tablename__ = "staff"
    __table_args__ = (
        one_of("role", vocab.STAFF_ROLES),
        CheckConstraint("work_start < work_end", name="working_hours_order"),
        CheckConstraint("max_visits_per_day > 0", name="max_visits_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    skills: Mapped[list[Any]] = mapped_column(default=list)
    office_town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"))
    work_start: Mapped[dt.time] = mapped_column(Time)
    work_end: Mapped[dt.time] = mapped_column(Time)
    lunch_start: Mapped[dt.time | None] = mapped_column(Time)
    lunch_end: Mapped[dt.time | None] = mapped_column(Time)
    max_visits_per_day: Mapped[int] = mapped_column(default=8)
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)


class StaffLeave(Base):
    __tablename__ = "staff_leave"
    __table_args__ = (
        UniqueConstraint("staff_id", "start_date"),
        CheckConstraint("start_date <= end_date", name="leave_order"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(30), default="leave")


# --- clients --------------------------------------------------------------------


class Client(Base):
    """A person cared for. Personal fields are ciphertext; matching uses keyed hashes.

    The resident registration number is kept only as ciphertext and as a keyed
    hash, never in clear. ``code`` is the non-personal key used in logs and gates.
    """

    __tablename__ = "clients"
    __table_args__ = (
        one_of("sex", vocab.SEXES),
        one_of("household_type", vocab.HOUSEHOLD_TYPES),
        one_of("risk_tier", vocab.RISK_TIERS),
        one_of("ltc_grade", vocab.LTC_GRADES),
        CheckConstraint(
            "latitude IS NULL OR (latitude BETWEEN 33 AND 39 AND longitude BETWEEN 124 AND 132)",
            name="in_korea",
        ),
        Index("ix_clients_name_birth_phone_hash", "name_birth_phone_hash"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_enc: Mapped[str] = mapped_column(Text)
    rrn_enc: Mapped[str | None] = mapped_column(Text)
    birth_date_enc: Mapped[str] = mapped_column(Text)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    address_enc: Mapped[str] = mapped_column(Text)
    rrn_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    name_birth_phone_hash: Mapped[str | None] = mapped_column(String(64))
    # Same name and birth date but another phone: a possible match, for a person to review.
    name_birth_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    birth_year: Mapped[int]
    sex: Mapped[str] = mapped_column(String(10))
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    household_type: Mapped[str] = mapped_column(String(30))
    risk_tier: Mapped[str] = mapped_column(String(20))
    ltc_grade: Mapped[str] = mapped_column(String(10), default="none")
    basic_livelihood: Mapped[bool] = mapped_column(default=False)
    medical_aid: Mapped[bool] = mapped_column(default=False)
    consent_given: Mapped[bool] = mapped_column(default=False)
    consent_date: Mapped[dt.date | None] = mapped_column(Date)
    preferred_window_start: Mapped[dt.time | None] = mapped_column(Time)
    preferred_window_end: Mapped[dt.time | None] = mapped_column(Time)
    usual_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(
        server_default=func.current_timestamp(), onupdate=func.current_timestamp()
    )


# --- referrals and cases ---------------------------------------------------------


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
    raw_payload_enc: Mapped[str] = mapped_column(Text)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = created_at()
    status: Mapped[str] = mapped_column(String(20), default="received")
    status_reason: Mapped[str | None] = mapped_column(Text)
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
    changed_at: Mapped[dt.datetime] = created_at()
    callback_delivered_at: Mapped[dt.datetime | None]
    callback_attempts: Mapped[int] = mapped_column(default=0)


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


# --- care plans and services --------------------------------------------------------


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


# --- conferences --------------------------------------------------------------------


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


# --- devices and alerts -------------------------------------------------------------


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (
        UniqueConstraint("vendor_id", "external_id"),
        one_of("device_type", vocab.DEVICE_TYPES),
        one_of("status", ("active", "inactive", "removed")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    external_id: Mapped[str] = mapped_column(String(60))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    device_type: Mapped[str] = mapped_column(String(20))
    installed_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")


class Alert(Base):
    """A vendor alert; alerts of one person across devices merge into one."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("vendor_id", "external_id"),
        one_of("status", vocab.ALERT_STATUSES),
        one_of("severity", ("info", "warning", "critical")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    external_id: Mapped[str] = mapped_column(String(80))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10), default="warning")
    occurred_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = created_at()
    status: Mapped[str] = mapped_column(String(20), default="open")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class EscalationStep(Base):
    """A step of the day-1/day-2 protocol for a person who cannot be reached."""

    __tablename__ = "escalation_steps"
    __table_args__ = (UniqueConstraint("alert_id", "step"), one_of("step", vocab.ESCALATION_STEPS))
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(30))
    due_at: Mapped[dt.datetime]
    done_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))


class SyncWatermark(Base):
    """How far a pull source (a hospital FHIR server, a vendor API) has been read and committed."""

    __tablename__ = "sync_watermarks"
    source: Mapped[str] = mapped_column(String(80), primary_key=True)
    watermark: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[dt.datetime] = mapped_column(
        server_default=func.current_timestamp(), onupdate=func.current_timestamp()
    )


# --- pledges and performance ----------------------------------------------------------


class PledgeProgram(Base):
    """A pledge card (공약): goal, period, department."""

    __tablename__ = "pledge_programs"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    municipality: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    goal: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(String(100))
    start_year: Mapped[int]
    end_year: Mapped[int]


class PledgeIndicator(Base):
    """A confirmation indicator (공약달성 확인지표) with its formula and data source."""

    __tablename__ = "pledge_indicators"
    __table_args__ = (UniqueConstraint("program_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("pledge_programs.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    overall_target: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    formula: Mapped[str | None] = mapped_column(Text)
    data_source: Mapped[str | None] = mapped_column(String(200))
    collection_method: Mapped[str | None] = mapped_column(String(200))
    query_name: Mapped[str | None] = mapped_column(String(100))


class IndicatorTarget(Base):
    """Target per period: a year (``2025``) or a half-year (``2026H1``)."""

    __tablename__ = "indicator_targets"
    __table_args__ = (UniqueConstraint("indicator_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("pledge_indicators.id", ondelete="CASCADE")
    )
    period: Mapped[str] = mapped_column(String(10))
    target: Mapped[Decimal] = mapped_column(Numeric(14, 2))


class IndicatorActual(Base):
    __tablename__ = "indicator_actuals"
    __table_args__ = (
        UniqueConstraint("indicator_id", "period"),
        one_of("source", ("computed", "reported")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("pledge_indicators.id", ondelete="CASCADE")
    )
    period: Mapped[str] = mapped_column(String(10))
    actual: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    source: Mapped[str] = mapped_column(String(20), default="computed")
    computed_at: Mapped[dt.datetime] = created_at()


class Budget(Base):
    """Budget by funding source and period, in million won; executed as reported."""

    __tablename__ = "budgets"
    __table_args__ = (
        UniqueConstraint("program_id", "funding_source", "period"),
        one_of("funding_source", vocab.FUNDING_SOURCES),
        CheckConstraint("planned >= 0", name="planned_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("pledge_programs.id", ondelete="CASCADE"))
    funding_source: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(10))
    planned: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    executed: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))


# --- audit and data quality -------------------------------------------------------------


class AuditLog(Base):
    """Who read or changed what, and why. Holds keys and field names, never values."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = created_at()
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(30))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(40))
    fields: Mapped[list[Any]] = mapped_column(default=list)
    purpose: Mapped[str | None] = mapped_column(String(200))


class GateResult(Base):
    """Summary of one data-quality gate run: counts and failed rules, never personal values."""

    __tablename__ = "gate_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(String(60))
    suite: Mapped[str] = mapped_column(String(100))
    run_key: Mapped[str | None] = mapped_column(String(200))
    ran_at: Mapped[dt.datetime] = created_at()
    success: Mapped[bool]
    rows_evaluated: Mapped[int]
    rows_failed: Mapped[int]
    expectations_evaluated: Mapped[int]
    failed_expectations: Mapped[list[Any]] = mapped_column(default=list)


class QuarantinedRow(Base):
    """A row a gate kept out, with the rule it broke; identified by its non-personal key."""

    __tablename__ = "quarantined_rows"
    __table_args__ = (UniqueConstraint("stage", "row_key", "rule"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    gate_result_id: Mapped[int] = mapped_column(ForeignKey("gate_results.id"))
    stage: Mapped[str] = mapped_column(String(60))
    row_key: Mapped[str] = mapped_column(String(120))
    rule: Mapped[str] = mapped_column(String(200))
    quarantined_at: Mapped[dt.datetime] = created_at()
    released_at: Mapped[dt.datetime | None]
