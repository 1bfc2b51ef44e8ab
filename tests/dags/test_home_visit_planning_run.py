"""A real Airflow run of home_visit_planning: demand gated, solved per town, published, recorded."""

from __future__ import annotations

import re

import pytest

from care_models.db import make_engine
from tests.dags.airflow_runs import dags_test, prepare
from tests.referral_helpers import row_counts


def test_plans_publishes_and_records_a_week(
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
    counts = row_counts(engine, ("visit_plans", "visits", "unplanned_contacts"))
    engine.dispose()
    assert counts["visit_plans"] == 1 and counts["visits"] > 0
