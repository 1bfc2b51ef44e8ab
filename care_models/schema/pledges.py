"""Pledge programs, indicators, targets, actuals and budgets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from care_models import vocab
from care_models.schema.base import Base, created_at, one_of


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
    status: Mapped[str | None] = mapped_column(String(30))  # 완료, 정상추진, ... as the card says
    stated_progress: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))  # the department's %


class PledgeCardVersion(Base):
    """Each loaded version of a card, whole: a changed card is a new version."""

    __tablename__ = "pledge_card_versions"
    __table_args__ = (UniqueConstraint("program_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("pledge_programs.id", ondelete="CASCADE"))
    version: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    loaded_by: Mapped[str] = mapped_column(String(80))
    loaded_at: Mapped[dt.datetime]


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
    aggregation: Mapped[str] = mapped_column(String(10), default="sum", server_default="sum")
    reported: Mapped[bool] = mapped_column(default=False, server_default=false())


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
    entered_by: Mapped[str | None] = mapped_column(String(80))  # reported: who entered it
    evidence: Mapped[str | None] = mapped_column(Text)  # reported: the document it rests on
    review_flag: Mapped[str | None] = mapped_column(Text)  # the gate's "check this", not a block
    # computed: the rows the query counted (its denominator, or its count), for the
    # report's appendix, so a figure can be traced without naming anybody.
    rows_counted: Mapped[int | None]


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
