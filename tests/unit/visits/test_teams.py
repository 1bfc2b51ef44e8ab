"""Routing teams: a big town is split into jobs of at most TEAM_SIZE coordinators."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from care_models.visits.model import Coordinator, DueContact, Place
from care_models.visits.planning import TEAM_SIZE, team, team_partitions, town_teams

OFFICE = Place(36.8553, 127.4356)
DAY = dt.date(2026, 11, 2)


def staff(town: str, count: int, first: int = 1) -> list[Coordinator]:
    """Nurses and social workers in turn; the first nurse also does rehabilitation."""
    people = []
    for n in range(first, first + count):
        role = "nurse" if n % 2 else "social_worker"
        skills = {role} | ({"rehabilitation"} if n == first else set())
        people.append(
            Coordinator(
                staff_id=n,
                code=f"S{n:04d}",
                role=role,
                skills=frozenset(skills),
                town_code=town,
                office=OFFICE,
                work_start=dt.time(9),
                work_end=dt.time(18),
                lunch_start=dt.time(12),
                lunch_end=dt.time(13),
                max_visits_per_day=8,
                days_off=frozenset(),
            )
        )
    return people


def contact(n: int, town: str, skill: str, usual: str | None = None, client: int = 0) -> DueContact:
    code = f"C{client or n:05d}"
    return DueContact(
        key=f"{code}:{skill}:{n}",
        client_id=client or n,
        client_code=code,
        town_code=town,
        place=OFFICE,
        service_type="home_nursing",
        mode="visit",
        skill=skill,
        duration_min=40,
        earliest=DAY,
        latest=DAY,
        purpose="test",
        usual_staff_code=usual,
    )


def test_a_town_within_the_team_size_is_one_job_under_its_own_code() -> None:
    people = staff("A", TEAM_SIZE)
    contacts = [contact(n, "A", "nurse") for n in range(1, 30)]
    by_team, nobody = team_partitions(contacts, people)
    assert list(by_team) == ["A"] and by_team["A"] == contacts and not nobody
    assert team(people, "A") == people


def test_a_big_town_is_dealt_into_teams_with_a_share_of_every_role() -> None:
    people = staff("A", 2 * TEAM_SIZE + 5) + staff("B", 3, first=900)
    teams = town_teams(people, "A")
    assert len(teams) == 3
    assert all(len(members) <= TEAM_SIZE for members in teams)
    assert sorted(c.code for members in teams for c in members) == sorted(
        c.code for c in people if c.town_code == "A"
    )
    for members in teams:
        roles = Counter(c.role for c in members)
        assert roles["nurse"] >= 8 and roles["social_worker"] >= 8
    assert [team(people, f"A/{k}") for k in (1, 2, 3)] == teams
    assert team(people, "A/4") == []


def test_contacts_follow_their_usual_coordinator_or_stay_with_their_client() -> None:
    people = staff("A", 2 * TEAM_SIZE + 5)
    usual = people[10]
    mine = contact(1, "A", "nurse" if usual.role == "nurse" else "social_worker", usual.code)
    same_client = [contact(100 + n, "A", "nurse", client=77) for n in range(5)]
    rehab = contact(2, "A", "rehabilitation")
    others = [contact(n, "A", "social_worker") for n in range(200, 260)]
    by_team, _ = team_partitions([mine, *same_client, rehab, *others], people)

    def home(c: DueContact) -> str:
        return next(key for key, contacts in by_team.items() if c in contacts)

    assert usual in team(people, home(mine))
    assert len({home(c) for c in same_client}) == 1
    assert any("rehabilitation" in c.skills for c in team(people, home(rehab)))
    assert len({home(c) for c in others}) == 3  # spread over the teams, not piled on one
    assert sum(len(v) for v in by_team.values()) == 2 + len(same_client) + len(others)
    # the same input gives the same teams (a replan finds each contact where it was)
    assert team_partitions([mine, *same_client, rehab, *others], people)[0] == by_team
