"""The steps of home-visit planning as the workflow runs them, without Airflow.

Which horizons a run plans, whether each is planned, reused or replanned, how a town
team's job is solved, when a merged plan may be published, and what publishing
records: the decisions live here; ``plugins/care_tasks/visits.py`` only opens the
database and calls these functions. A data-quality gate is passed in as a callable
(``Gate``: suite name, non-personal rows, run key), because Great Expectations runs on
the Airflow side.

Modes of a horizon (:func:`gate_horizon`)::

    no plan in force                         -> plan     a full solve per town team
    plan in force, from the same inputs      -> reuse    nothing solved, published again
    plan in force, from other inputs         -> replan   only what changed, from today on
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from care_models.errors import GateFailure, ValidationError
from care_models.visits.model import Coordinator, DueContact, Place, Plan, Unplanned

log = logging.getLogger(__name__)

# The reason given a contact that came due while the towns were solved (catch_up).
CAME_DUE = "came due after the routes were solved; the next replan places it"

Gate = Callable[[str, list[dict[str, Any]], str | None], object]
DEMAND_SUITE = "plan.demand"
PLAN_SUITE = "plan.stops"
SECONDS_PER_PROBLEM = 1.0  # a work budget (iterations), so plans repeat exactly
PLAN_CHOICES = ("next", "current")


@dataclass(frozen=True)
class Inputs:
    """What one horizon is planned from: the due contacts and the coordinators."""

    contacts: list[DueContact]
    staff: list[Coordinator]


def horizon(logical_day: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The planning horizon: from the next Monday after ``logical_day``, ``days`` long."""
    monday = logical_day + dt.timedelta(days=(7 - logical_day.weekday()) % 7 or 7)
    return monday, monday + dt.timedelta(days=days - 1)


def plan_choice(requested: object, run_type: object) -> str:
    """``next`` or ``current`` for a run: as requested, else (``auto``) ``current`` when
    urgent visits triggered the run (the Asset), ``next`` on the schedule or by hand."""
    which = str(requested or "auto")
    if which != "auto":
        return which
    kind = getattr(run_type, "value", run_type)  # the task SDK's enum prints its name
    return "current" if kind == "asset_triggered" else "next"


def load_inputs(
    factory: sessionmaker[Session], first: dt.date, last: dt.date, team_key: str | None = None
) -> Inputs:
    """The demand and the staff of a horizon: the whole county's, or with ``team_key``
    (a routing job's), the demand of the towns that team's town may serve only."""
    from care_models.visits.demand import expand_demand
    from care_models.visits.planning import served_by
    from care_models.visits.supply import coordinators

    with factory() as session:
        staff = coordinators(session, first, last)
        served = served_by(staff, team_key) if team_key else None
        return Inputs(expand_demand(session, first, last, served), staff)


def plan_in_force(
    factory: sessionmaker[Session], first: dt.date, last: dt.date
) -> tuple[Plan | None, str | None]:
    """The plan in force for the horizon (rebuilt) and the hash of the inputs it came from."""
    from care_models.visits.planning import stored_plan
    from care_models.visits.record import latest_plan

    with factory() as session:
        row = latest_plan(session, first, last)
        return (stored_plan(row), row.input_hash) if row is not None else (None, None)


def travel_model(factory: sessionmaker[Session]) -> Any:
    """Haversine travel; trips near the offices of urban towns (읍) use the urban speed."""
    from care_models.schema import Town
    from care_models.visits.travel import HaversineTravel

    with factory() as session:
        offices = [
            Place(t.latitude, t.longitude)
            for t in session.scalars(select(Town).where(Town.urban.is_(True)))
        ]
    return HaversineTravel(urban_places=offices)


