"""The what-if solve: one more coordinator of the short skill, routed for real."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from care_models.db import session_factory
from care_models.visits.capacity import capacity_report
from care_models.visits.model import Plan
from care_models.visits.planning import partitions, plan_from_rows
from care_models.visits.workflow import SECONDS_PER_PROBLEM, load_inputs, solve_job, travel_model

MONDAY = dt.date(2026, 12, 7)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_one_more_coordinator_of_the_short_skill_plans_contacts_left_over(
    county_engine: Engine,
) -> None:
    factory = session_factory(county_engine)
    last = MONDAY + dt.timedelta(days=13)
    inputs = load_inputs(factory, MONDAY, last)
    towns, nobody = partitions(inputs.contacts, inputs.staff)
    plan = Plan(MONDAY, last, [], list(nobody))
    for town in towns:
        job = {"horizon": [MONDAY.isoformat(), last.isoformat()], "town": town}
        solved = plan_from_rows(solve_job(factory, job, MONDAY))
        plan.stops += solved.stops
        plan.unplanned += solved.unplanned
    report = capacity_report(
        plan,
        inputs.contacts,
        inputs.staff,
        travel=travel_model(factory),
        seconds_per_problem=SECONDS_PER_PROBLEM,
    )
    assert report.short, "the synthetic county is short somewhere"
    worst = report.short[0]
    assert all(worst.short_min >= line.short_min for line in report.lines)
    what_if = report.what_if
    assert what_if is not None and (what_if.town, what_if.skill) == (worst.town, worst.skill)
    assert what_if.unplanned_before >= worst.unplanned
    assert 0 < what_if.covered <= what_if.unplanned_before  # a real solve placed some
    summary = report.summary()
    assert summary["what_if"]["unplanned_after"] == what_if.unplanned_after
    assert {"town", "skill", "week", "short_hours"} <= set(summary["short"][0])
