"""What the yearly pledge report shows, computed from the stored cards and actuals.

Per program and period of the year: each indicator's target (A), actual (B), its
achievement B/A as a percentage with one decimal (Yesan: 130 against 109 is 119.3%)
and whether the actual was computed or reported; each budget line's planned (A),
executed (B) and execution rate B/A (Yesan: 201 against 213 is 94.4%).

**Progress** is shown twice where they differ: as the department states it on the
card, and as computed here: the mean, over the year's indicators with both a target
and an actual, of their achievement capped at 100% (an indicator far ahead does not
make up for one behind), with one decimal.

Each program also carries what the seed cards print around the figures: the card's
header (department, staff, term, goals), its yearly plan and the achievements it
lists (연차별 추진계획·추진실적), each indicator's series of target against actual
over the term up to the year (for the charts), and the trace of every computed
actual (its query, period and the rows it counted: never anybody's data).

For the whole set: **완료율**, the programs whose status is 완료 over all programs;
**목표달성도**, the programs that met this year's targets (every indicator of the year
with a target and an actual at 100% or more, and at least one such) over all
programs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.pledges.actuals import one_decimal, period_dates
from care_models.pledges.cards import PlanEntry, StaffMember, card_from_document
from care_models.rendering.charts import Point
from care_models.schema import (
    Budget,
    IndicatorActual,
    IndicatorTarget,
    PledgeCardVersion,
    PledgeIndicator,
    PledgeProgram,
)

COMPLETED = "완료"


def rate(actual: Decimal | None, target: Decimal | None) -> Decimal | None:
    """B/A as a percentage with one decimal; None without both."""
    if actual is None or not target:
        return None
    return one_decimal(Decimal(100) * actual / target)


@dataclass(frozen=True)
class IndicatorLine:
    code: str
    name: str
    unit: str
    period: str
    target: Decimal | None
    actual: Decimal | None
    achievement: Decimal | None
    source: str | None  # computed | reported | None (no actual yet)
    review_flag: str | None
    formula: str | None = None  # as the card states it (산식)
    data_source: str | None = None  # 자료출처
    collection_method: str | None = None  # 수집방법


@dataclass(frozen=True)
class BudgetLine:
    source: str
    period: str
    planned: Decimal
    executed: Decimal | None
    execution_rate: Decimal | None


@dataclass(frozen=True)
class CardHeader:
    """The card's header and narrative, from its current version."""

    version: int
    term: str
    department: str | None
    team: str | None
    staff: tuple[StaffMember, ...]
    goals: tuple[str, ...]
    plan: tuple[PlanEntry, ...]
    achievements: tuple[str, ...]


@dataclass(frozen=True)
class Series:
    """One indicator's target against actual per period, up to the report's year."""

    code: str
    name: str
    unit: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Trace:
    """Where a computed actual came from: the query, the period, the rows it counted."""

    indicator: str
    period: str
    query: str
    rows_counted: int | None
    computed_at: dt.datetime


@dataclass
class ProgramReport:
    code: str
    title: str
    municipality: str
    status: str | None
    stated_progress: Decimal | None
    computed_progress: Decimal | None
    indicators: list[IndicatorLine] = field(default_factory=list)
    budget: list[BudgetLine] = field(default_factory=list)
    header: CardHeader | None = None
    series: list[Series] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)

    @property
    def met_target(self) -> bool:
        judged = [line for line in self.indicators if line.achievement is not None]
        return bool(judged) and all(
            line.achievement >= 100 for line in judged if line.achievement is not None
        )


@dataclass
class SetReport:
    year: int
    programs: list[ProgramReport]

    @property
    def completion_rate(self) -> Decimal | None:
        done = sum(1 for p in self.programs if p.status == COMPLETED)
        return rate(Decimal(done), Decimal(len(self.programs))) if self.programs else None

    @property
    def target_rate(self) -> Decimal | None:
        met = sum(1 for p in self.programs if p.met_target)
        return rate(Decimal(met), Decimal(len(self.programs))) if self.programs else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "completion_rate": self.completion_rate,
            "target_rate": self.target_rate,
            "programs": [asdict(p) | {"met_target": p.met_target} for p in self.programs],
        }