def demand_rows(contacts: Sequence[DueContact]) -> list[dict[str, Any]]:
    """Non-personal rows for the demand gate: keys, codes, skills and windows."""
    return [
        {
            "key": c.key,
            "town_code": c.town_code,
            "skill": c.skill,
            "mode": c.mode,
            "duration_min": c.duration_min,
            "window_days": (c.latest - c.earliest).days,
            "latitude": c.place.latitude,
            "longitude": c.place.longitude,
        }
        for c in contacts
    ]


def horizons_to_plan(
    factory: sessionmaker[Session], which: str, today: dt.date, days: int
) -> list[tuple[dt.date, dt.date]]:
    """``next``: the horizon from next Monday; ``current``: every recorded plan not yet
    over (an urgent visit or a sick coordinator changes those), else the next one."""
    from care_models.visits.record import current_horizons

    if which not in PLAN_CHOICES:
        raise ValidationError("plan", f"must be one of {', '.join(PLAN_CHOICES)}")
    if which == "current":
        with factory() as session:
            current = current_horizons(session, today)
        if current:
            return current
    return [horizon(today, days)]


def _gate_key(run_key: str | None, first: dt.date) -> str | None:
    return f"{run_key}:{first.isoformat()}" if run_key else None


def gate_horizon(
    factory: sessionmaker[Session],
    gate: Gate,
    first: dt.date,
    last: dt.date,
    run_key: str | None,
) -> dict[str, Any]:
    """Gate one horizon's demand and decide its mode (plan, reuse or replan)."""
    from care_models.visits.planning import team_partitions
    from care_models.visits.record import input_hash
    from care_models.visits.supply import check_capacity, working_days

    inputs = load_inputs(factory, first, last)
    gate(DEMAND_SUITE, demand_rows(inputs.contacts), _gate_key(run_key, first))
    shortfalls = check_capacity(inputs.contacts, inputs.staff, working_days(first, last))
    for message in shortfalls:
        log.warning("capacity %s: %s", first, message)
    towns, nobody = team_partitions(inputs.contacts, inputs.staff)
    previous, digest = plan_in_force(factory, first, last)
    if previous is None:
        mode = "plan"
    elif digest == input_hash(inputs.contacts, inputs.staff):
        mode = "reuse"
    else:
        mode = "replan"
    return {
        "horizon": [first.isoformat(), last.isoformat()],
        "mode": mode,
        "towns": [] if mode == "reuse" else list(towns),
        "contacts": len(inputs.contacts),
        "no_skill": len(nobody),
        "shortfalls": shortfalls,
    }


def gate_demand(
    factory: sessionmaker[Session],
    gate: Gate,
    which: str,
    days: int,
    today: dt.date,
    run_key: str | None = None,
) -> dict[str, Any]:
    """Expand and gate the demand of each horizon to plan; the (horizon, town) jobs."""
    gated = [
        gate_horizon(factory, gate, first, last, run_key)
        for first, last in horizons_to_plan(factory, which, today, days)
    ]
    return {
        "today": today.isoformat(),
        "horizons": gated,
        "jobs": [{"horizon": h["horizon"], "town": town} for h in gated for town in h["towns"]],
    }


