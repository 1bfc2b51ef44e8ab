"""Steps of the ``home_visit_planning`` DAG. Each returns codes, dates and counts only."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from care_models.errors import GateFailure, ValidationError
from care_models.visits.model import Coordinator, DueContact
from care_tasks.common import TaskContext, care_context
from care_tasks.outcomes import care_task

log = logging.getLogger(__name__)
DEMAND_SUITE = "plan.demand"
PLAN_SUITE = "plan.stops"
SECONDS_PER_PROBLEM = 1.0  # a work budget (iterations), so plans repeat exactly
PLAN_CHOICES = ("next", "current")


def horizon(logical_day: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The planning horizon: from the next Monday after ``logical_day``, ``days`` long."""
    monday = logical_day + dt.timedelta(days=(7 - logical_day.weekday()) % 7 or 7)
    return monday, monday + dt.timedelta(days=days - 1)


def _inputs(
    ctx: TaskContext, start: dt.date, end: dt.date
) -> tuple[list[DueContact], list[Coordinator]]:
    from care_models.visits.demand import expand_demand
    from care_models.visits.supply import coordinators

    with ctx.factory() as session:
        return expand_demand(session, start, end), coordinators(session, start, end)


def _latest(ctx: TaskContext, first: dt.date, last: dt.date) -> tuple[Any | None, str | None]:
    """The plan in force for the horizon (rebuilt) and the hash of the inputs it came from."""
    from care_models.visits.planning import stored_plan
    from care_models.visits.record import latest_plan

    with ctx.factory() as session:
        row = latest_plan(session, first, last)
        return (stored_plan(row), row.input_hash) if row is not None else (None, None)


def _recorded(
    ctx: TaskContext,
    contacts: list[DueContact],
    staff: list[Coordinator],
    first: dt.date,
    last: dt.date,
) -> dict[str, Any] | None:
    """The rows of the plan in force if it came from these very inputs (re-run: same plan)."""
    from care_models.visits.planning import plan_to_rows
    from care_models.visits.record import input_hash

    plan, digest = _latest(ctx, first, last)
    if plan is None or digest != input_hash(contacts, staff):
        return None
    return plan_to_rows(plan)


def _travel(ctx: TaskContext) -> Any:
    """Haversine travel; trips near the offices of urban towns (읍) use the urban speed."""
    from sqlalchemy import select

    from care_models.schema import Town
    from care_models.visits.model import Place
    from care_models.visits.travel import HaversineTravel

    with ctx.factory() as session:
        offices = [
            Place(t.latitude, t.longitude)
            for t in session.scalars(select(Town).where(Town.urban.is_(True)))
        ]
    return HaversineTravel(urban_places=offices)


def demand_rows(contacts: list[DueContact]) -> list[dict[str, Any]]:
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


def plan_choice(requested: object, run_type: object) -> str:
    """``next`` or ``current`` for a run: as requested, else (``auto``) ``current`` when
    urgent visits triggered the run (the Asset), ``next`` on the schedule or by hand."""
    which = str(requested or "auto")
    if which != "auto":
        return which
    kind = getattr(run_type, "value", run_type)  # the task SDK's enum prints its name
    return "current" if kind == "asset_triggered" else "next"


def horizons_to_plan(
    ctx: TaskContext, which: str, today: dt.date, days: int
) -> list[tuple[dt.date, dt.date]]:
    """``next``: the horizon from next Monday; ``current``: every recorded plan not yet
    over (an urgent visit or a sick coordinator changes those), else the next one."""
    from care_models.visits.record import current_horizons

    if which not in PLAN_CHOICES:
        raise ValidationError("plan", f"must be one of {', '.join(PLAN_CHOICES)}")
    if which == "current":
        with ctx.factory() as session:
            current = current_horizons(session, today)
        if current:
            return current
    return [horizon(today, days)]


def _gate_horizon(
    ctx: TaskContext, first: dt.date, last: dt.date, run_key: str | None
) -> dict[str, Any]:
    import pandas as pd

    from care_models.visits.planning import partitions
    from care_models.visits.record import input_hash
    from care_models.visits.supply import check_capacity, working_days
    from gates import run_gate_on_rows

    contacts, staff = _inputs(ctx, first, last)
    run_gate_on_rows(
        ctx.engine,
        DEMAND_SUITE,
        pd.DataFrame(demand_rows(contacts)),
        run_key=f"{run_key}:{first.isoformat()}" if run_key else None,
    )
    shortfalls = check_capacity(contacts, staff, working_days(first, last))
    for message in shortfalls:
        log.warning("capacity %s: %s", first, message)
    towns, nobody = partitions(contacts, staff)
    previous, digest = _latest(ctx, first, last)
    if previous is None:
        mode = "plan"
    elif digest == input_hash(contacts, staff):
        mode = "reuse"
    else:
        mode = "replan"
    return {
        "horizon": [first.isoformat(), last.isoformat()],
        "mode": mode,
        "towns": [] if mode == "reuse" else list(towns),
        "contacts": len(contacts),
        "no_skill": len(nobody),
        "shortfalls": shortfalls,
    }


