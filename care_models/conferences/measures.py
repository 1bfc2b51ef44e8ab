"""The measures the county reports on its conferences, per conference and per year.

Each figure is one query in ``sql/conferences/`` (SQLite and PostgreSQL alike) over a
half-open period of dates ``[start, end)``:

- needs, decisions and the decision rate, overall and per need category (and per
  conference): a need of a case discussed at a held conference counts once per
  conference; it is decided by any decision but ``defer``;
- service linkages per target group (the client's household type): people and
  linkages;
- conferences held, moved off their rule's day, and cancelled, per tier;
- attendance per discipline: seats and seats attended.

The pledge report reads these (``sql/pledges/`` binds them by name).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from care_models.queries import load_query
from care_models.vocab import NEED_CATEGORIES


def rate(decided: int, needs: int) -> float | None:
    """A percentage with one decimal, as the seeds print it; None without needs."""
    return round(100 * decided / needs, 1) if needs else None


@dataclass
class ConferenceMeasures:
    period: tuple[str, str]
    needs: int = 0
    decided: int = 0
    by_category: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_conference: dict[int, dict[str, int]] = field(default_factory=dict)
    linkages: list[dict[str, Any]] = field(default_factory=list)
    conferences: list[dict[str, Any]] = field(default_factory=list)
    attendance: list[dict[str, Any]] = field(default_factory=list)

    @property
    def decision_rate(self) -> float | None:
        return rate(self.decided, self.needs)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "decision_rate": self.decision_rate}


def conference_measures(session: Session, start: dt.date, end: dt.date) -> ConferenceMeasures:
    params = {"period_start": start, "period_end": end}
    result = ConferenceMeasures((start.isoformat(), end.isoformat()))
    totals = {category: [0, 0] for category in NEED_CATEGORIES}
    for conference_id, _tier, category, needs, decided in session.execute(
        load_query("conferences/count_needs_and_decisions"), params
    ):
        needs, decided = int(needs), int(decided or 0)
        totals.setdefault(category, [0, 0])
        totals[category][0] += needs
        totals[category][1] += decided
        per = result.by_conference.setdefault(int(conference_id), {"needs": 0, "decided": 0})
        per["needs"] += needs
        per["decided"] += decided
    result.by_category = {
        category: {"needs": n, "decided": d, "rate": rate(d, n)}
        for category, (n, d) in totals.items()
    }
    result.needs = sum(n for n, _ in totals.values())
    result.decided = sum(d for _, d in totals.values())
    for name, target in (
        ("count_service_linkages_by_target_group", result.linkages),
        ("count_conferences_by_state", result.conferences),
        ("count_attendance_by_discipline", result.attendance),
    ):
        target.extend(
            {
                k: (int(v) if isinstance(v, int | float) and not isinstance(v, bool) else v)
                for k, v in row._mapping.items()
            }
            for row in session.execute(load_query(f"conferences/{name}"), params)
        )
    return result


__all__ = ["ConferenceMeasures", "conference_measures", "rate"]
