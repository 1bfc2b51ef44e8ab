"""Home-visit demand on the synthetic county, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.schema import Client
from care_models.synthetic.county import build_county
from care_models.visits.demand import cadence_windows, expand_demand, outlook
from care_models.visits.supply import check_capacity, coordinators, working_days

START, END = dt.date(2026, 11, 23), dt.date(2026, 12, 6)  # Monday 23 November, two weeks
WEEKS = {
    "2026-W48": (dt.date(2026, 11, 23), dt.date(2026, 11, 29)),
    "2026-W49": (dt.date(2026, 11, 30), dt.date(2026, 12, 6)),
}


def _expected() -> Counter[tuple[str, str]]:
    """The contacts two weeks from 23 November must hold, from the county's own specification."""
    county = build_county()
    tiers = Counter(c.risk_tier for c in county.clients)
    expected: Counter[tuple[str, str]] = Counter()
    # monitoring: at risk a call a week and a visit a month (November and December),
    # caution a call a month, interest one call for November-December, closed one visit
    expected["social_worker", "phone"] = 2 * tiers["at_risk"] + 2 * tiers["caution"]
    expected["social_worker", "phone"] += tiers["interest"]
    expected["social_worker", "visit"] = 2 * tiers["at_risk"] + tiers["closed"]
    skills = {
        "home_nursing": "nurse",
        "discharge_nursing": "nurse",
        "home_doctor": "doctor",
        "escort": "social_worker",
        "rehabilitation": "rehabilitation",
        "nutrition": "nutrition",
    }
    for client in county.clients:
        for service in client.services:
            windows = cadence_windows(
                service.cadence,
                service.contacts_per_period,
                START,
                END,
                start_date=client.case_opened_on,
            )
            expected[skills[service.service_type], service.mode] += len(windows)
    return +expected


@pytest.fixture
def county_demand(county_engine: Engine) -> tuple[Engine, list]:
    with Session(county_engine) as session:
        return county_engine, expand_demand(session, START, END)


def test_two_weeks_give_the_expected_contacts_per_skill(
    county_demand: tuple[Engine, list],
) -> None:
    engine, contacts = county_demand
    per_skill = Counter((c.skill, c.mode) for c in contacts)
    print("\ncontacts per skill and mode, 2026-11-23..2026-12-06:", dict(sorted(per_skill.items())))
    assert per_skill == _expected()
    # plausible for 450 clients, 12 coordinators: most work is monitoring and home nursing
    assert 1000 < len(contacts) < 2500
    assert per_skill["nurse", "visit"] > per_skill["doctor", "visit"] > 0
    assert all(c.fixed_visit_id is None for c in contacts)  # nothing booked in the county yet
    with Session(engine) as session:
        team = coordinators(session, START, END)
    assert len(team) == 12
    for message in check_capacity(contacts, team, working_days(START, END)):
        print("capacity:", message)


def test_every_at_risk_client_has_a_call_each_week(county_demand: tuple[Engine, list]) -> None:
    engine, contacts = county_demand
    with Session(engine) as session:
        at_risk = set(session.scalars(select(Client.code).where(Client.risk_tier == "at_risk")))
    assert len(at_risk) > 50
    calls = {
        (c.client_code, c.key.split(":")[3]): c
        for c in contacts
        if c.service_type == "monitoring" and c.mode == "phone"
    }
    for code in at_risk:
        for week, (monday, sunday) in WEEKS.items():
            call = calls[code, week]
            assert (call.earliest, call.latest) == (monday, sunday)
            assert call.skill == "social_worker" and call.duration_min == 15


def test_keys_are_unique_and_expansion_is_repeatable(county_demand: tuple[Engine, list]) -> None:
    engine, contacts = county_demand
    assert len({c.key for c in contacts}) == len(contacts)
    with Session(engine) as session:
        again = expand_demand(session, START, END)
    assert again == contacts
    assert all(START <= c.earliest <= c.latest <= END for c in contacts)


def test_month_outlook_matches_the_month_expanded(county_engine: Engine) -> None:
    with Session(county_engine) as session:
        counts = outlook(session, dt.date(2026, 12, 1))
        december = expand_demand(session, dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    print("\noutlook December 2026:", counts)
    assert sum(counts.values()) == len(december)
    assert counts["social_worker"] > counts["nurse"] > counts["doctor"] > 0
