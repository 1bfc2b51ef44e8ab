"""Holiday-aware timetables of the care conferences, on the domain's own calendar.

Both compute their runs with :mod:`care_models.conferences.calendar`, the code the
command line (``python -m care_models conferences calendar``) and the workflow's
schedule step use, so the Airflow UI's next run is the conference the county sees:

- :class:`Tier2ConferenceTimetable`: 14:00 Asia/Seoul on the 2nd and 4th Thursday,
  moved to the next business day on a Korean public holiday (substitute and election
  days included);
- :class:`Tier1ConferenceTimetable`: a run at each distinct weekday and time the
  towns meet (``slots``: ``(weekday, "HH:MM")`` pairs, 0 = Monday; by default the
  county default, Tuesday 10:00), moved the same way. A run covers every town whose
  conference starts at its time.

The scheduler does not read the care database, so a county closure day is not seen
here: the workflow's schedule step moves that conference (its slot key is kept) and
the calendar command shows it. Each run is exact (its data interval is the instant
the conference starts). ``next_dagrun_info`` searches forward at most
:data:`SEARCH_DAYS`; it returns None only past ``restriction.latest``: a timetable
that silently stopped scheduling (an Airflow 3.2 bug with custom timetables) is what
the tests guard against.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from care_models.conferences.calendar import (
    TIER1_DEFAULT,
    TownRule,
    conference_slots,
)
from care_models.workdays import SEOUL
from timetables.exact import ExactRunsTimetable

SEARCH_DAYS = 120
WEEKDAYS = ("월", "화", "수", "목", "금", "토", "일")


def _slots_text(slots: tuple[tuple[int, str], ...]) -> str:
    return ", ".join(f"{WEEKDAYS[d]} {t}" for d, t in slots)


class _ConferenceTimetable(ExactRunsTimetable):
    tier: int = 0

    def _towns(self) -> list[TownRule]:
        return []

    def _starts(self, after: dt.datetime) -> list[dt.datetime]:
        start = after.astimezone(SEOUL).date()
        slots = conference_slots(
            start, start + dt.timedelta(days=SEARCH_DAYS), self._towns(), {}, tier=self.tier
        )
        return sorted({s.start_at for s in slots})

    def _next_after(self, after: dt.datetime, *, inclusive: bool) -> dt.datetime | None:
        for start in self._starts(after - dt.timedelta(days=7)):
            if start > after or (inclusive and start == after):
                return start
        return None


class Tier2ConferenceTimetable(_ConferenceTimetable):
    """County-wide tier-2 conferences: 2nd and 4th Thursday 14:00, holiday-aware."""

    tier = 2
    description = (
        "2nd and 4th Thursday of each month, 14:00 Asia/Seoul; on a public holiday "
        "(substitute and election days included) the next business day"
    )

    @property
    def summary(self) -> str:
        return "통합지원회의: 매월 둘째·넷째 목 14:00 (휴일이면 다음 영업일)"

    def serialize(self) -> dict[str, Any]:
        return {}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Tier2ConferenceTimetable:
        return cls()


class Tier1ConferenceTimetable(_ConferenceTimetable):
    """Weekly tier-1 conferences per town, at each weekday and time a town meets."""

    tier = 1

    def __init__(self, slots: tuple[tuple[int, str], ...] | None = None) -> None:
        default = ((TIER1_DEFAULT[0], TIER1_DEFAULT[1].strftime("%H:%M")),)
        self.slots = tuple(sorted({(int(d), str(t)) for d, t in (slots or default)}))
        for weekday, time in self.slots:
            if not 0 <= weekday <= 6:
                raise ValueError("slots: weekday must be 0 (Monday) to 6")
            dt.time.fromisoformat(time)
        self.description = (
            "weekly tier-1 conferences at "
            + ", ".join(f"{d} {t}" for d, t in self.slots)
            + " (0 = Monday), Asia/Seoul; on a public holiday the next business day"
        )

    def _towns(self) -> list[TownRule]:
        return [TownRule(f"slot-{d}-{t}", "", d, dt.time.fromisoformat(t)) for d, t in self.slots]

    @property
    def summary(self) -> str:
        return f"읍·면 사례회의: 매주 {_slots_text(self.slots)} (휴일이면 다음 영업일)"

    def serialize(self) -> dict[str, Any]:
        return {"slots": [list(s) for s in self.slots]}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Tier1ConferenceTimetable:
        return cls(tuple((int(d), str(t)) for d, t in data.get("slots", [])) or None)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tier1ConferenceTimetable) and other.slots == self.slots

    def __hash__(self) -> int:
        return hash(self.slots)
