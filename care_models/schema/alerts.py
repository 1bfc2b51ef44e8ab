"""Devices, alerts, escalation steps and sync watermarks."""

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
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from care_models import vocab
from care_models.schema.base import Base, created_at, one_of


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (
        UniqueConstraint("vendor_id", "external_id"),
        one_of("device_type", vocab.DEVICE_TYPES),
        one_of("status", ("active", "inactive", "removed")),
        CheckConstraint("no_change_hours BETWEEN 24 AND 50", name="no_change_hours"),
        CheckConstraint("battery_pct BETWEEN 0 AND 100", name="battery_pct"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    external_id: Mapped[str] = mapped_column(String(60))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    device_type: Mapped[str] = mapped_column(String(20))
    installed_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")
    heartbeat_interval_min: Mapped[int] = mapped_column(default=60)
    last_heartbeat_at: Mapped[dt.datetime | None]
    battery_pct: Mapped[int | None]
    # Smart plugs: the household's "no change for N hours" (24 to 50).
    no_change_hours: Mapped[int | None]
    maintenance_until: Mapped[dt.datetime | None]


class VendorSecret(Base):
    """A vendor's push-signing secret.

    An HMAC can be checked only with the secret itself, so it is kept encrypted at
    rest (the Vault), with a keyed fingerprint to find and revoke it; never in clear.
    """

    __tablename__ = "vendor_secrets"
    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    secret_enc: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = created_at()
    revoked_at: Mapped[dt.datetime | None]


class Incident(Base):
    """One person's open silence or emergency: every alert of the client joins it.

    At most one open incident per client (a partial unique index), so alerts from
    several devices and vendors merge per person, not per source.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        one_of("status", vocab.INCIDENT_STATUSES),
        one_of("close_reason", vocab.INCIDENT_CLOSE_REASONS),
        one_of("current_step", vocab.ESCALATION_STEPS),
        Index(
            "uq_incidents_one_open_per_client",
            "client_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    kind: Mapped[str] = mapped_column(String(40))
    critical: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="open")
    opened_at: Mapped[dt.datetime]
    current_step: Mapped[str | None] = mapped_column(String(30))
    closed_at: Mapped[dt.datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(50))
    close_reason: Mapped[str | None] = mapped_column(String(30))
    close_note: Mapped[str | None] = mapped_column(Text)


class Alert(Base):
    """A vendor alert; alerts of one person across devices merge into one."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("vendor_id", "external_id"),
        one_of("status", vocab.ALERT_STATUSES),
        one_of("severity", ("info", "warning", "critical")),
        Index("ix_alerts_client_occurred", "client_id", "occurred_at"),
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
    vendor_kind: Mapped[str | None] = mapped_column(String(60))
    suppressed: Mapped[bool] = mapped_column(default=False)
    suppression_reason: Mapped[str | None] = mapped_column(String(40))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    passed_to_119: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(default=1)


class AlertRevision(Base):
    """A corrected alert: which fields the vendor changed (names only), and when."""

    __tablename__ = "alert_revisions"
    __table_args__ = (UniqueConstraint("alert_id", "revision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    revision: Mapped[int]
    changed_at: Mapped[dt.datetime] = created_at()
    changed_fields: Mapped[list[Any]] = mapped_column(default=list)


class EscalationStep(Base):
    """A step of the day-1/day-2 protocol of an incident, once each (idempotent)."""

    __tablename__ = "escalation_steps"
    __table_args__ = (
        UniqueConstraint("incident_id", "step"),
        one_of("step", vocab.ESCALATION_STEPS),
        one_of("status", vocab.ESCALATION_STEP_STATUSES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(10), default="due")
    due_at: Mapped[dt.datetime]
    done_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))


class SyncWatermark(Base):
    """How far a pull source (a hospital FHIR server, a vendor API) has been read and committed."""

    __tablename__ = "sync_watermarks"
    source: Mapped[str] = mapped_column(String(80), primary_key=True)
    watermark: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[dt.datetime] = mapped_column(
        server_default=func.current_timestamp(), onupdate=func.current_timestamp()
    )
