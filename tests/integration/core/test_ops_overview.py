"""What the administrators' page shows, and the quarantine's release and discard."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.errors import ValidationError
from care_models.ops_overview import ops_overview, settle_quarantined
from care_models.schema import AuditLog, GateResult, QuarantinedRow

NOW = dt.datetime(2026, 12, 4, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_overview_and_the_quarantine_actions(county_engine: Engine) -> None:
    with Session(county_engine, expire_on_commit=False) as session, session.begin():
        for success, days_ago in ((False, 40), (False, 3), (True, 1)):
            session.add(
                GateResult(
                    stage="county", suite="county.clients", success=success,
                    rows_evaluated=450, rows_failed=0 if success else 2,
                    expectations_evaluated=9, ran_at=NOW - dt.timedelta(days=days_ago),
                )
            )  # fmt: skip
        session.flush()
        gate = session.scalars(select(GateResult)).first()
        assert gate is not None
        rows = [
            QuarantinedRow(gate_result_id=gate.id, stage="county", row_key=f"C{n}", rule="r")
            for n in range(3)
        ]
        session.add_all(rows)
        session.flush()
        overview = ops_overview(session, NOW, None)
        (line,) = overview.gates
        assert (line.success, line.failures_30d, line.rows) == (True, 1, 450)  # 40 days: out
        assert overview.quarantine_open == 3 and overview.coverage is None
        settle_quarantined(session, rows[0].id, "release", "airflow:admin", NOW)
        settle_quarantined(session, rows[1].id, "discard", "airflow:admin", NOW)
        with pytest.raises(ValidationError, match="row: is no longer in the quarantine"):
            settle_quarantined(session, rows[1].id, "release", "airflow:admin", NOW)
        with pytest.raises(ValidationError, match="action: must be release or discard"):
            settle_quarantined(session, rows[2].id, "burn", "airflow:admin", NOW)
        after = ops_overview(session, NOW, None)
        actions = [
            (a.action, a.actor, a.entity_id)
            for a in session.scalars(select(AuditLog).where(AuditLog.entity == "quarantined_row"))
        ]
    assert after.quarantine_open == 1 and [q.id for q in after.quarantine] == [rows[2].id]
    assert (rows[0].resolution, rows[1].resolution) == ("released", "discarded")
    assert actions == [
        ("quarantine_release", "airflow:admin", str(rows[0].id)),
        ("quarantine_discard", "airflow:admin", str(rows[1].id)),
    ]
