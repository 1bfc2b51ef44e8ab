"""Pledge cards into the care database, idempotently, with every version kept.

:func:`load_cards` reads each card (:func:`care_models.pledges.cards.load_card`:
validated, or refused naming the path and the rule), and:

- a card seen before with the same content (the SHA-256 of its canonical JSON)
  changes nothing;
- a new or changed card becomes the program's next version (``pledge_card_versions``
  keeps the whole document and its arithmetic warnings), and the program, its
  indicators and their targets, and the planned budget per funding source and
  period (the card's tables summed) are set to it. Actuals the card reports are
  recorded as ``reported`` where the period has none yet; executed budgets and the
  actuals entered or computed later are never touched.

A card's own arithmetic that does not agree is a warning with both numbers, not an
error: the card is kept as printed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from care_models.pledges.arithmetic import arithmetic_warnings
from care_models.pledges.cards import PledgeCard, load_card
from care_models.schema import (
    Budget,
    IndicatorActual,
    IndicatorTarget,
    PledgeCardVersion,
    PledgeIndicator,
    PledgeProgram,
)


@dataclass
class CardLoad:
    program_code: str
    version: int
    changed: bool
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _digest(path: Path) -> tuple[str, dict[str, object]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest(), document


def _year(text: str | None, default: int) -> int:
    return int(text[:4]) if text and text[:4].isdigit() else default


def _program(session: Session, card: PledgeCard) -> PledgeProgram:
    program = session.scalar(select(PledgeProgram).where(PledgeProgram.code == card.program_code))
    start = _year(card.term_start, dt.date.today().year)
    if program is None:
        program = PledgeProgram(code=card.program_code, start_year=start, end_year=start)
        session.add(program)
    program.municipality, program.title = card.municipality, card.title
    program.goal = " ".join(card.goals) or None
    program.department = card.department
    program.start_year = start
    program.end_year = _year(
        card.term_end, max((_year(p.code, start) for p in card.periods), default=start)
    )
    program.status = card.status
    program.stated_progress = card.progress.stated if card.progress else None
    session.flush()
    return program


def _indicators(session: Session, program: PledgeProgram, card: PledgeCard) -> None:
    existing = {
        i.code: i
        for i in session.scalars(
            select(PledgeIndicator).where(PledgeIndicator.program_id == program.id)
        )
    }
    for indicator in card.indicators:
        row = existing.get(indicator.code)
        if row is None:
            row = PledgeIndicator(program_id=program.id, code=indicator.code)
            session.add(row)
        row.name, row.unit, row.overall_target = (
            indicator.name,
            indicator.unit,
            indicator.overall_target,
        )
        row.formula, row.data_source = indicator.formula, indicator.data_source
        row.collection_method, row.query_name = indicator.collection_method, indicator.query
        row.aggregation, row.reported = indicator.aggregation, indicator.reported
        session.flush()
        targets = {
            t.period: t
            for t in session.scalars(
                select(IndicatorTarget).where(IndicatorTarget.indicator_id == row.id)
            )
        }
        for period, target in indicator.targets.items():
            if target is None:
                continue
            if period in targets:
                targets.pop(period).target = target
            else:
                session.add(IndicatorTarget(indicator_id=row.id, period=period, target=target))
        for stale in targets.values():  # a target the new version no longer sets
            session.delete(stale)
        actuals = set(
            session.scalars(
                select(IndicatorActual.period).where(IndicatorActual.indicator_id == row.id)
            )
        )
        for period, actual in indicator.actuals.items():
            if actual is not None and period not in actuals:
                session.add(
                    IndicatorActual(
                        indicator_id=row.id, period=period, actual=actual, source="reported"
                    )
                )


def _budget(session: Session, program: PledgeProgram, card: PledgeCard) -> None:
    planned: dict[tuple[str, str], Decimal] = {}
    for table in card.budget.tables:
        for row in table.rows:
            if row.source is None:
                continue
            for period, amount in row.amounts.items():
                key = (row.source, period)
                planned[key] = planned.get(key, Decimal(0)) + amount
    existing = {
        (b.funding_source, b.period): b
        for b in session.scalars(select(Budget).where(Budget.program_id == program.id))
    }
    for (source, period), amount in sorted(planned.items()):
        line = existing.get((source, period))
        if line is None:
            session.add(
                Budget(program_id=program.id, funding_source=source, period=period, planned=amount)
            )
        else:
            line.planned = amount  # what was executed stays as entered


def load_cards(
    session: Session, paths: Iterable[str | Path], *, actor: str, now: dt.datetime
) -> list[CardLoad]:
    """Load each card (see the module); what was loaded, version by version."""
    loaded = []
    for raw in paths:
        path = Path(raw)
        card = load_card(path)
        digest, document = _digest(path)
        warnings = arithmetic_warnings(card)
        program = _program(session, card)
        latest = session.scalars(
            select(PledgeCardVersion)
            .where(PledgeCardVersion.program_id == program.id)
            .order_by(PledgeCardVersion.version.desc())
        ).first()
        if latest is not None and latest.sha256 == digest:
            loaded.append(CardLoad(card.program_code, latest.version, False, warnings))
            continue
        version = (latest.version if latest else 0) + 1
        session.add(
            PledgeCardVersion(
                program_id=program.id,
                version=version,
                sha256=digest,
                document=document,
                warnings=warnings,
                loaded_by=actor,
                loaded_at=now,
            )
        )
        _indicators(session, program, card)
        _budget(session, program, card)
        session.flush()
        loaded.append(CardLoad(card.program_code, version, True, warnings))
    return loaded


def card_versions(session: Session, program_code: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(PledgeCardVersion)
            .join(PledgeProgram, PledgeProgram.id == PledgeCardVersion.program_id)
            .where(PledgeProgram.code == program_code)
        )
        or 0
    )


__all__ = ["CardLoad", "card_versions", "load_cards"]
