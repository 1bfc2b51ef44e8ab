"""A real Airflow run of home_visit_planning: a gated, published plan; a re-run reuses it."""

from __future__ import annotations

import re

import pytest

from care_models.db import make_engine
from tests.dags.airflow_runs import dags_test, prepare
from tests.referral_helpers import row_counts


def test_plans_publishes_and_reuses_the_plan_on_a_rerun(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    home = tmp_path_factory.mktemp("airflow-visits")
    care_url = prepare(home)

    first = dags_test(home, care_url, "home_visit_planning")
    output = first.stdout + first.stderr
    assert first.returncode == 0 and "state=success" in output, output[-4000:]
    published = re.search(r"'directory': '([^']+)'", output)
    assert published, output[-2000:]
    out = home / "var" / "out" / "visits"
    sheets = list(out.rglob("*.pdf"))
    assert sheets and list(out.rglob("team_overview.html")) and list(out.rglob("*.ics"))
    engine = make_engine(care_url)
    before = row_counts(engine, ("visit_plans", "visits", "unplanned_contacts", "audit_log"))
    again = dags_test(home, care_url, "home_visit_planning")
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    after = row_counts(engine, ("visit_plans", "visits", "unplanned_contacts"))
    engine.dispose()
    assert "'new_revision': False" in again.stdout + again.stderr
    assert {k: before[k] for k in after} == after
