"""Actuals: computed from the care data where a card binds a query, entered where not.

**Periods.** A card's period code maps to Asia/Seoul dates: ``2026`` is the year,
``2026H1`` January to June, ``2026H2`` (or ``2026H2+``, "the second half and after")
July to December. ``prior`` (already invested) and ``2027+`` (after the term) are not
periods anything is computed for.

**Computed.** Each query in ``sql/pledges/`` returns ``numerator`` and
``denominator`` for a period (``:period_start``/``:period_end`` dates and the same as
UTC instants): a count is its numerator; a rate (unit ``%``) is numerator over
denominator as a percentage with one decimal. :func:`compute_actuals` stores them as
``computed``; it never replaces an actual someone reported.

**Reported.** :func:`report_actual` records what the platform cannot know, with who
entered it and the evidence. :func:`record_execution` records a budget's execution.

**The gate.** Refused (nothing written, the field and rule named): a period outside
the card's term, a negative value, an execution above the planned budget. Flagged for
review, not blocked (``review_flag``): an achievement above 150% of the target, or a
jump of more than three times the previous period's actual.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import DateTime, bindparam, select
from sqlalchemy.orm import Session

from care_models.errors import ConfigurationError, NotFoundError, ValidationError
from care_models.queries import load_query
from care_models.schema import (
    Budget,
    IndicatorActual,
    IndicatorTarget,
    PledgeIndicator,
    PledgeProgram,
)
from care_models.vocab import FUNDING_SOURCES
from care_models.workdays import SEOUL

PERIOD = re.compile(r"(?P<year>\d{4})(?P<half>H[12]\+?)?")
REVIEW_ACHIEVEMENT = Decimal(150)
REVIEW_JUMP = Decimal(3)


def period_dates(code: str) -> tuple[dt.date, dt.date] | None:
    """The Seoul dates ``[start, end)`` of a period code, or None (prior, after)."""
    match = PERIOD.fullmatch(code)
    if match is None:
        return None
    year, half = int(match["year"]), match["half"]
    if half is None:
        return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    if half.startswith("H1"):
        return dt.date(year, 1, 1), dt.date(year, 7, 1)
    return dt.date(year, 7, 1), dt.date(year + 1, 1, 1)


def one_decimal(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _instant(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=SEOUL).astimezone(dt.UTC)


@dataclass(frozen=True)
class Measured:
    """What one bound query gave for a span: the actual (None when it cannot be
    computed, e.g. a rate over nobody) and the rows it counted, for the appendix."""

    actual: Decimal | None
    rows_counted: int


def measure_span(
    session: Session, query_name: str, unit: str, start: dt.date, end: dt.date
) -> Measured:
    """Run one bound query over the Seoul dates ``[start, end)``."""
    clause = load_query(query_name)
    typed = [
        bindparam(name, type_=DateTime(timezone=True))
        for name in ("period_start_instant", "period_end_instant")
        if re.search(rf":{name}\b", clause.text)
    ]
    if typed:
        clause = clause.bindparams(*typed)
    params = {
        "period_start": start,
        "period_end": end,
        "period_start_instant": _instant(start),
        "period_end_instant": _instant(end),
    }
    numerator, denominator = session.execute(clause, params).one()
    numerator = Decimal(numerator or 0)
    if unit == "%":
        rows = int(denominator or 0)
        if not rows:
            return Measured(None, 0)
        return Measured(one_decimal(Decimal(100) * numerator / Decimal(denominator)), rows)
    return Measured(numerator, int(denominator if denominator is not None else numerator))


def measure(session: Session, query_name: str, unit: str, code: str) -> Decimal | None:
    """The actual of one bound query for one period (None when it cannot be computed)."""
    dates = period_dates(code)
    if dates is None:
        return None
    return measure_span(session, query_name, unit, *dates).actual


@dataclass(frozen=True)
class Computed:
    program: str
    indicator: str
    period: str
    actual: Decimal | None
    flag: str | None = None
    skipped: str | None = None  # why nothing was computed


def _review_flag(
    session: Session, indicator: PledgeIndicator, period: str, actual: Decimal
) -> str | None:
    target = session.scalar(
        select(IndicatorTarget.target).where(
            IndicatorTarget.indicator_id == indicator.id, IndicatorTarget.period == period
        )
    )
    if target and actual > target * REVIEW_ACHIEVEMENT / 100:
        return f"achievement over {REVIEW_ACHIEVEMENT}% of the target: check the figure"
    earlier = session.scalars(
        select(IndicatorActual)
        .where(IndicatorActual.indicator_id == indicator.id, IndicatorActual.period < period)
        .order_by(IndicatorActual.period.desc())
    ).first()
    if earlier is not None and earlier.actual > 0 and actual > earlier.actual * REVIEW_JUMP:
        return f"more than {REVIEW_JUMP}x the previous period's actual: check the figure"
    return None


def _in_term(program: PledgeProgram, code: str) -> bool:
    dates = period_dates(code)
    return dates is not None and program.start_year <= dates[0].year <= program.end_year


def compute_actuals(
    session: Session,
    year: int,
    program_code: str | None = None,
    now: dt.datetime | None = None,
) -> list[Computed]:
    """Compute every bound indicator for the periods of ``year`` it has targets or
    actuals for (or the year itself); reported actuals are left as they are. ``now``
    (the run's time) stamps what was computed."""
    stamp = now or dt.datetime.now(dt.UTC)
    query = select(PledgeIndicator, PledgeProgram).join(
        PledgeProgram, PledgeProgram.id == PledgeIndicator.program_id
    )
    if program_code is not None:
        query = query.where(PledgeProgram.code == program_code)
    results = []
    for indicator, program in session.execute(
        query.order_by(PledgeProgram.code, PledgeIndicator.code)
    ).all():
        if not indicator.query_name:
            continue
        periods = {
            p
            for p in session.scalars(
                select(IndicatorTarget.period).where(IndicatorTarget.indicator_id == indicator.id)
            )
            if p.startswith(str(year))
        } or {str(year)}
        for code in sorted(periods):
            if not _in_term(program, code):
                results.append(
                    Computed(program.code, indicator.code, code, None, skipped="outside the term")
                )
                continue
            dates = period_dates(code)
            assert dates is not None  # in the term, so a year or a half
            try:
                measured = measure_span(session, indicator.query_name, indicator.unit, *dates)
            except ConfigurationError:
                results.append(
                    Computed(program.code, indicator.code, code, None, skipped="no such query yet")
                )
                continue
            actual = measured.actual
            if actual is None:
                results.append(
                    Computed(program.code, indicator.code, code, None, skipped="nothing to count")
                )
                continue
            row = session.scalar(
                select(IndicatorActual).where(
                    IndicatorActual.indicator_id == indicator.id, IndicatorActual.period == code
                )
            )
            if row is not None and row.source == "reported":
                results.append(
                    Computed(program.code, indicator.code, code, row.actual, skipped="reported")
                )
                continue
            flag = _review_flag(session, indicator, code, actual)
            if row is None:
                row = IndicatorActual(
                    indicator_id=indicator.id, period=code, source="computed", actual=actual
                )
                session.add(row)
            row.actual, row.review_flag, row.computed_at = actual, flag, stamp
            row.rows_counted = measured.rows_counted
            results.append(Computed(program.code, indicator.code, code, actual, flag))
    session.flush()
    return results


def _program_indicator(
    session: Session, program_code: str, indicator_code: str
) -> tuple[PledgeProgram, PledgeIndicator]:
    found = session.execute(
        select(PledgeProgram, PledgeIndicator)
        .join(PledgeIndicator, PledgeIndicator.program_id == PledgeProgram.id)
        .where(PledgeProgram.code == program_code, PledgeIndicator.code == indicator_code)
    ).one_or_none()
    if found is None:
        raise NotFoundError("program/indicator: no such indicator of that program")
    return found[0], found[1]


def report_actual(
    session: Session,
    program_code: str,
    indicator_code: str,
    period: str,
    value: Decimal,
    *,
    entered_by: str,
    evidence: str,
) -> IndicatorActual:
    """Record a reported actual (the gate in the module docstring)."""
    program, indicator = _program_indicator(session, program_code, indicator_code)
    if not _in_term(program, period):
        raise ValidationError("period", "must be a year or half-year inside the pledge's term")
    if value < 0:
        raise ValidationError("value", "must not be negative")
    if not entered_by.strip() or not evidence.strip():
        raise ValidationError(
            "entered_by/evidence", "a reported actual needs who entered it and its evidence"
        )
    row = session.scalar(
        select(IndicatorActual).where(
            IndicatorActual.indicator_id == indicator.id, IndicatorActual.period == period
        )
    )
    if row is None:
        row = IndicatorActual(indicator_id=indicator.id, period=period, actual=value)
        session.add(row)
    row.review_flag = _review_flag(session, indicator, period, value)
    row.actual, row.source, row.entered_by, row.evidence = value, "reported", entered_by, evidence
    row.computed_at = dt.datetime.now(dt.UTC)
    session.flush()
    return row


def record_execution(
    session: Session, program_code: str, source: str, period: str, amount: Decimal
) -> Budget:
    """Record what was executed of a budget line (million won; the gate above)."""
    if source not in FUNDING_SOURCES:
        raise ValidationError("source", f"must be one of {', '.join(FUNDING_SOURCES)}")
    if amount < 0:
        raise ValidationError("amount", "must not be negative")
    line = session.scalar(
        select(Budget)
        .join(PledgeProgram, PledgeProgram.id == Budget.program_id)
        .where(
            PledgeProgram.code == program_code,
            Budget.funding_source == source,
            Budget.period == period,
        )
    )
    if line is None:
        raise NotFoundError("program/source/period: no such budget line on the card")
    if amount > line.planned:
        raise ValidationError("amount", "must not exceed the planned budget of the line")
    line.executed = amount
    session.flush()
    return line


__all__ = [
    "compute_actuals",
    "measure",
    "one_decimal",
    "period_dates",
    "record_execution",
    "report_actual",
]
