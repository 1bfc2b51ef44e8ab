"""Orchestration of home-visit planning, shared by the DAG, the demo and the benchmark.

- :func:`partitions` splits demand into independent problems, one per serving town
  team: a contact goes to its own town's team when someone there has the skill,
  otherwise to the nearest town whose team has it (the county's one doctor serves
  every town). No coordinator appears in two partitions, so partitions can be
  solved in parallel without double-booking anyone.
- :func:`team_partitions` splits a big town further, into routing teams of at most
  :data:`TEAM_SIZE` coordinators (one job each): repair tries a contact that finds
  no room with every coordinator and day of its job, so a job's work grows with the
  square of its size, and one big job would be the floor of any number of workers.
  A contact goes to the team of its usual coordinator (continuity), else to one of
  the teams with its skill, chosen by its client (all of a client's contacts stay
  together, and the same client lands in the same team on every run).
- :func:`plan_to_rows` / :func:`plan_from_rows` move a plan through XCom as plain
  dicts (codes, dates and times only: no personal data).
- :func:`stored_plan` rebuilds a recorded plan, so a re-run with the same inputs
  publishes the same plan instead of solving again; :func:`restrict` cuts it down to
  one town team for a replan, and :func:`route_changes` names the (coordinator, day)
  routes a new revision changed, the ones to tell.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from care_models.schema import VisitPlan
from care_models.visits.model import Coordinator, DueContact, Plan, PlannedStop, Unplanned
from care_models.visits.served import ServedBy


def _distance(a: Coordinator, town_place: tuple[float, float]) -> float:
    return (a.office.latitude - town_place[0]) ** 2 + (a.office.longitude - town_place[1]) ** 2


class ServingTowns:
    """Which town's team serves a contact, for many contacts against one staff list.

    A contact goes to its own town when someone there has the skill, otherwise to
    the town of the nearest coordinator with it (the lowest code on a tie). Built
    once per staff list: per skill, the towns that have it and, per office, the
    lowest code among its coordinators with it (one office stands for them all).
    """

    def __init__(self, coordinators: Iterable[Coordinator]) -> None:
        self.towns: dict[str, set[str]] = defaultdict(set)
        offices: dict[str, dict[tuple[float, float], Coordinator]] = defaultdict(dict)
        for c in coordinators:
            for skill in c.skills:
                self.towns[skill].add(c.town_code)
                at = (c.office.latitude, c.office.longitude)
                known = offices[skill].get(at)
                if known is None or c.code < known.code:
                    offices[skill][at] = c
        self.offices = {skill: list(by_office.values()) for skill, by_office in offices.items()}

    def __call__(self, contact: DueContact) -> str | None:
        towns = self.towns.get(contact.skill)
        if not towns:
            return None
        if contact.town_code in towns:
            return contact.town_code
        place = (contact.place.latitude, contact.place.longitude)
        nearest = min(self.offices[contact.skill], key=lambda c: (_distance(c, place), c.code))
        return nearest.town_code


def partitions(
    contacts: Iterable[DueContact],
    coordinators: list[Coordinator],
) -> tuple[dict[str, list[DueContact]], list[Unplanned]]:
    """Contacts per serving town, and those no coordinator has the skill for."""
    by_town: dict[str, list[DueContact]] = defaultdict(list)
    nobody: list[Unplanned] = []
    serving = ServingTowns(coordinators)
    for contact in contacts:
        town = serving(contact)
        if town is None:
            nobody.append(
                Unplanned(
                    contact.key,
                    contact.client_code,
                    contact.service_type,
                    f"no coordinator has the skill '{contact.skill}'",
                )
            )
        else:
            by_town[town].append(contact)
    return dict(sorted(by_town.items())), nobody


def served_by(coordinators: Iterable[Coordinator], team_key: str) -> ServedBy:
    """What the routing team ``team_key`` may serve (its town's share; see ServedBy)."""
    skills: dict[str, frozenset[str]] = defaultdict(frozenset)
    for c in coordinators:
        skills[c.town_code] |= c.skills
    return ServedBy(team_key.partition(TEAM_MARK)[0], dict(skills))


# A routing job's most coordinators. A town team of up to this many is one job, as
# a county of a few thousand clients has; a bigger town is split into as few teams
# as keep each within it.
TEAM_SIZE = 24
TEAM_MARK = "/"  # "JC-01/2": the second routing team of town JC-01


def town_teams(coordinators: Iterable[Coordinator], town_code: str) -> list[list[Coordinator]]:
    """The routing teams of one town: all its coordinators, or a big town dealt out.

    Coordinators are dealt in turn by role and skills, so every team gets its share
    of each (the one nurse who also does rehabilitation lands in one team only).
    """
    members = [c for c in coordinators if c.town_code == town_code]
    count = math.ceil(len(members) / TEAM_SIZE)
    if count <= 1:
        return [members]
    ordered = sorted(members, key=lambda c: (c.role, sorted(c.skills), c.code))
    return [ordered[k::count] for k in range(count)]


def team(coordinators: Iterable[Coordinator], key: str) -> list[Coordinator]:
    """The coordinators of a town (``"JC-01"``) or of one of its teams (``"JC-01/2"``)."""
    town, _, number = key.partition(TEAM_MARK)
    if not number:
        return [c for c in coordinators if c.town_code == town]
    teams = town_teams(coordinators, town)
    index = int(number) - 1
    return teams[index] if 0 <= index < len(teams) else []


def team_partitions(
    contacts: Iterable[DueContact],
    coordinators: list[Coordinator],
) -> tuple[dict[str, list[DueContact]], list[Unplanned]]:
    """Contacts per routing team (:func:`partitions`, big towns split; see above)."""
    by_town, nobody = partitions(contacts, coordinators)
    by_team: dict[str, list[DueContact]] = {}
    for town, mine in by_town.items():
        teams = town_teams(coordinators, town)
        if len(teams) == 1:
            by_team[town] = mine
            continue
        number = _TeamNumbers(teams)
        for contact in mine:
            by_team.setdefault(f"{town}{TEAM_MARK}{number(contact)}", []).append(contact)
    return dict(sorted(by_team.items())), nobody


class _TeamNumbers:
    """The team (1-based) of a contact in a split town; see the module docstring."""

    def __init__(self, teams: list[list[Coordinator]]) -> None:
        self.team_of = {c.code: k for k, members in enumerate(teams) for c in members}
        self.able: dict[str, list[int]] = defaultdict(list)
        for k, members in enumerate(teams):
            for skill in sorted({s for c in members for s in c.skills}):
                self.able[skill].append(k)

    def __call__(self, contact: DueContact) -> int:
        able = self.able[contact.skill]
        usual = self.team_of.get(contact.usual_staff_code or "")
        if usual is None or usual not in able:
            usual = able[zlib.crc32(contact.client_code.encode()) % len(able)]
        return usual + 1


# -- XCom-safe rows ----------------------------------------------------------------------


def plan_to_rows(plan: Plan) -> dict[str, Any]:
    return {
        "horizon": [plan.horizon_start.isoformat(), plan.horizon_end.isoformat()],
        "stops": [
            {**asdict(s), "day": s.day.isoformat(), "start": s.start.isoformat()}
            for s in plan.stops
        ],
        "unplanned": [asdict(u) for u in plan.unplanned],
        "return_km": [
            [staff, day.isoformat(), km] for (staff, day), km in sorted(plan.return_km.items())
        ],
    }


def plan_from_rows(rows: dict[str, Any]) -> Plan:
    start, end = (dt.date.fromisoformat(d) for d in rows["horizon"])
    return Plan(
        horizon_start=start,
        horizon_end=end,
        stops=[
            PlannedStop(
                **{
                    **s,
                    "day": dt.date.fromisoformat(s["day"]),
                    "start": dt.time.fromisoformat(s["start"]),
                }
            )
            for s in rows["stops"]
        ],
        unplanned=[Unplanned(**u) for u in rows["unplanned"]],
        return_km={(staff, dt.date.fromisoformat(day)): km for staff, day, km in rows["return_km"]},
    )


def merge(
    horizon: tuple[dt.date, dt.date], parts: Iterable[Plan], unplanned: Iterable[Unplanned] = ()
) -> Plan:
    plan = Plan(horizon[0], horizon[1])
    for part in parts:
        plan.stops.extend(part.stops)
        plan.unplanned.extend(part.unplanned)
        plan.return_km.update(part.return_km)
    plan.unplanned.extend(unplanned)
    plan.stops.sort(key=lambda s: (s.staff_code, s.day, s.sequence))
    plan.unplanned.sort(key=lambda u: u.contact_key)
    return plan


# -- a recorded plan ---------------------------------------------------------------------------


def stored_plan(row: VisitPlan) -> Plan:
    """The plan as recorded (for an identical re-run, or to replan with minimal change)."""
    return plan_from_rows(row.summary["plan"])


def restrict(plan: Plan, staff_codes: Iterable[str], contact_keys: Iterable[str]) -> Plan:
    """The part of ``plan`` that belongs to one partition (its team and its contacts)."""
    codes, keys = set(staff_codes), set(contact_keys)
    return Plan(
        plan.horizon_start,
        plan.horizon_end,
        stops=[s for s in plan.stops if s.staff_code in codes],
        unplanned=[u for u in plan.unplanned if u.contact_key in keys],
        return_km={k: km for k, km in plan.return_km.items() if k[0] in codes},
    )


def route_changes(before: Plan, after: Plan) -> list[tuple[str, dt.date]]:
    """(coordinator, day) routes that differ between two plans: stops, order or times."""
    old, new = before.routes(), after.routes()
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
