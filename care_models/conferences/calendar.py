"""When community care conferences happen: tier 1 weekly per town, tier 2 twice a month.

- **Tier 1** (읍·면 사례회의): every week, per town, on the town's own weekday and
  time (``towns.conference_weekday``, ``conference_time``; a town without them takes
  :data:`TIER1_DEFAULT`: Tuesday 10:00).
- **Tier 2** (군 통합지원회의): county-wide, 14:00 on the 2nd and 4th Thursday of the
  month.
- **Holidays:** a conference whose day is not a business day (a Korean public holiday
  from ``holidays``, substitute and election days included, a weekend, or a closure
  day the county records in ``closure_days``) moves to the next business day. It
  keeps its identity: the slot key comes from the *rule date* (the day the rule
  gives), so a moved conference is the same conference, and the move records why.

All times are Asia/Seoul. The same functions serve the command line
(``python -m care_models conferences calendar``), the workflow's schedule step and the
Airflow timetables, so the three never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.errors import ValidationError
from care_models.schema import ClosureDay, Town
from care_models.workdays import SEOUL, korean_holidays

TIER1_DEFAULT = (1, dt.time(10, 0))  # Tuesday 10:00
TIER2_WEEKDAY, TIER2_WEEKS, TIER2_TIME = 3, (2, 4), dt.time(14, 0)  # Thursday, 2nd and 4th
MAX_RANGE_DAYS = 3 * 366


@dataclass(frozen=True)
class TownRule:
    code: str
    name: str
    weekday: int  # 0 = Monday
    time: dt.time


@dataclass(frozen=True)
class ConferenceSlot:
    """One conference: its stable slot key, the rule's date, and the day it is held."""

    tier: int
    town_code: str | None  # None: county-wide (tier 2)
    rule_date: dt.date
    date: dt.date
    start: dt.time
    move_reason: str | None  # why ``date`` is not ``rule_date``

    @property
    def slot_key(self) -> str:
        where = f"{self.town_code}:" if self.town_code else ""
        return f"t{self.tier}:{where}{self.rule_date.isoformat()}"

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.date, self.start, tzinfo=SEOUL)

    def as_dict(self) -> dict[str, object]:
        return {
            "slot_key": self.slot_key,
            "tier": self.tier,
            "town": self.town_code,
            "date": self.date.isoformat(),
            "start": self.start.strftime("%H:%M"),
            "weekday": self.date.strftime("%a"),
            "moved_from": self.rule_date.isoformat() if self.move_reason else None,
            "move_reason": self.move_reason,
        }


def _closed_reason(day: dt.date, closures: Mapping[dt.date, str]) -> str | None:
    """Why ``day`` is no business day for the county, or None when it is one."""
    holiday = korean_holidays(day.year).get(day)
    if holiday:
        return holiday
    if day in closures:
        return f"군 휴무일: {closures[day]}"
    if day.weekday() >= 5:
        return "주말"
    return None


def held_on(rule_date: dt.date, closures: Mapping[dt.date, str]) -> tuple[dt.date, str | None]:
    """The day a conference of ``rule_date`` is held, and why it moved (None if it did not)."""
    first_reason = _closed_reason(rule_date, closures)
    day = rule_date
    while _closed_reason(day, closures) is not None:
        day += dt.timedelta(days=1)
    return day, first_reason


def _days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def tier2_rule_dates(start: dt.date, end: dt.date) -> list[dt.date]:
    """The 2nd and 4th Thursdays between ``start`` and ``end``."""
    return [
        d
        for d in _days(start, end)
        if d.weekday() == TIER2_WEEKDAY and (d.day - 1) // 7 + 1 in TIER2_WEEKS
    ]


def conference_slots(
    start: dt.date,
    end: dt.date,
    towns: list[TownRule],
    closures: Mapping[dt.date, str] | None = None,
    *,
    tier: int | None = None,
    town: str | None = None,
) -> list[ConferenceSlot]:
    """Every conference whose *rule date* falls in ``[start, end]``, by start time.

    ``closures`` maps the county's closure days to their reason (no database needed);
    ``tier`` and ``town`` filter (a town filter leaves tier 2 out).
    """
    if end < start:
        raise ValidationError("to", "must not be before from")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValidationError("to", f"the range may span at most {MAX_RANGE_DAYS} days")
    if tier not in (None, 1, 2):
        raise ValidationError("tier", "must be 1 or 2")
    closed = dict(closures or {})
    slots: list[ConferenceSlot] = []
    if tier in (None, 1):
        for rule in towns:
            if town is not None and rule.code != town:
                continue
            for day in _days(start, end):
                if day.weekday() == rule.weekday:
                    held, reason = held_on(day, closed)
                    slots.append(ConferenceSlot(1, rule.code, day, held, rule.time, reason))
    if tier in (None, 2) and town is None:
        for day in tier2_rule_dates(start, end):
            held, reason = held_on(day, closed)
            slots.append(ConferenceSlot(2, None, day, held, TIER2_TIME, reason))
    return sorted(slots, key=lambda s: (s.start_at, s.tier, s.town_code or ""))


def town_rules(session: Session) -> list[TownRule]:
    """Each town's tier-1 weekday and time (the default where the town has none)."""
    rules = []
    for row in session.scalars(select(Town).order_by(Town.code)):
        weekday = row.conference_weekday
        if weekday is None and row.conference_time is not None:
            raise ValidationError(
                f"town {row.code}", "conference_weekday: a town with its own time needs its weekday"
            )
        if weekday is not None and not 0 <= weekday <= 4:
            raise ValidationError(
                f"town {row.code}", "conference_weekday: must be Monday to Friday (0-4)"
            )
        rules.append(
            TownRule(
                row.code,
                row.name,
                TIER1_DEFAULT[0] if weekday is None else weekday,
                row.conference_time or TIER1_DEFAULT[1],
            )
        )
    return rules


def closure_days(session: Session) -> dict[dt.date, str]:
    """The county's recorded closure days and their reasons."""
    return {
        day: reason for day, reason in session.execute(select(ClosureDay.day, ClosureDay.reason))
    }


__all__ = [
    "TIER1_DEFAULT",
    "ConferenceSlot",
    "TownRule",
    "closure_days",
    "conference_slots",
    "held_on",
    "tier2_rule_dates",
    "town_rules",
]
