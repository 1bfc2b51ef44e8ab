"""The care API serves each coordinator's own visits as a calendar, behind its own token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_api.app import create_app
from care_models.privacy import Vault
from care_models.schema import AuditLog, Client, Staff, Visit
from care_models.synthetic.load import staff_feed_token
from care_models.workdays import SEOUL, next_business_day, seoul_today
from tests.support.referrals import api_settings


@pytest.fixture
def api(county_engine: Engine, vault: Vault) -> Iterator[TestClient]:
    day = next_business_day(seoul_today() + dt.timedelta(days=1))
    with Session(county_engine) as session, session.begin():
        staff = session.scalars(select(Staff).where(Staff.code == "S0002")).one()
        for number, client in enumerate(session.scalars(select(Client).limit(2)), start=1):
            start = dt.datetime.combine(day, dt.time(9 + number), SEOUL).astimezone(dt.UTC)
            session.add(
                Visit(
                    natural_key=f"feed-test:{number}",
                    client_id=client.id,
                    staff_id=staff.id,
                    service_type="home_nursing",
                    mode="visit",
                    purpose="방문간호",
                    visit_date=day,
                    start_at=start,
                    duration_min=40,
                    sequence=number,
                    status="planned",
                    source="plan",
                )
            )
    with TestClient(
        create_app(settings=api_settings(), engine=county_engine, vault=vault)
    ) as client:
        yield client


def test_a_coordinator_gets_their_own_visits(
    api: TestClient, county_engine: Engine, vault: Vault
) -> None:
    token = staff_feed_token("S0002")
    response = api.get(f"/feeds/visits/S0002.ics?token={token}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert len(events) == 2
    assert all(e.decoded("dtstart").tzinfo is not None for e in events)
    with Session(county_engine) as session:
        clients = session.scalars(select(Client).limit(2)).all()
        reads = session.scalars(select(AuditLog).where(AuditLog.action == "read")).all()
    # codes, times and the town only: nothing personal is decrypted for a feed
    assert [str(e["SUMMARY"]).rsplit(" · ", 1)[-1] for e in events] == [c.code for c in clients]
    assert reads == []
    for client in clients:
        for field in ("name", "address", "phone"):
            token = getattr(client, f"{field}_enc")
            if token:
                assert vault.decrypt(token, f"clients.{field}") not in response.text


@pytest.mark.parametrize("token", ["", "wrong", "S0003's"])
def test_a_missing_wrong_or_other_token_is_refused(api: TestClient, token: str) -> None:
    if token == "S0003's":
        token = staff_feed_token("S0003")  # written when the county was seeded
    response = api.get(f"/feeds/visits/S0002.ics?token={token}")
    assert response.status_code == 401
    assert "BEGIN:VCALENDAR" not in response.text


def test_the_token_may_come_as_a_bearer_header(api: TestClient) -> None:
    token = staff_feed_token("S0002")
    response = api.get("/feeds/visits/S0002.ics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
