"""The visits a county already made in its current due windows (the demo's history)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.schema import Visit
from care_models.synthetic.visit_history import LOOKBACK_DAYS, record_visit_history
from care_models.visits.demand import ROUTINE, expand_demand
from care_models.visits.supply import working_days
from care_models.workdays import is_business_day

TODAY = dt.date(2026, 12, 3)  # a Thursday: part of each window is past
HORIZON = (dt.date(2026, 12, 7), dt.date(2026, 12, 18))  # the next two weeks' plan


def test_current_windows_are_part_done_and_the_next_plan_is_left_the_rest(
    county_engine: Engine,
) -> None:
    with Session(county_engine) as session:
        current = {
            c.key: c
            for c in expand_demand(session, TODAY - dt.timedelta(days=LOOKBACK_DAYS), TODAY)
            if c.priority >= ROUTINE
            and c.fixed_visit_id is None
            and (c.due_by or c.latest) >= TODAY
        }
        due_before = {c.key for c in expand_demand(session, *HORIZON)}
        added = record_visit_history(session, TODAY, seed=3)
        session.commit()
        assert record_visit_history(session, TODAY, seed=3) == 0  # recorded once
        done = session.scalars(select(Visit).where(Visit.natural_key.startswith("history:"))).all()
        due_after = {c.key for c in expand_demand(session, *HORIZON)}

    assert added == len(done) > 0
    by_share: dict[bool, list[bool]] = defaultdict(list)
    for visit in done:
        contact = current[visit.natural_key.removeprefix("history:")]
        assert (visit.status, visit.source, visit.client_id) == (
            "done",
            "manual",
            contact.client_id,
        )
        assert (visit.service_type, visit.mode) == (contact.service_type, contact.mode)
        assert contact.earliest <= visit.visit_date < TODAY and is_business_day(visit.visit_date)
        assert visit.staff_id is not None
    done_keys = {v.natural_key.removeprefix("history:") for v in done}
    for key, contact in current.items():
        window = working_days(contact.earliest, contact.due_by or contact.latest)
        share = sum(d < TODAY for d in window) / len(window)
        if share == 0:
            assert key not in done_keys  # nothing of it is past yet
        by_share[share >= 0.5].append(key in done_keys)
    # mostly past windows are mostly done, mostly future ones mostly not
    assert sum(by_share[True]) / len(by_share[True]) > 0.5
    assert sum(by_share[False]) / len(by_share[False]) < 0.5
    # the next plan no longer asks for a contact already made, and asks for the rest
    assert due_after <= due_before
    assert due_before - due_after <= done_keys
    assert due_before - due_after, "some contacts due in the horizon were made already"


def test_the_same_seed_makes_the_same_history(county_engine: Engine) -> None:
    with Session(county_engine) as session:
        record_visit_history(session, TODAY, seed=5)
        first = session.execute(
            select(Visit.natural_key, Visit.visit_date, Visit.staff_id).order_by(Visit.natural_key)
        ).all()
        session.rollback()
        record_visit_history(session, TODAY, seed=5)
        again = session.execute(
            select(Visit.natural_key, Visit.visit_date, Visit.staff_id).order_by(Visit.natural_key)
        ).all()
    assert first == again and first
