"""Plan gate checks, partitions, XCom rows and idempotent recording of a plan."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.schema import UnplannedContact, Visit, VisitPlan
from care_models.visits.checks import check_plan
from care_models.visits.demand import expand_demand
from care_models.visits.model import Plan, PlannedStop, Unplanned
from care_models.visits.planning import partitions, plan_from_rows, plan_to_rows, stored_plan
from care_models.visits.record import input_hash, record_plan
from care_models.visits.supply import coordinators

MONDAY = dt.date(2026, 11, 23)


def _small_plan(engine: Engine) -> tuple[Plan, list, list]:  # type: ignore[type-arg]
    with Session(engine) as session:
        contacts = expand_demand(session, MONDAY, MONDAY + dt.timedelta(days=13))
        staff = coordinators(session, MONDAY, MONDAY + dt.timedelta(days=13))
    nurse = next(c for c in staff if "nurse" in c.skills and c.works_on(MONDAY + dt.timedelta(1)))
    day = MONDAY + dt.timedelta(days=1)
    chosen = [
        c
        for c in contacts
        if c.skill == "nurse"
        and c.mode == "visit"
        and c.earliest <= day <= c.latest
        and c.window_start is None
    ][:3]
    stops = [
        PlannedStop(
            c.key,
            c.client_id,
            c.client_code,
            nurse.code,
            day,
            dt.time(9 + 2 * i, 0),
            c.duration_min,
            i + 1,
            20,
            8.5,
            c.service_type,
            c.mode,
            c.purpose,
        )
        for i, c in enumerate(chosen)
    ]
    leftover = contacts[-1]
    plan = Plan(
        MONDAY,
        MONDAY + dt.timedelta(days=13),
        stops,
        [Unplanned(leftover.key, leftover.client_code, leftover.service_type, "test")],
    )
    return plan, [*chosen, leftover], staff


def test_a_correct_plan_passes_and_broken_ones_are_named(county_engine: Engine) -> None:
    plan, contacts, staff = _small_plan(county_engine)
    assert check_plan(plan, contacts, staff) == []
    first = plan.stops[0]
    overlapping = dataclasses.replace(plan.stops[1], start=first.start)
    late = dataclasses.replace(plan.stops[2], start=dt.time(17, 45))
    broken = Plan(plan.horizon_start, plan.horizon_end, [first, overlapping, late], [])
    problems = check_plan(broken, contacts, staff)
    assert any("overlaps" in p for p in problems)
    assert any("outside working hours" in p for p in problems)
    assert any("neither planned nor listed as unplanned" in p for p in problems)


def test_the_doctor_serves_every_town_from_one_partition(county_engine: Engine) -> None:
    with Session(county_engine) as session:
        contacts = expand_demand(session, MONDAY, MONDAY + dt.timedelta(days=13))
        staff = coordinators(session, MONDAY, MONDAY + dt.timedelta(days=13))
    parts, nobody = partitions(contacts, staff)
    doctor_towns = {
        town for town, items in parts.items() if any(c.skill == "doctor" for c in items)
    }
    assert len(doctor_towns) == 1
    assert sum(len(v) for v in parts.values()) + len(nobody) == len(contacts)


def test_plans_travel_through_xcom_rows_unchanged(county_engine: Engine) -> None:
    plan, _, _ = _small_plan(county_engine)
    assert plan_from_rows(plan_to_rows(plan)) == plan


def test_recording_the_same_plan_twice_writes_once(county_engine: Engine) -> None:
    plan, contacts, staff = _small_plan(county_engine)
    digest = input_hash(contacts, staff)
    with Session(county_engine) as session, session.begin():
        row, written = record_plan(session, plan, contacts, digest)
        assert written
        row_id = row.id
    with Session(county_engine) as session, session.begin():
        again, written = record_plan(session, plan, contacts, digest)
        assert not written and again.id == row_id
        assert stored_plan(again) == plan
        visits = session.scalars(select(Visit).where(Visit.visit_plan_id == row_id)).all()
        assert sorted(v.natural_key for v in visits) == sorted(s.contact_key for s in plan.stops)
        assert len(session.scalars(select(UnplannedContact)).all()) == 1


def test_a_new_revision_moves_and_cancels_planned_visits(county_engine: Engine) -> None:
    plan, contacts, staff = _small_plan(county_engine)
    with Session(county_engine) as session, session.begin():
        record_plan(session, plan, contacts, input_hash(contacts, staff))
    moved = dataclasses.replace(plan.stops[0], start=dt.time(14, 0))
    revised = Plan(plan.horizon_start, plan.horizon_end, [moved], plan.unplanned)
    with Session(county_engine) as session, session.begin():
        row, written = record_plan(session, revised, contacts, "another-input")
        assert written and row.revision == 2
        row_id = row.id
    with Session(county_engine) as session:
        by_key = {v.natural_key: v for v in session.scalars(select(Visit))}
        assert by_key[moved.contact_key].visit_plan_id == row_id
        assert {by_key[s.contact_key].status for s in plan.stops[1:]} == {"cancelled"}
        assert len(session.scalars(select(VisitPlan)).all()) == 2
