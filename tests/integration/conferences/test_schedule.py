"""The conferences table kept for eight weeks: identity kept through moves and cancels."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from care_models.conferences.schedule import ensure_schedule
from care_models.schema import ClosureDay, Conference, Town

TODAY = dt.date(2026, 12, 1)


def add_towns(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add_all(
            [
                Town(code="JC-01", name="진천읍", kind="eup", latitude=36.85, longitude=127.43),
                Town(
                    code="JC-02",
                    name="덕산읍",
                    kind="eup",
                    latitude=36.89,
                    longitude=127.53,
                    conference_weekday=3,
                ),
            ]
        )


def rows(engine: Engine) -> dict[str, tuple[str, dt.date, int, str, str | None]]:
    with Session(engine) as session:
        return {
            c.slot_key: (c.uid, c.scheduled_on, c.sequence, c.status, c.move_reason)
            for c in session.scalars(select(Conference))
        }


def schedule(engine: Engine, today: dt.date = TODAY) -> dict[str, object]:
    with Session(engine) as session, session.begin():
        return ensure_schedule(session, today).as_dict()


def test_fills_eight_weeks_once_and_keeps_identity_through_a_move(engine: Engine) -> None:
    add_towns(engine)
    first = schedule(engine)
    before = rows(engine)
    # Tuesdays (9) and Thursdays (8) of the two towns, and three tier-2 Thursdays
    assert first["created"] == len(before) == 9 + 8 + 3
    assert schedule(engine) == {
        "created": 0,
        "moved": 0,
        "cancelled": 0,
        "changed_conference_ids": [],
    }
    # 2026-12-24 (tier 2) is a normal Thursday; the county then closes that day
    with Session(engine) as session, session.begin():
        session.add(ClosureDay(day=dt.date(2026, 12, 24), reason="종무식"))
    moved = schedule(engine)
    after = rows(engine)
    assert moved["moved"] == 2 and moved["created"] == 0  # tier 2 and 덕산읍's Thursday
    uid, day, sequence, status, reason = after["t2:2026-12-24"]
    assert uid == before["t2:2026-12-24"][0] and day == dt.date(2026, 12, 28)
    assert (sequence, status) == (1, "scheduled") and reason and "종무식" in reason


def test_a_town_that_changes_its_weekday_cancels_the_old_slots(engine: Engine) -> None:
    add_towns(engine)
    schedule(engine)
    with Session(engine) as session, session.begin():
        session.execute(update(Town).where(Town.code == "JC-01").values(conference_weekday=4))
    changed = schedule(engine)
    after = rows(engine)
    assert changed["cancelled"] == 9 and changed["created"] == 8  # Fridays from Dec 4
    cancelled = [v for k, v in after.items() if k.startswith("t1:JC-01") and v[3] == "cancelled"]
    assert len(cancelled) == 9 and all(v[2] == 1 for v in cancelled)
    assert schedule(engine)["cancelled"] == 0  # once
