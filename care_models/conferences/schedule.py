"""Keep the conferences table filled for the next weeks, each conference one row for life.

:func:`ensure_schedule` computes the conferences whose rule date falls in the next
``weeks`` weeks (:mod:`care_models.conferences.calendar`, with the county's closure
days) and reconciles the table with them, idempotently:

- a new slot becomes a row with a stable UID (``<slot key>@conferences.care``): the
  invitation's identity, which RFC 5546 requires to stay the same when it changes;
- a conference whose day or time changed (a closure day recorded after it was
  scheduled, a town that changed its time) keeps its row and UID, with ``sequence``
  raised (invitations are sent again) and the reason of the move kept;
- a scheduled conference in the window whose slot no longer exists (a town moved
  its weekday) is cancelled, with ``sequence`` raised and the reason kept;
- conferences already held or cancelled are never touched.

A second call with the same inputs changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.conferences.calendar import (
    ConferenceSlot,
    closure_days,
    conference_slots,
    town_rules,
)
from care_models.schema import Conference, Town

UID_DOMAIN = "conferences.care"
TOWN_CHANGED = "the town's conference weekday changed"


@dataclass
class ScheduleResult:
    created: list[int] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)

    @property
    def changed(self) -> list[int]:
        """Conferences whose invitations must go out (again)."""
        return sorted(self.created + self.moved + self.cancelled)

    def as_dict(self) -> dict[str, object]:
        return {
            "created": len(self.created),
            "moved": len(self.moved),
            "cancelled": len(self.cancelled),
            "changed_conference_ids": self.changed,
        }


def _utc(slot: ConferenceSlot) -> dt.datetime:
    return slot.start_at.astimezone(dt.UTC)


def _same_time(row: Conference, slot: ConferenceSlot) -> bool:
    if row.starts_at is None:
        return False
    stamp = row.starts_at if row.starts_at.tzinfo else row.starts_at.replace(tzinfo=dt.UTC)
    return row.scheduled_on == slot.date and stamp == _utc(slot)


def ensure_schedule(session: Session, today: dt.date, weeks: int = 8) -> ScheduleResult:
    """Reconcile the conferences of the next ``weeks`` weeks from ``today`` (see module)."""
    end = today + dt.timedelta(weeks=weeks)
    slots = conference_slots(today, end, town_rules(session), closure_days(session))
    town_ids = {code: tid for code, tid in session.execute(select(Town.code, Town.id))}
    existing = {
        row.slot_key: row
        for row in session.scalars(
            select(Conference).where(Conference.rule_date >= today, Conference.rule_date <= end)
        )
    }
    result = ScheduleResult()
    for slot in slots:
        row = existing.pop(slot.slot_key, None)
        if row is None:
            row = Conference(
                tier=slot.tier,
                town_id=town_ids[slot.town_code] if slot.town_code else None,
                scheduled_on=slot.date,
                starts_at=_utc(slot),
                slot_key=slot.slot_key,
                rule_date=slot.rule_date,
                uid=f"{slot.slot_key}@{UID_DOMAIN}",
                sequence=0,
                move_reason=slot.move_reason,
            )
            session.add(row)
            session.flush()
            result.created.append(row.id)
        elif row.status == "scheduled" and not _same_time(row, slot):
            row.scheduled_on, row.starts_at = slot.date, _utc(slot)
            row.move_reason = slot.move_reason or "the conference's time changed"
            row.sequence += 1
            result.moved.append(row.id)
    for row in existing.values():  # slots that no longer exist
        if row.status == "scheduled" and row.scheduled_on >= today:
            row.status, row.cancel_reason = "cancelled", TOWN_CHANGED
            row.sequence += 1
            result.cancelled.append(row.id)
    session.flush()
    return result


__all__ = ["ScheduleResult", "ensure_schedule"]
