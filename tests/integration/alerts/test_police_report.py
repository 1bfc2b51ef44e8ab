"""Day 2 afternoon: the police report, printable in Korean, with only what the police need."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.alerts.police import (
    build_police_report,
    purpose_of,
    render_police_report_html,
    write_police_report,
)
from care_models.alerts.protocol import record_step_outcome
from care_models.errors import ValidationError
from care_models.privacy import Vault
from care_models.schema import AuditLog, Client, Incident, OutboundMessage
from tests.integration.alerts.test_protocol import WEDNESDAY, escalate, seoul, silent_client
from tests.support.pdf import pdf_text

THURSDAY = WEDNESDAY + dt.timedelta(days=1)
NAME, ADDRESS, RRN, PHONE = (
    "김순자",
    "충북 진천군 진천읍 중앙로 12",
    "400101-2345678",
    "010-2222-3333",
)


def not_found_on_day2(engine: Engine, vault: Vault) -> int:
    """A person nobody reached on day 1 and nobody found at home on day 2."""
    client_id, incident_id = silent_client(engine, seoul(WEDNESDAY, 8))
    with Session(engine) as session, session.begin():
        client = session.get(Client, client_id)
        assert client is not None
        client.name_enc = vault.encrypt(NAME, "clients.name")
        client.address_enc = vault.encrypt(ADDRESS, "clients.address")
        client.rrn_enc = vault.encrypt(RRN, "clients.rrn")
        client.phone_enc = vault.encrypt(PHONE, "clients.phone")
    escalate(engine, seoul(WEDNESDAY, 8, 10))
    with Session(engine) as session, session.begin():
        record_step_outcome(
            session, incident_id, "day1_call", "no_answer", "SW-1", seoul(WEDNESDAY, 9)
        )
    escalate(engine, seoul(THURSDAY, 8, 10))
    with Session(engine) as session, session.begin():
        record_step_outcome(
            session, incident_id, "day2_home_visit", "not_found", "SW-1", seoul(THURSDAY, 11)
        )
    assert escalate(engine, seoul(THURSDAY, 11, 10))["steps_created"] == {"day2_police_report": 1}
    return incident_id


def test_the_police_report_names_the_person_and_the_home_but_nothing_needless(
    engine: Engine, vault: Vault, tmp_path: Path
) -> None:
    incident_id = not_found_on_day2(engine, vault)
    with Session(engine) as session, session.begin():
        report = build_police_report(
            session, vault, incident_id, actor="staff:SW-1", now=seoul(THURSDAY, 14)
        )
        # the coordinator was texted once that the report is due
        texts = session.scalars(
            select(OutboundMessage).where(OutboundMessage.purpose == "day2_police_report")
        ).all()
        assert [(t.recipient_role, t.natural_key) for t in texts] == [
            ("staff", f"incident:{incident_id}:day2_police_report:staff")
        ]
    assert NAME not in repr(report)
    html, pdf = write_police_report(report, tmp_path)
    page = html.read_text(encoding="utf-8")
    text = pdf_text(pdf.read_bytes())
    for document in (page, text):
        assert NAME in document and ADDRESS in document
        assert "1940년생" in document and "찾지 못함" in document
        assert "스마트 플러그" in document and "활동 미감지" in document
        assert RRN not in document and PHONE not in document
    assert "실종(소재불명) 신고서" in page
    with Session(engine) as session:
        (read,) = session.scalars(
            select(AuditLog).where(AuditLog.purpose == purpose_of(incident_id))
        )
        assert read.actor == "staff:SW-1" and sorted(read.fields) == ["address", "name"]


def test_no_police_report_before_the_day2_visit_found_nobody(engine: Engine, vault: Vault) -> None:
    _client, incident_id = silent_client(engine, seoul(WEDNESDAY, 8))
    escalate(engine, seoul(WEDNESDAY, 8, 10))
    with Session(engine) as session, session.begin():
        with pytest.raises(ValidationError, match="incident"):
            build_police_report(
                session, vault, incident_id, actor="staff:SW-1", now=seoul(WEDNESDAY, 9)
            )
        assert session.scalar(select(AuditLog.id).where(AuditLog.action == "read")) is None


def test_the_html_report_escapes_what_it_prints(engine: Engine, vault: Vault) -> None:
    incident_id = not_found_on_day2(engine, vault)
    with Session(engine) as session, session.begin():
        incident = session.get(Incident, incident_id)
        assert incident is not None
        client = session.get(Client, incident.client_id)
        assert client is not None
        client.name_enc = vault.encrypt("<script>x</script>", "clients.name")
        report = build_police_report(
            session, vault, incident_id, actor="staff:SW-1", now=seoul(THURSDAY, 14)
        )
    page = render_police_report_html(report)
    assert "<script>x" not in page and "&lt;script&gt;x" in page
