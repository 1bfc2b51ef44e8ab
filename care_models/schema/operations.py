"""The audit log, data-quality gate results and quarantine."""

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

from care_models.schema.base import Base, created_at


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
