"""Real Airflow runs (`airflow dags test`) of each workflow against a real care database."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from care_models.db import make_engine
from care_models.schema import AuditLog, Client, GateResult
from care_models.synthetic.county import build_county
from tests.dags.airflow_runs import dags_test, prepare


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A migrated Airflow metadata database and a care database with the county."""
    home = tmp_path_factory.mktemp("airflow")
    yield home, prepare(home)


def _dags_test(home: Path, care_url: str, dag_id: str) -> subprocess.CompletedProcess[str]:
    return dags_test(home, care_url, dag_id)


def test_care_data_quality_passes_on_the_synthetic_county(airflow_home: tuple[Path, str]) -> None:
    home, care_url = airflow_home
    result = _dags_test(home, care_url, "care_data_quality")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "state=success" in output
    assert "county data quality: 3 suites, 469 rows, 0 quarantined" in output
    engine = make_engine(care_url)
    with Session(engine) as session:
        suites = sorted(session.scalars(select(GateResult.suite)))
        purges = sorted(
            session.scalars(select(AuditLog.entity).where(AuditLog.actor == "retention"))
        )
    engine.dispose()
    assert suites == ["county.clients", "county.staff", "county.towns"]
    # the daily retention task ran too, leaving one audit row per purge
    assert purges == ["audit_log", "published_sheets", "referral_bundle"]


def test_care_data_quality_fails_the_run_when_the_client_batch_is_bad(
    airflow_home: tuple[Path, str],
) -> None:
    home, care_url = airflow_home
    engine = make_engine(care_url)
    with Session(engine) as session, session.begin():
        codes = list(session.scalars(select(Client.code).limit(100)))
        session.execute(update(Client).where(Client.code.in_(codes)).values(latitude=None))
    engine.dispose()
    result = _dags_test(home, care_url, "care_data_quality")
    output = result.stdout + result.stderr
    assert "state=failed" in output
    assert "quality gate 'county' failed: 100 of 450 rows broke rules" in output
    assert "every client has home coordinates" in output
    for client in build_county().clients[:100]:
        assert client.person.name not in output


def test_device_alert_sync_pulls_each_vendor_once_and_a_dead_one_fails_alone(
    airflow_home: tuple[Path, str],
) -> None:
    """A real run: the plug vendor's alerts stored once (a re-run adds none); the AI-call
    vendor's Connection points at a closed port, and only that vendor fails."""
    import datetime as dt
    import json

    from care_models.schema import Alert, Device, EscalationStep, Incident, Organisation
    from care_models.synthetic.alert_streams import event_stream
    from care_sim.vendors.plug import PlugSimulator

    home, care_url = airflow_home
    engine = make_engine(care_url)
    with Session(engine) as session:
        plugs = sorted(
            session.scalars(
                select(Device.external_id)
                .join(Organisation, Organisation.id == Device.vendor_id)
                .where(Organisation.code == "V-PLUG", Device.status == "active")
            )
        )
    assert plugs, "the synthetic county has smart plugs"
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    # a day of events ending two days ago: every incident is past its day-2 morning
    events = event_stream([("V-PLUG", "smart_plug", d) for d in plugs], start=start, days=1)
    connections = {
        "AIRFLOW_CONN_VENDOR_V_AICALL": json.dumps(
            {"conn_type": "http", "host": "http://127.0.0.1:9", "login": "x", "password": "y"}
        )
    }
    with PlugSimulator(events, page_size=20) as plug:
        connections["AIRFLOW_CONN_VENDOR_V_PLUG"] = json.dumps(
            {"conn_type": "http", "host": plug.base_url, "extra": {"api_key": "dev-plug-key"}}
        )
        first = _dags_test_with(home, care_url, "device_alert_sync", connections)
        with Session(engine) as session:
            stored = session.scalar(select(func.count()).select_from(Alert))
            incidents = session.scalar(select(func.count()).select_from(Incident))
            unmerged = session.scalar(
                select(func.count())
                .select_from(Alert)
                .where(Alert.status == "open", Alert.incident_id.is_(None))
            )
        again = _dags_test_with(home, care_url, "device_alert_sync", connections)
        with Session(engine) as session:
            stored_again = session.scalar(select(func.count()).select_from(Alert))
            incidents_again = session.scalar(select(func.count()).select_from(Incident))
            calls = session.scalar(
                select(func.count())
                .select_from(EscalationStep)
                .where(EscalationStep.step == "day1_call")
            )
            day2 = session.scalar(
                select(func.count())
                .select_from(EscalationStep)
                .where(EscalationStep.step == "day2_home_visit")
            )
    engine.dispose()
    for result in (first, again):
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-3000:]
        assert "state=success" in output
    assert stored and stored == stored_again  # the re-run pulled from the watermark: nothing new
    # every alert was merged into an incident (per person) or read as device health
    assert unmerged == 0 and incidents and incidents == incidents_again
    # the silences are days old: every incident has its day-1 call and its day-2 visit, once
    assert calls == day2 == incidents
    assert "V-AICALL" in first.stdout + first.stderr  # the dead vendor is named, not hidden


