"""
### Care data quality: the county's own data must be fit to plan with

Every morning, before coordinators open their schedules, the care database is
checked against the county suites in `expectations/county.*.json`:

- **towns**: a code, a known kind (읍·면·동), an office inside Korea;
- **staff**: a known role, at least one skill, an office town, working hours;
- **clients**: a known town, home coordinates inside Korea, coded risk tier,
  household type and long-term-care grade, every personal field encrypted.

The same run applies the retention periods (`care_models.retention`): raw
Bundles emptied `CARE_RETENTION_RAW_BUNDLE_DAYS` after their referral was decided,
published sheets removed `CARE_RETENTION_PUBLISHED_DAYS` after their horizon, audit
rows older than `CARE_RETENTION_AUDIT_DAYS` (at least two years) deleted; each purge
leaves one audit row with counts.

A failing row is quarantined with the rule it broke (see `quarantined_rows`);
too many failing rows, or a table-level rule, fails the task with one message
that names the stage, the rules and the counts. Summaries land in `gate_results`
and in this run's XCom: counts and rule names only, never personal values.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, dag, task

COUNTY_SUITES = ["county.towns", "county.staff", "county.clients"]


@dag(
    dag_id="care_data_quality",
    schedule=CronTriggerTimetable("0 6 * * *", timezone="Asia/Seoul"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["data-quality", "county", "retention"],
    default_args={
        "owner": "integrated-care-team",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
    },
    doc_md=__doc__,
)
def care_data_quality() -> None:
    @task(map_index_template="{{ suite }}")
    def check_suite(suite: str, run_id: str | None = None) -> dict[str, object]:
        from care_tasks.quality import check_county_suite

        return check_county_suite(suite, run_key=run_id)

    @task
    def report(results: list[dict[str, object]]) -> dict[str, object]:
        rows = sum(int(str(r["rows"])) for r in results)
        failed = sum(int(str(r["failed"])) for r in results)
        print(f"county data quality: {len(results)} suites, {rows} rows, {failed} quarantined")
        return {"suites": len(results), "rows": rows, "quarantined": failed}

    @task
    def retention() -> dict[str, int]:
        from care_tasks.common import run_day
        from care_tasks.retention import purge_expired

        return purge_expired(run_day().isoformat())  # the run's date: re-runs reproduce

    report(check_suite.expand(suite=COUNTY_SUITES))  # type: ignore[arg-type]
    retention()


care_data_quality_dag = care_data_quality()
