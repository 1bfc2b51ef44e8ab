"""The synthetic county's duty roster: an on-duty worker for every weekend and holiday."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.schema import DutyRoster, Staff, StaffLeave
from care_models.workdays import is_business_day


def test_every_weekend_and_holiday_has_an_on_duty_worker_not_on_leave(
    county_engine: Engine,
) -> None:
    with Session(county_engine) as session:
        roster = {d: s for d, s in session.execute(select(DutyRoster.day, DutyRoster.staff_id))}
        roles = {i: r for i, r in session.execute(select(Staff.id, Staff.role))}
        leave = session.execute(
            select(StaffLeave.staff_id, StaffLeave.start_date, StaffLeave.end_date)
        ).all()
    days = [dt.date(2026, 12, 1) + dt.timedelta(days=n) for n in range(120)]
    off = [d for d in days if not is_business_day(d)]
    assert off and all(d in roster for d in off)
    assert not any(d in roster for d in days if is_business_day(d))
    assert {roles[roster[d]] for d in off} == {"social_worker"}
    for day in off:
        assert not any(s == roster[day] and a <= day <= b for s, a, b in leave)
    assert len({roster[d] for d in off}) > 1  # a rotation, not one person every weekend
