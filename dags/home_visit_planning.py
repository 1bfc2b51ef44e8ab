"""
### Home-visit planning: a routed day for every coordinator

Every Friday at 15:00 (Asia/Seoul) it plans the next week; whenever urgent visits
are booked (the `care://visits/urgent` Asset: first assessments after discharge,
day-2 visits of the device-alert protocol) or conference decisions change care
plans (the `care://care-plans/changed` Asset: plans activated, services linked) it
replans the plans in force:

1. **demand**: care-plan services and risk-tier cadences become due contacts
   (visits and calls) over each horizon; visits done or booked count against them;
2. **demand gate**: the `plan.demand` suite; a client without coordinates or town,
   an unknown cadence or staff without working hours stops the stage, naming it;
3. **solve**, one mapped task per horizon and town team (PyVRP): days within each
   contact's window, skills, working hours and lunch, leave and Korean holidays,
   client time windows, continuity of carer, balanced workloads; what cannot be
   placed is listed as unplanned with its reason. With a plan in force for the
   horizon, only what changed is re-solved: a coordinator's days on (sick) leave,
   routes holding a contact no longer due, new urgent visits inserted where they
   move the fewest stops; other routes stay exactly as published, past days too;
4. **plan gate**: no overlaps, working hours, skills, coverage, plausible travel
   (own checks, then the `plan.stops` suite);
5. **publish and record**: day sheets per coordinator per day (HTML, PDF, .ics,
   CSV) and a team overview under `CARE_OUTPUT_DIR/visits/`; each plan is recorded
   once per set of inputs (a re-run publishes the same plan), and the result names
   the routes that changed since the plan in force.

Params: `horizon_days` (default 7); `plan`: `auto` (the next horizon on schedule or
by hand, the plans in force when the Asset triggers), `next` or `current` (after
recording a coordinator's sick leave: `airflow dags trigger home_visit_planning
-c '{"plan": "current"}'`); `seconds_per_problem` (default 1.0): PyVRP's work budget
per routing problem (a fixed number of iterations, so a plan repeats exactly; less is
faster and plans worse: for benchmarks). XCom holds codes, dates and times only.

At most `AIRFLOW__CARE__ROUTING_SOLVES_AT_ONCE` solves (default 2, fewer than the
workers' slots, so other workflows always find one) run at once; bench/scale.py sets it.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    Param,
    dag,
    get_current_context,
    task,
)


def _assets() -> tuple[Asset, Asset, Asset]:  # plugins are imported inside functions
    from care_assets import CARE_PLANS_CHANGED, URGENT_VISITS, VISIT_PLAN

    return URGENT_VISITS, CARE_PLANS_CHANGED, VISIT_PLAN


URGENT_VISITS, CARE_PLANS_CHANGED, VISIT_PLAN = _assets()
# Per-town solves running at once, over all workers (their task's max_active_tis_per_dag).
SOLVES_AT_ONCE = int(os.environ.get("AIRFLOW__CARE__ROUTING_SOLVES_AT_ONCE") or 2)


@dag(
    dag_id="home_visit_planning",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 15 * * 5", timezone="Asia/Seoul"),
        assets=URGENT_VISITS | CARE_PLANS_CHANGED,
    ),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["visits", "routing", "coordinators"],
    params={
        "horizon_days": Param(7, type="integer", minimum=1, maximum=31),
        "plan": Param("auto", type="string", enum=["auto", "next", "current"]),
        "seconds_per_problem": Param(1.0, type="number", minimum=0.01, maximum=30),
    },
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
        from care_tasks.common import run_day
        from care_tasks.visits import gate_demand, plan_choice

        context = get_current_context()
        dag_run = context.get("dag_run")
        conf = {**context["params"], **(getattr(dag_run, "conf", None) or {})}
        which = plan_choice(conf.get("plan"), getattr(dag_run, "run_type", None))
        today = run_day(context).isoformat()  # the run's date: re-runs reproduce
        return gate_demand(which, int(conf["horizon_days"]), today, run_key=run_id)

    @task
    def jobs(gated: dict[str, object]) -> list[dict[str, object]]:
        return list(gated["jobs"])  # type: ignore[call-overload]

    @task(
        map_index_template="{{ job_label }}",
        queue="routing",
        max_active_tis_per_dag=SOLVES_AT_ONCE,
    )
    def solve(gated: dict[str, object], job: dict[str, object]) -> dict[str, object]:
        from care_tasks.visits import solve_job

        context = get_current_context()
        context["job_label"] = f"{job['town']} {job['horizon'][0]}"  # type: ignore[index,typeddict-unknown-key]
        dag_run = context.get("dag_run")
        conf = {**context["params"], **(getattr(dag_run, "conf", None) or {})}
        seconds = float(conf.get("seconds_per_problem") or 1.0)
        return solve_job(job, str(gated["today"]), seconds)

    # A horizon reused as it is has no town to solve: the mapped solve is skipped, and the
    # plan gate must still run (it re-publishes the plan in force).
    @task(trigger_rule="none_failed")
    def plan_gate(
        gated: dict[str, object], parts: list[dict[str, object]], run_id: str | None = None
    ) -> dict[str, object]:
        from care_tasks.visits import gate_plan

        return gate_plan(gated, list(parts), run_key=run_id)

    @task(outlets=[VISIT_PLAN])
    def publish(checked: dict[str, object]) -> dict[str, object]:
        from care_tasks.visits import publish_and_record

        return publish_and_record(checked)

    gated = demand()
    parts = solve.partial(gated=gated).expand(job=jobs(gated))  # type: ignore[arg-type]
    publish(plan_gate(gated, parts))  # type: ignore[arg-type]


home_visit_planning_dag = home_visit_planning()
