"""The audit log, data-quality gate results, quarantine, operational alerts, outbound messages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from care_models import vocab
from care_models.schema.base import Base, created_at, one_of


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
    released_at: Mapped[dt.datetime | None]  # when it left the queue, either way
    # released (let through: the rule was wrong for it) or discarded (kept out), by whom
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolved_by: Mapped[str | None] = mapped_column(String(80))


class OperationalAlert(Base):
    """Something a workflow could not do on its own and the team must see to.

    Written where it happens (a referral held for lack of capacity or a fault, a
    callback dead-lettered) and shown by ``python -m care_models summary`` until
    resolved. ``detail`` says the rule, never a personal value.
    """

    __tablename__ = "operational_alerts"
    __table_args__ = (UniqueConstraint("kind", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    raised_at: Mapped[dt.datetime] = created_at()
    workflow: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(200))
    resolved_at: Mapped[dt.datetime | None]


class OutboundMessage(Base):
    """An SMS or mail the platform sends, once per natural key, with its delivery state.

    No address is stored here: the recipient is a row (client, guardian of a client,
    staff, organisation, participant), read and decrypted only when sending.
    """

    __tablename__ = "outbound_messages"
    __table_args__ = (
        UniqueConstraint("natural_key"),
        one_of("channel", vocab.MESSAGE_CHANNELS),
        one_of("status", vocab.MESSAGE_STATUSES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    natural_key: Mapped[str] = mapped_column(String(160))
    purpose: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    conference_id: Mapped[int | None] = mapped_column(ForeignKey("conferences.id"))
    recipient_role: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    provider_message_id: Mapped[str | None] = mapped_column(String(80))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = created_at()
    sent_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
