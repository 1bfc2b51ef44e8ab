"""The day-2 home visit lands on the coordinator's own route; only that route changes.

The same steps as the DAGs: ``run_escalation`` (device_alert_sync) books the visit
and the planner's tasks (home_visit_planning, which listens to the urgent-visits
Asset) replan the plan in force. The coordinator's day sheet carries the checklist.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.alerts.checklist import DAY2_CHECKS
from care_models.alerts.protocol import run_escalation
from care_models.schema import Client, EscalationStep, Incident, Staff, Visit
from care_models.workdays import SEOUL
from tests.integration.visits.test_visit_replan import (
    SUNDAY,
    TUESDAY,
    WEDNESDAY,
    changed_between,
    planning_database,  # noqa: F401  (the fixture)
    routes,
    run_planning,
)


def seoul(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SEOUL).astimezone(dt.UTC)


def test_the_day2_visit_is_inserted_in_the_coordinators_route_and_only_there(
    planning_database: Engine,  # noqa: F811
) -> None:
    engine = planning_database
    run_planning("next", SUNDAY)
    before = routes(engine)
    with Session(engine) as session, session.begin():
        working = {code for code, day in before if day == WEDNESDAY}
        client, coordinator = next(
            (client, staff)
            for client, staff in session.execute(
                select(Client, Staff)
                .join(Staff, Staff.id == Client.usual_staff_id)
                .where(Staff.role == "social_worker")
                .order_by(Client.id)
            )
            if staff.code in working
        )
        incident = Incident(client_id=client.id, kind="no_activity", opened_at=seoul(TUESDAY, 7))
        session.add(incident)
        session.flush()
        incident_id, client_code = incident.id, client.code
        coordinator_id, coordinator_code = coordinator.id, coordinator.code
        run_escalation(session, seoul(TUESDAY, 7, 10))
        result = run_escalation(session, seoul(WEDNESDAY, 8, 5)).as_dict()
        assert result["day2_visits_booked"] == 1 and result["urgent_visits"]
        step = session.scalar(
            select(EscalationStep).where(
                EscalationStep.incident_id == incident_id,
                EscalationStep.step == "day2_home_visit",
            )
        )
        assert step is not None and step.staff_id == coordinator_id
        visit_id = step.visit_id
    _gated, published = run_planning("current", WEDNESDAY)
    (replanned,) = published["plans"]
    after = routes(engine)
    taken = [
        key for key, stops in after.items() if any(k.endswith(f":v{visit_id}") for k, _ in stops)
    ]
    assert taken == [(coordinator_code, WEDNESDAY)]
    (start,) = [s for k, s in after[taken[0]] if k.endswith(f":v{visit_id}")]
    assert start < dt.time(12)  # there by noon
    changed = changed_between(before, after)
    assert (coordinator_code, WEDNESDAY) in changed
    assert replanned["changed_routes"] == [f"{coordinator_code} {WEDNESDAY.isoformat()}"]
    assert changed == {(coordinator_code, WEDNESDAY)}  # every other route as it was
    with Session(engine) as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None and visit.status == "booked" and visit.staff_id == coordinator_id
    # the coordinator's day sheet lists the checklist under that stop
    sheet = next(
        Path(replanned["directory"]).rglob(f"*{coordinator_code}*{WEDNESDAY.isoformat()}*.html")
    )
    page = sheet.read_text(encoding="utf-8")
    assert client_code in page
    for check in DAY2_CHECKS:
        assert check in page