def solve_job(
    factory: sessionmaker[Session],
    job: dict[str, Any],
    today: dt.date,
    seconds_per_problem: float = SECONDS_PER_PROBLEM,
) -> dict[str, Any]:
    """Route one town team's contacts over one horizon (one job of the mapped solve).

    With a plan in force for the horizon, only what changed is re-solved
    (:func:`care_models.visits.routing.replan`): routes of a coordinator now on leave,
    routes holding a contact no longer due, and new urgent or booked visits, inserted
    where they disturb the fewest stops; days before ``today`` are kept as they were.
    ``seconds_per_problem`` is PyVRP's work budget per routing problem.
    """
    from care_models.visits.planning import plan_to_rows, restrict, team, team_partitions
    from care_models.visits.record import input_hash
    from care_models.visits.routing import plan_days, replan
    from care_models.visits.supply import working_days

    first, last = (dt.date.fromisoformat(d) for d in job["horizon"])
    town = job["town"]
    inputs = load_inputs(factory, first, last, town)
    previous, _digest = plan_in_force(factory, first, last)
    travel = travel_model(factory)
    towns, _ = team_partitions(inputs.contacts, inputs.staff)
    mine, members = towns.get(town, []), team(inputs.staff, town)
    days = working_days(first, last)
    if previous is None:
        plan = plan_days(
            mine, members, days, travel=travel, seconds_per_problem=seconds_per_problem
        )
    else:
        # A contact that came due after the last solve never had its chance: new again.
        fresh = [u for u in previous.unplanned if u.reason != CAME_DUE]
        previous = replace(previous, unplanned=fresh)
        plan = replan(
            restrict(previous, {m.code for m in members}, {c.key for c in mine}),
            mine,
            members,
            [d for d in days if d >= today],
            changed_days=set(),
            travel=travel,
            seconds_per_problem=seconds_per_problem,
        )
    plan.horizon_start, plan.horizon_end = first, last
    # What this team's solve saw: the plan gate compares it with what it finds.
    seen = input_hash(mine, members)
    return {**plan_to_rows(plan), "town": town, "input_hash": seen}


def _recorded_rows(
    factory: sessionmaker[Session], inputs: Inputs, first: dt.date, last: dt.date
) -> dict[str, Any] | None:
    """The rows of the plan in force if it came from these very inputs (re-run: same plan)."""
    from care_models.visits.planning import plan_to_rows
    from care_models.visits.record import input_hash

    plan, digest = plan_in_force(factory, first, last)
    if plan is None or digest != input_hash(inputs.contacts, inputs.staff):
        return None
    return plan_to_rows(plan)


def check_horizon_plan(
    factory: sessionmaker[Session],
    gate: Gate,
    horizon_rows: Sequence[str],
    parts: Sequence[dict[str, Any]],
    today: dt.date,
    run_key: str | None,
) -> dict[str, Any]:
    """Merge one horizon's town plans and check them: our checks, then the GX suite."""
    from care_models.visits.checks import check_plan, stop_rows
    from care_models.visits.planning import merge, partitions, plan_from_rows, plan_to_rows
    from care_models.visits.record import caught_up, input_hash

    first, last = (dt.date.fromisoformat(d) for d in horizon_rows)
    inputs = load_inputs(factory, first, last)
    recorded = _recorded_rows(factory, inputs, first, last)
    if recorded is not None:
        return recorded
    _, nobody = partitions(inputs.contacts, inputs.staff)
    plan = merge((first, last), (plan_from_rows(p) for p in parts), nobody)
    found = input_hash(inputs.contacts, inputs.staff)
    moved = _demand_moved(inputs, parts)
    if moved:
        plan = catch_up(plan, inputs.contacts, today)
    problems = check_plan(plan, inputs.contacts, inputs.staff, from_day=today)
    if problems:
        raise GateFailure(f"plan checks {first}", problems[:5], len(plan.stops), len(problems))
    if plan.stops:
        gate(PLAN_SUITE, stop_rows(plan, inputs.contacts, inputs.staff), _gate_key(run_key, first))
    # The demand the plan answers, recorded with it. After a catch-up it answers neither
    # what the solves saw nor what is due now, so the next run finds the demand changed
    # and replans what came due.
    digest = caught_up(found) if moved else found
    return {**plan_to_rows(plan), "input_hash": digest}


def _demand_moved(inputs: Inputs, parts: Sequence[dict[str, Any]]) -> bool:
    """Whether any team's contacts or members changed between its solve and now."""
    from care_models.visits.planning import team, team_partitions
    from care_models.visits.record import input_hash

    teams, _ = team_partitions(inputs.contacts, inputs.staff)
    solved = {p["town"]: p.get("input_hash") for p in parts if "town" in p}
    if set(teams) - set(solved):
        return True  # a team that has contacts now had no solve
    return any(
        seen is not None and seen != input_hash(teams.get(key, []), team(inputs.staff, key))
        for key, seen in solved.items()
    )


