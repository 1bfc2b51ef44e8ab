"""Places, organisations, staff and clients."""

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
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from care_models import vocab
from care_models.schema.base import Base, created_at, one_of


class Town(Base):
    """읍·면·동 with the coordinates of its office (the coordinators' start and end point)."""

    __tablename__ = "towns"
    __table_args__ = (
        one_of("kind", vocab.TOWN_KINDS),
        CheckConstraint("conference_weekday BETWEEN 0 AND 6", name="conference_weekday"),
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
    # The town's tier-1 conference (0 = Monday); NULL takes the county default setting.
    conference_weekday: Mapped[int | None]
    conference_time: Mapped[dt.time | None] = mapped_column(Time)


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
    # Hospitals: FHIR identifier system they own, pull server, callback (tokens: AccessToken).
    identifier_system: Mapped[str | None] = mapped_column(String(200))
    fhir_base_url: Mapped[str | None] = mapped_column(String(300))
    callback_url: Mapped[str | None] = mapped_column(String(300))
    # Providers: the services they deliver; vendors: the device type they run.
    services: Mapped[list[Any]] = mapped_column(default=list)
    device_type: Mapped[str | None] = mapped_column(String(20))
    # A work address (conference invitations), not a person's.
    email: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = created_at()


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
    active: Mapped[bool] = mapped_column(default=True)
    email: Mapped[str | None] = mapped_column(String(120))
    phone_enc: Mapped[str | None] = mapped_column(Text)


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
    # The home on a 0.001° grid (about 100 m; care_models.privacy.COORDINATE_DECIMALS), for
    # gates, maps and routing; the exact place only as ciphertext in location_enc.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    location_enc: Mapped[str | None] = mapped_column(Text)
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
    # A registered guardian is told by SMS only where the client consented.
    guardian_phone_enc: Mapped[str | None] = mapped_column(Text)
    guardian_consent: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(
        server_default=func.current_timestamp(), onupdate=func.current_timestamp()
    )


class ClosureDay(Base):
    """A day the county office is closed beyond the public holidays (conferences move)."""

    __tablename__ = "closure_days"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(100))


class DutyRoster(Base):
    """The county's on-duty worker for a weekend or holiday day (alert protocol, day 2)."""

    __tablename__ = "duty_roster"
    __table_args__ = (UniqueConstraint("day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))


class ClientAbsence(Base):
    """A client in hospital or away until a date: their alerts are stored, not escalated."""

    __tablename__ = "client_absences"
    __table_args__ = (
        one_of("reason", vocab.ABSENCE_REASONS),
        # by client, then start: "away again after the case opened" (sql/pledges/) and
        # "away at the alert's time" (the alert merge) are look-ups, not scans
        Index("ix_client_absences_client_starts", "client_id", "starts_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime]
    until: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(String(20))


class LtcGradeChange(Base):
    """A change of a client's long-term-care grade, as the insurer's notice states it.

    ``direction`` is fixed when the change is recorded (care_models.ltc): ``entered``
    (from no grade to one), ``rose`` (a heavier grade), ``fell`` or ``left``. Entering
    or rising is the step towards high-cost care that integrated care tries to prevent.
    """

    __tablename__ = "ltc_grade_changes"
    __table_args__ = (
        one_of("from_grade", vocab.LTC_GRADES),
        one_of("to_grade", vocab.LTC_GRADES),
        one_of("direction", vocab.LTC_DIRECTIONS),
        UniqueConstraint("client_id", "changed_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    changed_on: Mapped[dt.date] = mapped_column(Date, index=True)
    from_grade: Mapped[str] = mapped_column(String(10))
    to_grade: Mapped[str] = mapped_column(String(10))
    direction: Mapped[str] = mapped_column(String(10))
    recorded_by: Mapped[str] = mapped_column(String(80))
