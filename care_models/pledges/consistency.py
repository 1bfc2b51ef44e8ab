"""일치도: each card's current version against its first published version.

A card keeps every version it was loaded in (``pledge_card_versions``). The changes
that matter to the Manifesto evaluation are listed, each naming what changed with the
first and the current value:

- the term (start, end);
- each indicator's overall target and its target per period (added, removed, changed);
- each budget cell (funding source and period, per table) and the card's total.

A program whose current version changes none of these is consistent; 일치도 is the
consistent programs over all programs, a percentage with one decimal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.pledges.actuals import one_decimal
from care_models.schema import PledgeCardVersion, PledgeProgram


@dataclass
class CardChanges:
    program_code: str
    first_version: int
    current_version: int
    changes: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.changes


def _targets(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for indicator in document.get("indicators", []):
        code = indicator.get("code")
        found[f"indicator {code}, overall target"] = indicator.get("overall_target")
        for period, target in (indicator.get("targets") or {}).items():
            found[f"indicator {code}, target {period}"] = target
    return found


def _budget(document: dict[str, Any]) -> dict[str, Any]:
    budget = document.get("budget") or {}
    found: dict[str, Any] = {"budget total": (budget.get("total") or {}).get("amount")}
    for index, table in enumerate(budget.get("tables", []), start=1):
        for row in table.get("rows", []):
            source = row.get("source") or row.get("label")
            for period, amount in (row.get("amounts") or {}).items():
                found[f"budget table {index}, {source}, {period}"] = amount
    return found


def _term(document: dict[str, Any]) -> dict[str, Any]:
    term = document.get("term") or {}
    return {"term start": term.get("start"), "term end": term.get("end")}


def _differences(first: dict[str, Any], current: dict[str, Any]) -> list[str]:
    changes = []
    for key in sorted(set(first) | set(current)):
        before, after = first.get(key), current.get(key)
        if before is None and after is None:
            continue
        if before is None:
            changes.append(f"{key}: added ({after})")
        elif after is None:
            changes.append(f"{key}: removed (was {before})")
        elif str(before) != str(after):
            changes.append(f"{key}: {before} -> {after}")
    return changes


def card_changes(session: Session, program_code: str) -> CardChanges | None:
    versions = session.scalars(
        select(PledgeCardVersion)
        .join(PledgeProgram, PledgeProgram.id == PledgeCardVersion.program_id)
        .where(PledgeProgram.code == program_code)
        .order_by(PledgeCardVersion.version)
    ).all()
    if not versions:
        return None
    first, current = versions[0].document, versions[-1].document
    result = CardChanges(program_code, versions[0].version, versions[-1].version)
    for part in (_term, _targets, _budget):
        result.changes.extend(_differences(part(first), part(current)))
    return result


def consistency(session: Session) -> tuple[Decimal | None, list[CardChanges]]:
    """(일치도 as a percentage with one decimal, each program's changes)."""
    codes = session.scalars(select(PledgeProgram.code).order_by(PledgeProgram.code)).all()
    found = [c for c in (card_changes(session, code) for code in codes) if c is not None]
    if not found:
        return None, []
    share = Decimal(100) * sum(1 for c in found if c.consistent) / len(found)
    return one_decimal(share), found


__all__ = ["CardChanges", "card_changes", "consistency"]