def catch_up(plan: Plan, contacts: Sequence[DueContact], today: dt.date) -> Plan:
    """The solved plan brought up to the demand found at the gate, without solving again.

    Other workflows go on while the towns are solved: intake books a first visit, a
    coordinator records one done, a conference closes a case. A stop (from ``today``
    on) whose contact is no longer due is taken out; a contact that came due is listed
    unplanned with that reason. Each of those changes also starts the next replan
    (the urgent-visits and care-plan Assets), which places what came due.
    """
    due = {c.key: c for c in contacts}
    stops = [s for s in plan.stops if s.day < today or s.contact_key in due]
    listed = {s.contact_key for s in stops} | {u.contact_key for u in plan.unplanned}
    came = [
        Unplanned(c.key, c.client_code, c.service_type, CAME_DUE)
        for key, c in sorted(due.items())
        if key not in listed
    ]
    kept = [u for u in plan.unplanned if u.contact_key in due]
    log.warning(
        "plan gate %s: the demand moved on since the solve: %d stops no longer due, "
        "%d contacts came due",
        plan.horizon_start,
        len(plan.stops) - len(stops),
        len(came),
    )
    unplanned = sorted([*kept, *came], key=lambda u: u.contact_key)
    return replace(plan, stops=stops, unplanned=unplanned)


def gate_plans(
    factory: sessionmaker[Session],
    gate: Gate,
    gated: dict[str, Any],
    parts: Sequence[dict[str, Any]],
    run_key: str | None = None,
) -> dict[str, Any]:
    """Check every horizon's merged plan; a plan with problems stops the stage."""
    today = dt.date.fromisoformat(gated["today"])
    plans = [
        check_horizon_plan(
            factory,
            gate,
            h["horizon"],
            [p for p in parts if p.get("horizon") == h["horizon"]],
            today,
            run_key,
        )
        for h in gated["horizons"]
    ]
    return {"plans": plans}


def publish_one(
    factory: sessionmaker[Session], vault: Any, output_dir: Any, plan_rows: dict[str, Any]
) -> dict[str, Any]:
    """Publish a checked plan's day sheets and record it, with the audit rows, at once;
    with the capacity behind it (hours short per town, skill and week, and a what-if
    solve of the shortest town with one more coordinator of the short skill).

    The result names the routes that changed since the plan in force (coordinator and
    day): after a replan, the only sheets the team has to look at again.
    """
    from care_models.visits.capacity import capacity_report
    from care_models.visits.planning import plan_from_rows, route_changes
    from care_models.visits.publish import publish_plan
    from care_models.visits.record import input_hash, record_plan

    plan = plan_from_rows(plan_rows)
    inputs = load_inputs(factory, plan.horizon_start, plan.horizon_end)
    previous, _digest = plan_in_force(factory, plan.horizon_start, plan.horizon_end)
    capacity = capacity_report(
        plan,
        inputs.contacts,
        inputs.staff,
        travel=travel_model(factory),
        seconds_per_problem=SECONDS_PER_PROBLEM,
    )
    with factory() as session, session.begin():
        result = publish_plan(session, vault, plan, inputs.staff, output_dir, capacity=capacity)
        digest = plan_rows.get("input_hash") or input_hash(inputs.contacts, inputs.staff)
        row, written = record_plan(session, plan, inputs.contacts, digest)
        revision = row.revision
    changed = route_changes(previous, plan) if previous is not None else []
    return {
        "horizon": plan_rows["horizon"],
        "directory": str(result.directory),
        "stops": len(plan.stops),
        "unplanned": len(plan.unplanned),
        "revision": revision,
        "new_revision": written,
        "changed_routes": [f"{code} {day.isoformat()}" for code, day in changed],
        "km": {k: round(v, 1) for k, v in sorted(plan.km_by_staff().items())},
        "capacity": capacity.summary(),
    }