def _in_year(period: str, year: int) -> bool:
    return period.startswith(str(year))


def _up_to(period: str, year: int) -> bool:
    dates = period_dates(period)
    return dates is not None and dates[0].year <= year


def _header(session: Session, program: PledgeProgram) -> CardHeader | None:
    current = session.scalars(
        select(PledgeCardVersion)
        .where(PledgeCardVersion.program_id == program.id)
        .order_by(PledgeCardVersion.version.desc())
    ).first()
    if current is None:
        return None
    card = card_from_document(current.document)
    achievements = card.overview.get("achievements") or ()
    return CardHeader(
        current.version,
        card.term_as_printed or f"{card.term_start} ~ {card.term_end or '계속'}",
        card.department,
        card.team,
        card.staff,
        card.goals,
        card.plan,
        tuple(str(a) for a in achievements),
    )


def _indicator_lines(
    session: Session, indicator: PledgeIndicator, year: int, report: ProgramReport
) -> None:
    targets = {
        t.period: t.target
        for t in session.scalars(
            select(IndicatorTarget).where(IndicatorTarget.indicator_id == indicator.id)
        )
    }
    actuals = {
        a.period: a
        for a in session.scalars(
            select(IndicatorActual).where(IndicatorActual.indicator_id == indicator.id)
        )
    }
    for period in sorted(p for p in set(targets) | set(actuals) if _in_year(p, year)):
        actual = actuals.get(period)
        value = actual.actual if actual else None
        report.indicators.append(
            IndicatorLine(
                indicator.code,
                indicator.name,
                indicator.unit,
                period,
                targets.get(period),
                value,
                rate(value, targets.get(period)),
                actual.source if actual else None,
                actual.review_flag if actual else None,
                indicator.formula,
                indicator.data_source,
                indicator.collection_method,
            )
        )
        if actual is not None and actual.source == "computed" and indicator.query_name:
            report.traces.append(
                Trace(
                    indicator.code,
                    period,
                    indicator.query_name,
                    actual.rows_counted,
                    actual.computed_at,
                )
            )
    history = sorted(p for p in set(targets) | set(actuals) if _up_to(p, year))
    if any(targets.get(p) is not None for p in history):
        report.series.append(
            Series(
                indicator.code,
                indicator.name,
                indicator.unit,
                tuple(
                    Point(p, targets.get(p), actuals[p].actual if p in actuals else None)
                    for p in history
                ),
            )
        )


def _budget_lines(session: Session, program: PledgeProgram, year: int) -> list[BudgetLine]:
    return [
        BudgetLine(
            line.funding_source,
            line.period,
            line.planned,
            line.executed,
            rate(line.executed, line.planned),
        )
        for line in session.scalars(
            select(Budget)
            .where(Budget.program_id == program.id)
            .order_by(Budget.funding_source, Budget.period)
        )
        if _in_year(line.period, year)
    ]


def pledge_report(session: Session, year: int, program_code: str | None = None) -> SetReport:
    query = select(PledgeProgram).order_by(PledgeProgram.code)
    if program_code is not None:
        query = query.where(PledgeProgram.code == program_code)
    programs = []
    for program in session.scalars(query):
        report = ProgramReport(
            program.code,
            program.title,
            program.municipality,
            program.status,
            program.stated_progress,
            None,
            header=_header(session, program),
        )
        for indicator in session.scalars(
            select(PledgeIndicator)
            .where(PledgeIndicator.program_id == program.id)
            .order_by(PledgeIndicator.id)
        ):
            _indicator_lines(session, indicator, year, report)
        report.budget = _budget_lines(session, program, year)
        judged = [
            min(line.achievement, Decimal(100))
            for line in report.indicators
            if line.achievement is not None
        ]
        if judged:
            report.computed_progress = one_decimal(sum(judged, Decimal(0)) / len(judged))
        programs.append(report)
    return SetReport(year, programs)


__all__ = [
    "BudgetLine",
    "CardHeader",
    "IndicatorLine",
    "ProgramReport",
    "Series",
    "SetReport",
    "Trace",
    "pledge_report",
    "rate",
]
