"""Signed vendor pushes through the care API: refused unless signed in time, stored once."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_api.app import create_app
from care_models.alerts.signing import live_secrets, revoke_secrets, rotate_secret
from care_models.db import session_factory
from care_models.privacy import Vault
from care_models.schema import Alert, AuditLog, VendorSecret
from care_models.synthetic.alert_streams import DeviceEvent
from care_sim.vendors.speaker import SpeakerSimulator
from tests.support.alerts import seed_rows
from tests.support.referrals import api_settings

PUSH = "/vendors/V-SPEAKER/alerts"


@pytest.fixture
def secret(engine: Engine, vault: Vault) -> str:
    seed_rows(engine)
    with Session(engine) as session, session.begin():
        return rotate_secret(session, vault, "V-SPEAKER", now=_now(), actor="test")


@pytest.fixture
def pushed() -> list[tuple[str, list[int]]]:
    return []


@pytest.fixture
def api(
    engine: Engine, vault: Vault, secret: str, pushed: list[tuple[str, list[int]]]
) -> Iterator[TestClient]:
    settings = api_settings(CARE_API_AUTH_FAILURES_PER_MINUTE="100")
    app = create_app(settings=settings, engine=engine, vault=vault)
    app.state.on_alerts_pushed = lambda vendor, ids: pushed.append((vendor, ids))
    with TestClient(app) as client:
        yield client


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _sos(event_id: str = "SOS-1", device: str = "V-SPEAKER-000001") -> DeviceEvent:
    return DeviceEvent("V-SPEAKER", "ai_speaker", event_id, device, "sos", _now())


def _push(
    api: TestClient, secret: str, event: DeviceEvent, timestamp: int | None = None
) -> httpx.Response:
    speaker = SpeakerSimulator(f"{api.base_url}{PUSH}", secret)
    return speaker.push(event, timestamp=timestamp, client=api)


def _alerts(engine: Engine) -> list[Alert]:
    with Session(engine) as session:
        return list(session.scalars(select(Alert)))


def test_a_signed_push_is_stored_once_and_wakes_the_workflow(
    api: TestClient, engine: Engine, secret: str, pushed: list[tuple[str, list[int]]]
) -> None:
    event = _sos()
    first = _push(api, secret, event)
    assert first.status_code == 201, first.text
    again = _push(api, secret, event)  # a replay within the window: nothing new
    assert again.status_code == 200 and again.json()["already_stored"] == 1
    [alert] = _alerts(engine)
    assert (alert.kind, alert.severity, alert.external_id) == ("sos", "critical", "SOS-1")
    assert pushed == [("V-SPEAKER", [alert.id])]


def test_a_bad_signature_is_refused_and_nothing_stored(
    api: TestClient, engine: Engine, secret: str
) -> None:
    body = SpeakerSimulator.body(_sos())
    stamp = str(int(time.time()))
    forged = {"X-Care-Timestamp": stamp, "X-Care-Signature": "v1=" + "0" * 64}
    assert api.post(PUSH, content=body, headers=forged).status_code == 401
    assert api.post(PUSH, content=body).status_code == 401  # unsigned
    wrong_key = _push(api, "not-the-secret", _sos())
    assert wrong_key.status_code == 401
    assert "X-Care-Signature" in wrong_key.text
    other_vendor = SpeakerSimulator(f"{api.base_url}/vendors/V-NOBODY/alerts", secret)
    assert other_vendor.push(_sos(), client=api).status_code == 401
    tampered = SpeakerSimulator(f"{api.base_url}{PUSH}", secret)
    headers = tampered.headers(body)
    assert api.post(PUSH, content=body + b" ", headers=headers).status_code == 401
    assert _alerts(engine) == []


def test_an_old_timestamp_is_refused(api: TestClient, engine: Engine, secret: str) -> None:
    old = int(time.time()) - 10 * 60
    answer = _push(api, secret, _sos(), timestamp=old)
    assert answer.status_code == 401 and "X-Care-Timestamp" in answer.text
    assert _alerts(engine) == []


def test_an_unknown_device_is_quarantined_with_its_rule(
    api: TestClient, engine: Engine, secret: str
) -> None:
    answer = _push(api, secret, _sos(device="V-SPEAKER-424242"))
    assert answer.status_code == 422 and "device: unknown" in answer.text
    assert "424242" not in answer.text
    assert _alerts(engine) == []


def test_rotation_keeps_the_old_secret_for_its_grace_and_revocation_ends_all(
    engine: Engine, vault: Vault, secret: str
) -> None:
    factory = session_factory(engine)
    now = _now()
    with factory() as session, session.begin():
        newer = rotate_secret(session, vault, "V-SPEAKER", now=now, actor="test")
    with factory() as session:
        assert set(live_secrets(session, vault, "V-SPEAKER", now)) == {secret, newer}
        later = now + dt.timedelta(days=2)
        assert live_secrets(session, vault, "V-SPEAKER", later) == [newer]
        stored = session.scalars(select(VendorSecret.secret_enc)).all()
        assert secret not in stored and newer not in stored  # encrypted at rest
    with factory() as session, session.begin():
        assert revoke_secrets(session, "V-SPEAKER", now=now, actor="test") == 2
    with factory() as session:
        assert live_secrets(session, vault, "V-SPEAKER", now + dt.timedelta(seconds=1)) == []
        actions = session.scalars(select(AuditLog.action)).all()
        assert "vendor_secret_revoke" in actions and "vendor_secret_rotate" in actions
