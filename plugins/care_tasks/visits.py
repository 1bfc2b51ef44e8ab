"""Steps of the ``home_visit_planning`` DAG. Each returns codes, dates and counts only."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from care_models.visits.model import Coordinator, DueContact
from care_tasks.common import TaskContext, care_context

log = logging.getLogger(__name__)
DEMAND_SUITE = "plan.demand"
PLAN_SUITE = "plan.stops"
SECONDS_PER_PROBLEM = 1.0  # a work budget (iterations), so plans repeat exactly


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


def _recorded(
    ctx: TaskContext,
    contacts: list[DueContact],
    staff: list[Coordinator],
    first: dt.date,
    last: dt.date,
) -> dict[str, Any] | None:
    """The rows of a plan already recorded from these very inputs (re-run: same plan)."""
    from care_models.visits.model import Plan
    from care_models.visits.planning import plan_to_rows, stored_plan
    from care_models.visits.record import find_plan, input_hash

    with ctx.factory() as session:
        row = find_plan(session, Plan(first, last), input_hash(contacts, staff))
        return plan_to_rows(stored_plan(row)) if row is not None else None


def _urban_offices(ctx: TaskContext) -> list[Any]:
    """Offices of urban towns (읍): trips near them use the urban speed."""
    from sqlalchemy import select

    from care_models.schema import Town
    from care_models.visits.model import Place

    with ctx.factory() as session:
        return [
            Place(t.latitude, t.longitude)
            for t in session.scalars(select(Town).where(Town.urban.is_(True)))
        ]


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


def gate_demand(start: str, end: str, run_key: str | None = None) -> dict[str, Any]:
    """Expand demand, gate it, check capacity; the towns to solve and the horizon."""
    import pandas as pd
    from airflow.sdk.exceptions import AirflowFailException

    from care_models.errors import CareError
    from care_models.visits.planning import partitions
    from care_models.visits.supply import check_capacity, working_days
    from gates import run_gate_on_rows

    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    with care_context() as ctx:
        try:
            contacts, staff = _inputs(ctx, first, last)
            run_gate_on_rows(
                ctx.engine, DEMAND_SUITE, pd.DataFrame(demand_rows(contacts)), run_key=run_key
            )
        except CareError as error:  # bad records stop the stage, naming the record
            raise AirflowFailException(str(error)) from None
        shortfalls = check_capacity(contacts, staff, working_days(first, last))
    for message in shortfalls:
        log.warning("capacity: %s", message)
    towns, nobody = partitions(contacts, staff)
    return {
        "horizon": [start, end],
        "towns": list(towns),
        "contacts": len(contacts),
        "no_skill": len(nobody),
        "shortfalls": shortfalls,
    }


def solve_town(horizon_rows: list[str], town: str) -> dict[str, Any]:
    """Route one town team's contacts over the horizon (a mapped task per town)."""
    from care_models.visits.planning import partitions, plan_to_rows, team
    from care_models.visits.routing import plan_days
    from care_models.visits.supply import working_days
    from care_models.visits.travel import HaversineTravel

    first, last = (dt.date.fromisoformat(d) for d in horizon_rows)
    with care_context() as ctx:
        contacts, staff = _inputs(ctx, first, last)
        if _recorded(ctx, contacts, staff, first, last) is not None:
            return {"reused": True}  # the recorded plan is published again as it was
        travel = HaversineTravel(urban_places=_urban_offices(ctx))
    towns, _ = partitions(contacts, staff)
    plan = plan_days(
        towns.get(town, []),
        team(staff, town),
        working_days(first, last),
        travel=travel,
        seconds_per_problem=SECONDS_PER_PROBLEM,
    )
    plan.horizon_start, plan.horizon_end = first, last
    return plan_to_rows(plan)


def gate_plan(
    horizon_rows: list[str], parts: list[dict[str, Any]], run_key: str | None = None
) -> dict[str, Any]:
    """Merge the towns' plans and check them: our checks, then the GX suite."""
    import pandas as pd
    from airflow.sdk.exceptions import AirflowFailException

    from care_models.visits.checks import check_plan, stop_rows
    from care_models.visits.planning import merge, partitions, plan_from_rows, plan_to_rows
    from gates import run_gate_on_rows

    first, last = (dt.date.fromisoformat(d) for d in horizon_rows)
    with care_context() as ctx:
        contacts, staff = _inputs(ctx, first, last)
        recorded = _recorded(ctx, contacts, staff, first, last)
        if recorded is not None:
            return recorded
        _, nobody = partitions(contacts, staff)
        plan = merge((first, last), (plan_from_rows(p) for p in parts), nobody)
        problems = check_plan(plan, contacts, staff)
        if problems:
            raise AirflowFailException(
                f"plan gate: {len(problems)} problems, first: " + "; ".join(problems[:5])
            )
        if plan.stops:
            run_gate_on_rows(
                ctx.engine,
                PLAN_SUITE,
                pd.DataFrame(stop_rows(plan, contacts, staff)),
                run_key=run_key,
            )
    return plan_to_rows(plan)


def publish_and_record(plan_rows: dict[str, Any]) -> dict[str, Any]:
    """Publish the day sheets and record the plan, in one transaction with the audit rows."""
    from care_models.visits.planning import plan_from_rows
    from care_models.visits.publish import publish_plan
    from care_models.visits.record import input_hash, record_plan

    plan = plan_from_rows(plan_rows)
    with care_context() as ctx:
        contacts, staff = _inputs(ctx, plan.horizon_start, plan.horizon_end)
        with ctx.factory() as session, session.begin():
            result = publish_plan(session, ctx.vault, plan, staff, ctx.settings.output_dir)
            row, written = record_plan(session, plan, contacts, input_hash(contacts, staff))
            revision = row.revision
    return {
        "directory": str(result.directory),
        "stops": len(plan.stops),
        "unplanned": len(plan.unplanned),
        "revision": revision,
        "new_revision": written,
        "km": {k: round(v, 1) for k, v in sorted(plan.km_by_staff().items())},
    }
