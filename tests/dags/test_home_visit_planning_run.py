"""Real Airflow runs of home_visit_planning: plan, re-run (same plan), a sick day (replan).

After the runs, the county's personal values (names, phones, addresses, RRNs, exact
homes) are found in clear only in the coordinators' own day sheets.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections import Counter
from typing import Any

import pytest
from sqlalchemy.orm import Session

from care_models.db import make_engine
from care_models.synthetic.county import build_county
from care_models.visits.record import latest_plan
from care_models.visits.supply import record_leave
from tests.dags.airflow_runs import dags_test, prepare
from tests.support.leaks import (
    coordinate_needles,
    county_needles,
    exact_coordinates,
    find_leaks,
    stores,
)
from tests.support.referrals import dump_database, row_counts

PUBLISHED = re.compile(r"Returned value was: (\{'plans': \[\{'horizon': .*'directory'.*\}\]\})")


def published(run: Any) -> dict[str, Any]:
    """The publish task's return value, as the run logs it."""
    output = run.stdout + run.stderr
    assert run.returncode == 0 and "state=success" in output, output[-4000:]
    found = re.findall(PUBLISHED, output)
    assert found, output[-3000:]
    (plan,) = ast.literal_eval(found[-1].strip())["plans"]
    return dict(plan)


def test_plans_reruns_the_same_and_replans_a_sick_day(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    home = tmp_path_factory.mktemp("airflow-visits")
    care_url = prepare(home)

    first = published(dags_test(home, care_url, "home_visit_planning"))
    assert (first["revision"], first["new_revision"]) == (1, True)
    out = home / "var" / "out" / "visits"
    assert list(out.rglob("*.pdf")) and list(out.rglob("team_overview.html"))
    assert list(out.rglob("*.ics"))

    # a re-run with the same inputs (another process, another hash seed) publishes the same
    again = published(dags_test(home, care_url, "home_visit_planning"))
    assert (again["revision"], again["new_revision"], again["changed_routes"]) == (1, False, [])

    # the coordinator with the busiest day calls in sick: only what must change changes
    engine = make_engine(care_url)
    with Session(engine) as session, session.begin():
        row = latest_plan(session, *(dt.date.fromisoformat(d) for d in first["horizon"]))
        assert row is not None
        stops = row.summary["plan"]["stops"]
        visits = Counter((s["staff_code"], s["day"]) for s in stops if s["mode"] == "visit")
        busiest = visits.most_common(1)[0][0]
        routes = {(s["staff_code"], s["day"]) for s in stops}
        day = dt.date.fromisoformat(busiest[1])
        record_leave(session, busiest[0], day, day, "sick")
    sick = published(dags_test(home, care_url, "home_visit_planning", conf={"plan": "current"}))
    assert (sick["revision"], sick["new_revision"]) == (2, True)
    assert f"{busiest[0]} {busiest[1]}" in sick["changed_routes"]
    assert len(sick["changed_routes"]) < len(routes) / 2, sick["changed_routes"]
    counts = row_counts(engine, ("visit_plans", "visits", "unplanned_contacts"))
    tables = dump_database(engine)
    engine.dispose()
    assert counts["visit_plans"] == 2 and counts["visits"] > 0

    # the grep: personal values only in the coordinators' own day sheets
    county = build_county()
    sheets = [p for p in out.rglob("*.html") if p.name != "team_overview.html"]
    assert any(any(n in p.read_text("utf-8") for n in county_needles(county)) for p in sheets)
    leaks = find_leaks(
        stores(home, home / "care.db", tables, ""),
        county_needles(county),
        coordinate_needles(exact_coordinates(county)),
    )
    assert leaks == []
