"""The monthly progress report: this year's actuals to date against the year's target.

For the progress meeting (월간 추진상황 점검). ``through`` is the first day not
counted (a run on the 5th business day of December counts 1 January to 30 November).

- An indicator bound to a query is measured over ``[1 January, through)``: a count
  (cases handled) is what happened so far, a level (households enrolled) or a rate is
  where it stands.
- A reported indicator shows its latest reported actual of the year, if any.
- **Behind**: an indicator that adds up is behind when what happened so far is under
  the target's share of the year elapsed (the year's target × days elapsed / days in
  the year, one decimal); a level or rate is behind when it is under the target. An
  indicator without a figure yet is listed as not judged, not as behind.

The year's target is the card's target for the year, or, where the card splits the
year into halves, their sum (adds up) or the later half's (a level). Nothing is
stored: the monthly report is a snapshot; the year's actuals are the yearly run's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.errors import ConfigurationError
from care_models.pledges.actuals import measure_span, one_decimal
from care_models.schema import IndicatorActual, IndicatorTarget, PledgeIndicator, PledgeProgram


@dataclass(frozen=True)
class ProgressLine:
    program: str
    code: str
    name: str
    unit: str
    aggregation: str
    year_target: Decimal
    to_date: Decimal | None
    expected: Decimal
    source: str | None  # computed | reported | None (no figure yet)

    @property
    def behind(self) -> bool:
        return self.to_date is not None and self.to_date < self.expected

    @property
    def share(self) -> Decimal | None:
        """What is done so far, as a percentage of the year's target."""
        if self.to_date is None or not self.year_target:
            return None
        return one_decimal(Decimal(100) * self.to_date / self.year_target)


@dataclass(frozen=True)
class MonthlyProgress:
    year: int
    through: dt.date  # first day not counted

    lines: tuple[ProgressLine, ...]

    @property
    def last_day(self) -> dt.date:
        return self.through - dt.timedelta(days=1)

    @property
    def behind(self) -> tuple[ProgressLine, ...]:
        return tuple(line for line in self.lines if line.behind)


def year_target(
    targets: Mapping[str, Decimal | None], year: int, aggregation: str
) -> Decimal | None:
    whole = targets.get(str(year))
    if whole is not None:
        return whole
    halves = [
        value
        for period, value in sorted(targets.items())
        if period.startswith(f"{year}H") and value is not None
    ]
    if not halves:
        return None
    return sum(halves, Decimal(0)) if aggregation == "sum" else halves[-1]


def elapsed_share(year: int, through: dt.date) -> Decimal:
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    days = min(max((through - start).days, 0), (end - start).days)
    return Decimal(days) / Decimal((end - start).days)


def _to_date(
    session: Session, indicator: PledgeIndicator, year: int, through: dt.date
) -> tuple[Decimal | None, str | None]:
    if indicator.query_name:
        try:
            measured = measure_span(
                session, indicator.query_name, indicator.unit, dt.date(year, 1, 1), through
            )
        except ConfigurationError:
            return None, None
        return measured.actual, "computed" if measured.actual is not None else None
    reported = session.scalars(
        select(IndicatorActual)
        .where(
            IndicatorActual.indicator_id == indicator.id,
            IndicatorActual.period.like(f"{year}%"),
            IndicatorActual.source == "reported",
        )
        .order_by(IndicatorActual.period.desc())
    ).first()
    return (reported.actual, "reported") if reported is not None else (None, None)


def monthly_progress(session: Session, year: int, through: dt.date) -> MonthlyProgress:
    share = elapsed_share(year, through)
    lines = []
    for indicator, program_code in session.execute(
        select(PledgeIndicator, PledgeProgram.code)
        .join(PledgeProgram, PledgeProgram.id == PledgeIndicator.program_id)
        .where(PledgeProgram.start_year <= year, PledgeProgram.end_year >= year)
        .order_by(PledgeProgram.code, PledgeIndicator.id)
    ).all():
        targets = dict(
            session.execute(
                select(IndicatorTarget.period, IndicatorTarget.target).where(
                    IndicatorTarget.indicator_id == indicator.id
                )
            ).all()
        )
        target = year_target(targets, year, indicator.aggregation)
        if target is None:
            continue
        to_date, source = _to_date(session, indicator, year, through)
        expected = one_decimal(target * share) if indicator.aggregation == "sum" else target
        lines.append(
            ProgressLine(
                program_code,
                indicator.code,
                indicator.name,
                indicator.unit,
                indicator.aggregation,
                target,
                to_date,
                expected,
                source,
            )
        )
    return MonthlyProgress(year, through, tuple(lines))
