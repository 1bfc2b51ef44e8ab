"""A routing job loads only its team's share of the demand, and exactly that share.

Each mapped solve used to expand the whole county's demand and fingerprint it; in a
county of 100,000 clients that cost seconds per job and the partitioning alone
minutes. A job now reads only the towns and skills its team may serve
(:class:`care_models.visits.served.ServedBy`): this checks, on the synthetic county
and on both databases, that it finds the very contacts the whole county's partition
gives that team, with towns in one team each and with towns split into teams.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from care_models.db import session_factory
from care_models.visits import planning
from care_models.visits.planning import team, team_partitions
from care_models.visits.workflow import load_inputs

MONDAY = dt.date(2026, 12, 7)


@pytest.mark.parametrize("team_size", [24, 2])
def test_each_job_finds_exactly_its_share_of_the_county(
    county_engine: Engine, monkeypatch: pytest.MonkeyPatch, team_size: int
) -> None:
    monkeypatch.setattr(planning, "TEAM_SIZE", team_size)
    factory = session_factory(county_engine)
    last = MONDAY + dt.timedelta(days=13)
    whole = load_inputs(factory, MONDAY, last)
    teams, _ = team_partitions(whole.contacts, whole.staff)
    assert sum(map(len, teams.values())) > 100
    if team_size == 2:
        assert any(planning.TEAM_MARK in key for key in teams), "some town is split"
    for key, mine in teams.items():
        share = load_inputs(factory, MONDAY, last, key)
        assert len(share.contacts) < len(whole.contacts)
        assert team_partitions(share.contacts, share.staff)[0].get(key) == mine, key
        assert team(share.staff, key) == team(whole.staff, key)