@care_task
def gate_demand(which: str, days: int, today: str, run_key: str | None = None) -> dict[str, Any]:
    """Expand and gate the demand of each horizon to plan; the (horizon, town) jobs.

    A horizon whose plan in force came from the same inputs is reused as it is (a
    re-run publishes the same plan); one with a plan in force from other inputs is
    replanned with minimal disturbance from ``today`` on; otherwise it is planned.
    """
    day = dt.date.fromisoformat(today)
    with care_context() as ctx:
        gated = [
            _gate_horizon(ctx, first, last, run_key)
            for first, last in horizons_to_plan(ctx, which, day, days)
        ]
    return {
        "today": today,
        "horizons": gated,
        "jobs": [{"horizon": h["horizon"], "town": town} for h in gated for town in h["towns"]],
    }


@care_task
def solve_job(job: dict[str, Any], today: str) -> dict[str, Any]:
    """Route one town team's contacts over one horizon (a mapped task per job).

    With a plan in force for the horizon, only what changed is re-solved
    (:func:`care_models.visits.routing.replan`): routes of a coordinator now on leave,
    routes holding a contact no longer due, and new urgent or booked visits, inserted
    where they disturb the fewest stops; days before ``today`` are kept as they were.
    """
    from care_models.visits.planning import partitions, plan_to_rows, restrict, team
    from care_models.visits.routing import plan_days, replan
    from care_models.visits.supply import working_days

    first, last = (dt.date.fromisoformat(d) for d in job["horizon"])
    town, day = job["town"], dt.date.fromisoformat(today)
    with care_context() as ctx:
        contacts, staff = _inputs(ctx, first, last)
        previous, _digest = _latest(ctx, first, last)
        travel = _travel(ctx)
    towns, _ = partitions(contacts, staff)
    mine, members = towns.get(town, []), team(staff, town)
    days = working_days(first, last)
    if previous is None:
        plan = plan_days(
            mine, members, days, travel=travel, seconds_per_problem=SECONDS_PER_PROBLEM
        )
    else:
        plan = replan(
            restrict(previous, {m.code for m in members}, {c.key for c in mine}),
            mine,
            members,
            [d for d in days if d >= day],
            changed_days=set(),
            travel=travel,
            seconds_per_problem=SECONDS_PER_PROBLEM,
        )
    plan.horizon_start, plan.horizon_end = first, last
    return {**plan_to_rows(plan), "town": town}


def _checked_plan(
    ctx: TaskContext,
    horizon_rows: list[str],
    parts: list[dict[str, Any]],
    today: dt.date,
    run_key: str | None,
) -> dict[str, Any]:
    import pandas as pd

    from care_models.visits.checks import check_plan, stop_rows
    from care_models.visits.planning import merge, partitions, plan_from_rows, plan_to_rows
    from gates import run_gate_on_rows

    first, last = (dt.date.fromisoformat(d) for d in horizon_rows)
    contacts, staff = _inputs(ctx, first, last)
    recorded = _recorded(ctx, contacts, staff, first, last)
    if recorded is not None:
        return recorded
    _, nobody = partitions(contacts, staff)
    plan = merge((first, last), (plan_from_rows(p) for p in parts), nobody)
    problems = check_plan(plan, contacts, staff, from_day=today)
    if problems:
        raise GateFailure(f"plan checks {first}", problems[:5], len(plan.stops), len(problems))
    if plan.stops:
        run_gate_on_rows(
            ctx.engine,
            PLAN_SUITE,
            pd.DataFrame(stop_rows(plan, contacts, staff)),
            run_key=f"{run_key}:{first.isoformat()}" if run_key else None,
        )
    return plan_to_rows(plan)


@care_task
def gate_plan(
    gated: dict[str, Any], parts: list[dict[str, Any]], run_key: str | None = None
) -> dict[str, Any]:
    """Merge each horizon's town plans and check them: our checks, then the GX suite."""
    today = dt.date.fromisoformat(gated["today"])
    with care_context() as ctx:
        plans = [
            _checked_plan(
                ctx,
                h["horizon"],
                [p for p in parts if p.get("horizon") == h["horizon"]],
                today,
                run_key,
            )
            for h in gated["horizons"]
        ]
    return {"plans": plans}


@care_task
def publish_and_record(checked: dict[str, Any]) -> dict[str, Any]:
    """Publish each plan's day sheets and record it, with the audit rows, in one transaction.

    Each result names the routes that changed since the plan in force (coordinator and
    day): after a replan, the only sheets the team has to look at again.
    """
    return {"plans": [_publish_one(rows) for rows in checked["plans"]]}


def _publish_one(plan_rows: dict[str, Any]) -> dict[str, Any]:
    from care_models.visits.planning import plan_from_rows, route_changes
    from care_models.visits.publish import publish_plan
    from care_models.visits.record import input_hash, record_plan

    plan = plan_from_rows(plan_rows)
    with care_context() as ctx:
        contacts, staff = _inputs(ctx, plan.horizon_start, plan.horizon_end)
        previous, _digest = _latest(ctx, plan.horizon_start, plan.horizon_end)
        with ctx.factory() as session, session.begin():
            result = publish_plan(session, ctx.vault, plan, staff, ctx.settings.output_dir)
            row, written = record_plan(session, plan, contacts, input_hash(contacts, staff))
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
    }
