"""The day-1 text: queued once, sent through the real gateway simulator, receipts read."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_hooks.http import RetryPolicy
from care_hooks.sms import SmsGatewayHook
from care_models.alerts.protocol import record_step_outcome, run_escalation
from care_models.notify import TEXTS, collect_receipts, send_queued
from care_models.privacy import Vault
from care_models.schema import (
    Client,
    EscalationStep,
    Incident,
    OperationalAlert,
    OutboundMessage,
)
from care_sim.sms_gateway import SmsFaults, SmsGatewaySimulator
from tests.integration.alerts.test_protocol import WEDNESDAY, seoul, silent_client

PERSON, GUARDIAN = "010-2345-6789", "01098765432"


@pytest.fixture
def texted(engine: Engine, vault: Vault) -> int:
    """An incident whose day-1 call went unanswered: its texts queued; the incident id."""
    client_id, incident_id = silent_client(engine, seoul(WEDNESDAY, 8))
    with Session(engine) as session, session.begin():
        client = session.get(Client, client_id)
        assert client is not None
        client.phone_enc = vault.encrypt(PERSON, "clients.phone")
        client.guardian_phone_enc = vault.encrypt(GUARDIAN, "clients.guardian_phone")
        client.guardian_consent = True
        run_escalation(session, seoul(WEDNESDAY, 8, 10))
        record_step_outcome(
            session, incident_id, "day1_call", "no_answer", "SW-1", seoul(WEDNESDAY, 9)
        )
        run_escalation(session, seoul(WEDNESDAY, 9, 10))
        run_escalation(session, seoul(WEDNESDAY, 9, 20))  # again: nothing queued twice
    return incident_id


def hook(monkeypatch: pytest.MonkeyPatch, gateway: SmsGatewaySimulator) -> SmsGatewayHook:
    connection = {"conn_type": "http", "host": gateway.base_url, "extra": {"api_key": "k"}}
    monkeypatch.setenv("AIRFLOW_CONN_SMS_GATEWAY", json.dumps(connection))
    return SmsGatewayHook(policy=RetryPolicy(attempts=2, backoff_seconds=0.01))


def test_texts_reach_the_person_and_the_consenting_guardian_once(
    engine: Engine, vault: Vault, texted: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmsGatewaySimulator(api_key="k") as gateway:
        sms = hook(monkeypatch, gateway)
        with Session(engine) as session, session.begin():
            first = send_queued(session, sms, vault, seoul(WEDNESDAY, 9, 30))
            again = send_queued(session, sms, vault, seoul(WEDNESDAY, 9, 40))
            receipts = collect_receipts(session, sms, seoul(WEDNESDAY, 9, 45))
            run_escalation(session, seoul(WEDNESDAY, 9, 50))
        sms.close()
    assert (first.sent, again.sent) == (2, 0)
    assert sorted(m.to for m in gateway.sent) == sorted(["01023456789", GUARDIAN])
    for message in gateway.sent:  # no name, no diagnosis: the fixed texts only
        assert message.text in TEXTS.values()
    assert receipts == {"delivered": 2, "failed": 0, "unknown": 0}
    with Session(engine) as session:
        statuses = sorted(session.scalars(select(OutboundMessage.status)))
        step = session.scalar(
            select(EscalationStep).where(
                EscalationStep.incident_id == texted, EscalationStep.step == "day1_text_message"
            )
        )
    assert statuses == ["delivered", "delivered"]
    assert step is not None and (step.status, step.outcome) == ("done", "sent")


def test_a_gateway_that_keeps_failing_dead_letters_the_text_for_the_team(
    engine: Engine, vault: Vault, texted: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmsGatewaySimulator(api_key="k", faults=SmsFaults(fail_sends=100)) as gateway:
        sms = hook(monkeypatch, gateway)
        results = []
        with Session(engine) as session, session.begin():
            for minute in (30, 40, 59):  # the second attempt waits out its backoff
                results.append(
                    send_queued(
                        session,
                        sms,
                        vault,
                        seoul(WEDNESDAY, 9, minute),
                        max_attempts=2,
                        backoff=dt.timedelta(minutes=15),
                    )
                )
        sms.close()
    assert [r.retried for r in results] == [2, 0, 0]
    assert [len(r.dead_lettered) for r in results] == [0, 0, 2]
    with Session(engine) as session:
        assert sorted(session.scalars(select(OutboundMessage.status))) == ["dead_letter"] * 2
        kinds = set(session.scalars(select(OperationalAlert.kind)))
        for error in session.scalars(select(OutboundMessage.last_error)):
            assert error is not None and PERSON not in error and GUARDIAN not in error
    assert "sms_dead_letter" in kinds
    assert gateway.sent == []


def test_an_undeliverable_number_is_a_failed_receipt(
    engine: Engine, vault: Vault, texted: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmsGatewaySimulator(api_key="k", faults=SmsFaults(undeliverable={GUARDIAN})) as gateway:
        sms = hook(monkeypatch, gateway)
        with Session(engine) as session, session.begin():
            send_queued(session, sms, vault, seoul(WEDNESDAY, 9, 30))
            counts = collect_receipts(session, sms, seoul(WEDNESDAY, 9, 45))
            assert collect_receipts(session, sms, seoul(WEDNESDAY, 9, 50))["delivered"] == 0
            run_escalation(session, seoul(WEDNESDAY, 9, 55))
        sms.close()
    assert counts == {"delivered": 1, "failed": 1, "unknown": 0}
    with Session(engine) as session:
        step = session.scalar(
            select(EscalationStep).where(EscalationStep.step == "day1_text_message")
        )
        assert step is not None and step.outcome == "undeliverable"


def test_a_critical_alert_texts_the_coordinator_at_once(
    engine: Engine, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from care_models.alerts.incidents import merge_alerts
    from care_models.schema import Staff
    from tests.integration.alerts.test_incidents import add_alert

    silent_client(engine, seoul(WEDNESDAY, 8))
    with Session(engine) as session, session.begin():
        coordinator = session.scalar(select(Staff).where(Staff.code == "SW-1"))
        assert coordinator is not None
        coordinator.phone_enc = vault.encrypt("010-1111-2222", "staff.phone")
        add_alert(session, "V-SPEAKER", 1, "sos", seoul(WEDNESDAY, 8, 30))
        merge_alerts(session, None, now=seoul(WEDNESDAY, 8, 31))
        result = run_escalation(session, seoul(WEDNESDAY, 8, 32))
        run_escalation(session, seoul(WEDNESDAY, 8, 42))  # once
    assert result.steps_created == {"critical_notify": 1, "day1_call": 1}
    with SmsGatewaySimulator(api_key="k") as gateway:
        sms = hook(monkeypatch, gateway)
        with Session(engine) as session, session.begin():
            send_queued(session, sms, vault, seoul(WEDNESDAY, 8, 33))
        sms.close()
    assert [m.to for m in gateway.sent] == ["01011112222"]
    assert gateway.sent[0].text == TEXTS[("critical_notify", "staff")]


def test_the_text_step_is_done_as_soon_as_the_gateway_took_the_texts(
    engine: Engine, vault: Vault, texted: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from care_models.alerts.protocol import send_texts

    with SmsGatewaySimulator(api_key="k") as gateway:
        sms = hook(monkeypatch, gateway)
        with Session(engine) as session, session.begin():
            result = send_texts(
                session,
                sms,
                vault,
                seoul(WEDNESDAY, 9, 30),
                max_attempts=4,
                backoff=dt.timedelta(minutes=2),
            )
            step = session.scalar(
                select(EscalationStep).where(
                    EscalationStep.incident_id == texted,
                    EscalationStep.step == "day1_text_message",
                )
            )
            incident = session.get(Incident, texted)
            assert result.sent == 2
            assert step is not None and (step.status, step.outcome) == ("done", "sent")
            assert incident is not None and incident.current_step != "day1_text_message"
        sms.close()
