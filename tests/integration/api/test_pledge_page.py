"""The pledge page: staff only; reported actuals and execution through the gate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_api.app import create_app
from care_models import tokens
from care_models.pledges.cards import shipped_cards
from care_models.pledges.store import load_cards
from care_models.privacy import Vault
from care_models.schema import Budget, IndicatorActual
from tests.support.referrals import api_settings


@pytest.fixture
def api(county_engine: Engine, vault: Vault) -> Iterator[TestClient]:
    now = dt.datetime.now(dt.UTC)
    with Session(county_engine) as session, session.begin():
        load_cards(session, shipped_cards(), actor="test", now=now)
        token = tokens.issue(
            session,
            vault,
            tokens.Holder("staff", "S0001"),
            valid_for=dt.timedelta(days=1),
            actor="test",
        ).token
    app = create_app(settings=api_settings(), engine=county_engine, vault=vault)
    with TestClient(app, base_url="https://care.test") as client:
        client.headers.update({"Authorization": f"Bearer {token}", "X-Care-Staff": "S0001"})
        yield client


def test_staff_enter_a_reported_actual_and_an_execution_and_bad_ones_are_refused(
    api: TestClient, county_engine: Engine
) -> None:
    page = api.get("/staff/pledges?year=2026")
    assert page.status_code == 200 and "JC-CARE-2026" in page.text and "완료율" in page.text
    good = {
        "program": "JC-CARE-2026",
        "indicator": "home_life_possible",
        "period": "2026",
        "value": "95.5",
        "evidence": "2026 만족도 조사",
    }
    done = api.post("/staff/pledges/actuals", data=good, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "../pledges?recorded=1"
    refused = api.post("/staff/pledges/actuals", data={**good, "value": "-3"})
    assert refused.status_code == 422 and "value: must not be negative" in refused.text
    outside = api.post("/staff/pledges/actuals", data={**good, "period": "2031"})
    assert outside.status_code == 422 and "period:" in outside.text
    execution = {"program": "GIMCHEON-8-8", "source": "national", "period": "2025", "amount": "9"}
    over = api.post("/staff/pledges/executions", data=execution)
    assert over.status_code == 422 and "must not exceed the planned budget" in over.text
    assert (
        api.post(
            "/staff/pledges/executions", data={**execution, "amount": "3"}, follow_redirects=False
        ).status_code
        == 303
    )
    with Session(county_engine) as session:
        actual = session.scalar(
            select(IndicatorActual).where(IndicatorActual.evidence == "2026 만족도 조사")
        )
        executed = session.scalars(
            select(Budget.executed).where(Budget.executed.is_not(None))
        ).all()
    assert actual is not None and actual.entered_by == "staff:S0001" and actual.actual == 95.5
    assert executed == [3]
    api.headers.pop("Authorization")
    assert api.get("/staff/pledges", follow_redirects=False).status_code == 303
