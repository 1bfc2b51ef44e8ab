"""The town desk's pages: signed-in staff only, incidents per town, outcomes, the police report."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_api.app import create_app
from care_models import tokens
from care_models.alerts.protocol import record_step_outcome
from care_models.privacy import Vault
from care_models.schema import AuditLog, Client, EscalationStep, Incident
from tests.integration.alerts.test_protocol import WEDNESDAY, escalate, seoul, silent_client
from tests.support.referrals import api_settings

THURSDAY = WEDNESDAY + dt.timedelta(days=1)


@pytest.fixture
def incident(engine: Engine, vault: Vault) -> int:
    client_id, incident_id = silent_client(engine, seoul(WEDNESDAY, 8))
    with Session(engine) as session, session.begin():
        client = session.get(Client, client_id)
        assert client is not None
        client.name_enc = vault.encrypt("박영희", "clients.name")
        client.address_enc = vault.encrypt("진천읍 상산로 7", "clients.address")
    escalate(engine, seoul(WEDNESDAY, 8, 10))
    return incident_id


@pytest.fixture
def token(engine: Engine, vault: Vault, incident: int) -> str:
    with Session(engine) as session, session.begin():
        issued = tokens.issue(
            session,
            vault,
            tokens.Holder("staff", "SW-1"),
            valid_for=dt.timedelta(days=1),
            actor="test",
        )
    return issued.token


@pytest.fixture
def api(engine: Engine, vault: Vault) -> Iterator[TestClient]:
    settings = api_settings(CARE_API_AUTH_FAILURES_PER_MINUTE="100")
    app = create_app(settings=settings, engine=engine, vault=vault)
    with TestClient(app, base_url="https://care.test") as client:
        yield client


def sign_in(api: TestClient, token: str) -> None:
    answer = api.post(
        "/staff/login", data={"staff_code": "SW-1", "token": token}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "incidents"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
    assert "Path=/staff" in cookie


def test_nobody_sees_the_desk_without_signing_in(api: TestClient, token: str) -> None:
    page = api.get("/staff/incidents", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/staff/login"
    assert (
        api.get("/staff/incidents.csv", headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    wrong = api.post("/staff/login", data={"staff_code": "SW-1", "token": "wrong"})
    assert wrong.status_code == 401 and "맞지 않습니다" in wrong.text
    assert "set-cookie" not in wrong.headers
    api.cookies.set("care_staff", "SW-1.wrong")
    assert api.get("/staff/incidents", follow_redirects=False).status_code == 303


def test_the_desk_lists_incidents_per_town_with_the_next_step_and_a_csv(
    api: TestClient, token: str, incident: int
) -> None:
    sign_in(api, token)
    page = api.get("/staff/incidents")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert f'id="incident-{incident}"' in page.text and "1일차 전화 확인" in page.text
    assert "박영희" not in page.text  # the list holds codes only
    assert api.get("/staff/incidents?town=JC-01").text.count('id="incident-') == 1
    assert api.get("/staff/incidents?town=NOPE").status_code == 400
    # a script uses the bearer token and the staff code instead of the cookie
    api.cookies.clear()
    sheet = api.get(
        "/staff/incidents.csv", headers={"Authorization": f"Bearer {token}", "X-Care-Staff": "SW-1"}
    )
    assert sheet.status_code == 200 and sheet.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert rows[0][0] == "사건번호" and rows[1][0] == str(incident)
    assert rows[1][8] == "1일차 전화 확인"


def test_an_outcome_is_recorded_as_the_signed_in_coordinator_and_refused_outcomes_write_nothing(
    api: TestClient, engine: Engine, token: str, incident: int
) -> None:
    sign_in(api, token)
    refused = api.post(
        f"/staff/incidents/{incident}/outcome", data={"step": "day1_call", "outcome": "<maybe>"}
    )
    assert refused.status_code == 422 and "outcome" in refused.text
    assert "&lt;maybe&gt;" not in refused.text and "<maybe>" not in refused.text  # never echoed
    other_site = api.post(
        f"/staff/incidents/{incident}/outcome",
        data={"step": "day1_call", "outcome": "reached"},
        headers={"Origin": "https://evil.test"},
    )
    assert other_site.status_code == 403
    with Session(engine) as session:
        step = session.scalar(select(EscalationStep).where(EscalationStep.step == "day1_call"))
        assert step is not None and step.status == "due"
    done = api.post(
        f"/staff/incidents/{incident}/outcome",
        data={"step": "day1_call", "outcome": "reached"},
        headers={"Origin": "https://care.test"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith(f"recorded={incident}")
    with Session(engine) as session:
        closed = session.get(Incident, incident)
        assert closed is not None and closed.status == "closed"
        assert closed.close_reason == "person_reached" and closed.closed_by == "SW-1"
    assert "열린 사건이 없습니다" in api.get("/staff/incidents").text


def test_the_police_report_is_printed_from_the_desk_and_each_read_audited(
    api: TestClient, engine: Engine, token: str, incident: int
) -> None:
    sign_in(api, token)
    assert api.get(f"/staff/incidents/{incident}/police-report").status_code == 409  # not yet
    with Session(engine) as session, session.begin():
        record_step_outcome(
            session, incident, "day1_call", "no_answer", "SW-1", seoul(WEDNESDAY, 9)
        )
    escalate(engine, seoul(THURSDAY, 8, 10))
    with Session(engine) as session, session.begin():
        record_step_outcome(
            session, incident, "day2_home_visit", "no_entry", "SW-1", seoul(THURSDAY, 11)
        )
    escalate(engine, seoul(THURSDAY, 11, 5))
    listed = api.get("/staff/incidents").text
    assert f"incidents/{incident}/police-report" in listed
    report = api.get(f"/staff/incidents/{incident}/police-report")
    assert (
        report.status_code == 200 and "박영희" in report.text and "진천읍 상산로 7" in report.text
    )
    pdf = api.get(f"/staff/incidents/{incident}/police-report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    with Session(engine) as session:
        reads = session.scalars(
            select(AuditLog.actor).where(
                AuditLog.purpose == f"police report for incident {incident}"
            )
        ).all()
    assert reads == ["staff:SW-1", "staff:SW-1"]
    assert api.get("/staff/incidents/999999/police-report").status_code == 404