def _dags_test_with(
    home: Path, care_url: str, dag_id: str, extra: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return dags_test(home, care_url, dag_id, **extra)


def test_care_conference_keeps_eight_weeks_of_conferences_and_a_rerun_adds_none(
    airflow_home: tuple[Path, str],
) -> None:
    from care_models.schema import Conference

    home, care_url = airflow_home
    first = _dags_test(home, care_url, "care_conference_tier2")
    engine = make_engine(care_url)
    with Session(engine) as session:
        tiers = sorted(session.scalars(select(Conference.tier)))
        uids = sorted(session.scalars(select(Conference.uid)))
    again = _dags_test(home, care_url, "care_conference_tier2")
    with Session(engine) as session:
        uids_again = sorted(session.scalars(select(Conference.uid)))
    engine.dispose()
    for result in (first, again):
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-3000:]
        assert "state=success" in output
    # 7 towns weekly and tier 2 twice a month, over 8 weeks from the run's date
    assert tiers.count(1) >= 7 * 8 and 3 <= tiers.count(2) <= 5
    assert uids == uids_again


def test_care_conferences_builds_agendas_invites_once_and_a_rerun_adds_nothing(
    airflow_home: tuple[Path, str],
) -> None:
    """A real run of the daily conference workflow with the SMTP simulator as relay."""
    import json

    from care_models.schema import AgendaItem, ConferenceParticipant
    from care_sim.smtp_server import SmtpSimulator

    home, care_url = airflow_home
    with SmtpSimulator() as relay:
        connection = {
            "AIRFLOW_CONN_SMTP_OUTBOUND": json.dumps(
                {"conn_type": "smtp", "host": "127.0.0.1", "port": relay.port}
            )
        }
        first = _dags_test_with(home, care_url, "care_conferences", connection)
        sent = len(relay.messages)
        engine = make_engine(care_url)
        with Session(engine) as session:
            items = session.scalar(select(func.count()).select_from(AgendaItem))
            invited = session.scalar(
                select(func.count())
                .select_from(ConferenceParticipant)
                .where(ConferenceParticipant.invited_sequence.is_not(None))
            )
        again = _dags_test_with(home, care_url, "care_conferences", connection)
        with Session(engine) as session:
            items_again = session.scalar(select(func.count()).select_from(AgendaItem))
        engine.dispose()
        sent_again = len(relay.messages)
    for result in (first, again):
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-3000:]
        assert "state=success" in output
    assert items and items == items_again
    assert sent and sent == invited and sent_again == sent  # each participant once
    calendar = [
        p
        for p in relay.messages[0].message.iter_attachments()
        if p.get_content_type() == "text/calendar"
    ]
    assert calendar and b"METHOD:REQUEST" in calendar[0].get_payload(decode=True)


def test_pledge_reports_loads_the_cards_once_computes_and_writes_the_report(
    airflow_home: tuple[Path, str], tmp_path: Path
) -> None:
    from care_models.schema import IndicatorActual, PledgeCardVersion
    from tests.support.pdf import pdf_text

    home, care_url = airflow_home
    out = tmp_path / "out"
    first = _dags_test_with(home, care_url, "pledge_reports", {"CARE_OUTPUT_DIR": str(out)})
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    tables = ("indicators.csv", "budget.csv", "report.xlsx")
    written = {name: next((out / "pledges").glob(f"*/{name}")).read_bytes() for name in tables}
    again = _dags_test_with(home, care_url, "pledge_reports", {"CARE_OUTPUT_DIR": str(out)})
    for name, content in written.items():  # a re-run for the same period: the same tables
        assert next((out / "pledges").glob(f"*/{name}")).read_bytes() == content, name
    for result in (first, again):
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-3000:]
        assert "state=success" in output
    engine = make_engine(care_url)
    with Session(engine) as session:
        versions = session.scalar(select(func.count()).select_from(PledgeCardVersion))
        computed = session.scalar(
            select(func.count())
            .select_from(IndicatorActual)
            .where(IndicatorActual.source == "computed")
        )
    engine.dispose()
    assert versions == 5 and computed  # five cards, once each; actuals from the care data
    (folder,) = (out / "pledges").iterdir()
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "완료율" in page and "JC-CARE-2026" in page and "GIMCHEON-8-8" in page
    assert "목표달성도" in pdf_text((folder / "report.pdf").read_bytes())
    assert (folder / "indicators.csv").read_bytes().startswith("\ufeff".encode())
    (monthly,) = (folder / "monthly").glob("*.html")  # a run off the schedule: month to date
    assert "공약 추진상황 점검" in monthly.read_text(encoding="utf-8")
