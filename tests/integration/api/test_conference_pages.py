"""The conference pages and the decisions API: staff only, audited chair copy, refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from care_api.app import create_app
from care_models import tokens
from care_models.conferences.schedule import ensure_schedule
from care_models.privacy import Vault, reveal
from care_models.schema import AuditLog, Client, Decision
from tests.integration.conferences.test_decisions import TODAY, Listed, discharged_case
from tests.support.pdf import pdf_text
from tests.support.referrals import api_settings


@pytest.fixture
def listed(county_engine: Engine) -> Listed:
    with Session(county_engine) as session, session.begin():
        ensure_schedule(session, TODAY)
        return discharged_case(session)


@pytest.fixture
def api(county_engine: Engine, vault: Vault) -> Iterator[TestClient]:
    app = create_app(settings=api_settings(), engine=county_engine, vault=vault)
    with Session(county_engine) as session, session.begin():
        token = tokens.issue(
            session,
            vault,
            tokens.Holder("staff", "S0001"),
            valid_for=dt.timedelta(days=1),
            actor="test",
        ).token
    with TestClient(app, base_url="https://care.test") as client:
        client.headers.update({"Authorization": f"Bearer {token}", "X-Care-Staff": "S0001"})
        yield client


def name_of(engine: Engine, vault: Vault, client_id: int) -> str:
    with Session(engine) as session, session.begin():
        client = session.get(Client, client_id)
        assert client is not None
        return reveal(session, vault, client, ("name",), actor="test", purpose="test")["name"] or ""


def test_the_chair_copy_names_people_and_each_read_is_audited_the_external_pdf_does_not(
    api: TestClient, listed: Listed, county_engine: Engine, vault: Vault
) -> None:
    name = name_of(county_engine, vault, listed.client_id)
    assert api.get("/staff/conferences").status_code == 200
    page = api.get(f"/staff/conferences/{listed.conference_id}")
    assert (
        page.status_code == 200 and name in page.text and f"사례-{listed.case_id:06d}" in page.text
    )
    external = pdf_text(api.get(f"/staff/conferences/{listed.conference_id}/agenda.pdf").content)
    assert f"사례-{listed.case_id:06d}" in external and name not in external
    with Session(county_engine) as session, session.begin():
        client = session.get(Client, listed.client_id)
        assert client is not None
        personal = reveal(
            session,
            vault,
            client,
            ("rrn", "phone", "address", "birth_date"),
            actor="test",
            purpose="test",
        )
        codes = session.scalar(select(Client.code).where(Client.id == listed.client_id))
    for value in [*personal.values(), codes]:
        assert (
            not value or value not in external
        )  # no resident number, phone, address, birth date, code
    chair = pdf_text(
        api.get(f"/staff/conferences/{listed.conference_id}/agenda.pdf?copy=chair").content
    )
    assert name in chair
    with Session(county_engine) as session:
        reads = session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.actor == "staff:S0001",
                AuditLog.purpose == f"agenda chair copy for conference {listed.conference_id}",
            )
        )
    assert reads and reads >= 2
    api.headers.pop("Authorization")
    assert (
        api.get(f"/staff/conferences/{listed.conference_id}", follow_redirects=False).status_code
        == 303
    )


def test_decisions_through_the_api_and_refusals_naming_the_field(
    api: TestClient, listed: Listed, county_engine: Engine
) -> None:
    url = f"/staff/api/conferences/{listed.conference_id}/decisions"
    bad = {
        "case_id": listed.case_id,
        "decisions": [
            {
                "need_id": listed.needs["health_medical"],
                "decision": "link_service",
                "reason": "간호",
                "provider_code": "P-MEALS",
                "service_type": "home_nursing",
                "cadence": "weekly",
            }
        ],
    }
    refused = api.post(url, json=bad)
    assert refused.status_code == 422
    assert refused.json() == {
        "field": "decisions[0].provider_code",
        "rule": "does not offer this service type",
    }
    assert api.post(url, content=b"{not json").status_code == 400
    with Session(county_engine) as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 0
    good = {**bad, "decisions": [{**bad["decisions"][0], "provider_code": "P-NURSING"}]}
    created = api.post(url, json=good)
    assert created.status_code == 201 and len(created.json()["decision_ids"]) == 1
    form = api.post(
        f"/staff/conferences/{listed.conference_id}/cases/{listed.case_id}/decisions",
        data={
            f"decision_{listed.needs['care_ltc']}": "approve",
            f"reason_{listed.needs['care_ltc']}": "동의",
        },
        follow_redirects=False,
    )
    assert form.status_code == 303
    with Session(county_engine) as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 2
