"""Devices, alerts, escalation steps and sync watermarks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    func,
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
