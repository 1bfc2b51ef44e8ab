"""
### Home-visit planning: a routed day for every coordinator

Every Friday at 15:00 (Asia/Seoul) for the next week, and whenever urgent visits
are booked (the `care://visits/urgent` Asset: first assessments after discharge,
day-2 visits of the device-alert protocol):

1. **demand**: care-plan services and risk-tier cadences become due contacts
   (visits and calls) over the horizon; visits done or booked count against them;
2. **demand gate**: the `plan.demand` suite; a client without coordinates or town,
   an unknown cadence or staff without working hours stops the stage, naming it;
3. **solve**, one mapped task per town team (PyVRP): days within each contact's
   window, skills, working hours and lunch, leave and Korean holidays, client time
   windows, continuity of carer, balanced workloads; what cannot be placed is
   listed as unplanned with its reason;
4. **plan gate**: no overlaps, working hours, skills, coverage, plausible travel
   (own checks, then the `plan.stops` suite);
5. **publish and record**: day sheets per coordinator per day (HTML, PDF, .ics,
   CSV) and a team overview under `CARE_OUTPUT_DIR/visits/`; the plan is recorded
   once per set of inputs, so a re-run publishes the same plan.

Params: `horizon_days` (default 7). XCom holds codes, dates and times only.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    Param,
    dag,
    get_current_context,
    task,
)

URGENT_VISITS = Asset("care://visits/urgent")
VISIT_PLAN = Asset("care://visits/plan")


@dag(
    dag_id="home_visit_planning",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 15 * * 5", timezone="Asia/Seoul"),
        assets=URGENT_VISITS,
    ),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["visits", "routing", "coordinators"],
    params={"horizon_days": Param(7, type="integer", minimum=1, maximum=31)},
    default_args={
        "owner": "integrated-care-team",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
    },
    doc_md=__doc__,
)
def home_visit_planning() -> None:
    @task
    def demand(run_id: str | None = None) -> dict[str, object]:
        from care_models.workdays import seoul_today
        from care_tasks.visits import gate_demand, horizon

        context = get_current_context()
        run_conf = getattr(context.get("dag_run"), "conf", None) or {}
        days = int(run_conf.get("horizon_days") or context["params"]["horizon_days"])
        start, end = horizon(seoul_today(), days)
        return gate_demand(start.isoformat(), end.isoformat(), run_key=run_id)

    @task
    def towns(gated: dict[str, object]) -> list[str]:
        return list(gated["towns"])  # type: ignore[call-overload]

    @task(map_index_template="{{ town }}")
    def solve(gated: dict[str, object], town: str) -> dict[str, object]:
        from care_tasks.visits import solve_town

        return solve_town(list(gated["horizon"]), town)  # type: ignore[call-overload]

    @task
    def plan_gate(
        gated: dict[str, object], parts: list[dict[str, object]], run_id: str | None = None
    ) -> dict[str, object]:
        from care_tasks.visits import gate_plan

        usable = [p for p in parts if "stops" in p]
        return gate_plan(list(gated["horizon"]), usable, run_key=run_id)  # type: ignore[call-overload]

    @task(outlets=[VISIT_PLAN])
    def publish(plan_rows: dict[str, object]) -> dict[str, object]:
        from care_tasks.visits import publish_and_record

        return publish_and_record(plan_rows)

    gated = demand()
    parts = solve.partial(gated=gated).expand(town=towns(gated))  # type: ignore[arg-type]
    publish(plan_gate(gated, parts))  # type: ignore[arg-type]


home_visit_planning_dag = home_visit_planning()
