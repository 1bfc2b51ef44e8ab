"""The device-alert measures for the pledge report, for any period (a month by default).

Each figure is one query in ``sql/alerts/`` (run on SQLite and PostgreSQL alike);
the period is half-open, ``[start, end)``, in UTC instants, from Asia/Seoul dates:

- alerts by kind and vendor (and how many were suppressed);
- incidents opened and closed, and incidents that reached each protocol step;
- the median minutes from an incident's opening to the person reached or found;
- emergency calls (SOS word, emergency button, fire, gas) and those passed to 119;
- households monitored per device type at the period's end.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import DateTime, TextClause, bindparam
from sqlalchemy.orm import Session

from care_models.queries import load_query
from care_models.workdays import SEOUL

INSTANTS = ("period_start", "period_end")


def _query(name: str) -> TextClause:
    """The query with its instants typed, so SQLite compares them as it stores them."""
    clause = load_query(name)
    typed = [
        bindparam(n, type_=DateTime(timezone=True))
        for n in INSTANTS
        if re.search(rf":{n}\b", clause.text)
    ]
    return clause.bindparams(*typed) if typed else clause


@dataclass
class AlertMeasures:
    period: tuple[str, str]  # Asia/Seoul dates, end exclusive
    alerts: list[dict[str, Any]] = field(default_factory=list)
    incidents_opened: int = 0
    incidents_closed: int = 0
    incidents_by_step: dict[str, int] = field(default_factory=dict)
    median_minutes_to_reach: float | None = None
    reached: int = 0
    emergency_calls: int = 0
    passed_to_119: int = 0
    households_by_device_type: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _instant(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=SEOUL).astimezone(dt.UTC)


def _aware(stamp: Any) -> dt.datetime:
    if isinstance(stamp, str):  # SQLite through text(): ISO text
        stamp = dt.datetime.fromisoformat(stamp)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def month(year: int, number: int) -> tuple[dt.date, dt.date]:
    """The Asia/Seoul dates ``[first of the month, first of the next)``."""
    start = dt.date(year, number, 1)
    end = dt.date(year + (number == 12), number % 12 + 1, 1)
    return start, end


def alert_measures(session: Session, start: dt.date, end: dt.date) -> AlertMeasures:
    """Every measure for the Seoul dates ``[start, end)``."""
    params = {"period_start": _instant(start), "period_end": _instant(end), "period_end_date": end}
    result = AlertMeasures((start.isoformat(), end.isoformat()))
    result.alerts = [
        dict(row._mapping)
        for row in session.execute(_query("alerts/count_alerts_by_kind_and_vendor"), params)
    ]
    opened, closed = session.execute(
        load_query("alerts/count_incidents_opened_and_closed"), params
    ).one()
    result.incidents_opened, result.incidents_closed = int(opened or 0), int(closed or 0)
    result.incidents_by_step = {
        step: int(n)
        for step, n in session.execute(_query("alerts/count_incidents_by_step"), params)
    }
    minutes = [
        (_aware(closed_at) - _aware(opened_at)).total_seconds() / 60
        for _id, opened_at, closed_at in session.execute(
            load_query("alerts/select_minutes_to_reach"), params
        )
    ]
    result.reached = len(minutes)
    result.median_minutes_to_reach = round(statistics.median(minutes), 1) if minutes else None
    calls, to_119 = session.execute(_query("alerts/count_sos_and_passed_to_119"), params).one()
    result.emergency_calls, result.passed_to_119 = int(calls or 0), int(to_119 or 0)
    result.households_by_device_type = {
        kind: int(n)
        for kind, n in session.execute(_query("alerts/count_households_by_device_type"), params)
    }
    return result


def monthly_measures(session: Session, year: int, number: int) -> AlertMeasures:
    """Every measure for one Asia/Seoul calendar month (``number`` 1 to 12)."""
    return alert_measures(session, *month(year, number))


__all__ = ["AlertMeasures", "alert_measures", "month", "monthly_measures"]
