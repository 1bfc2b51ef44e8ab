"""The demo's device vendors, its SMS gateway, and the town desk's week.

:func:`vendor_simulators` starts the smart-plug, emergency-gateway and AI-call
simulators on 127.0.0.1, each serving a week of the synthetic county's fleet
(:func:`care_models.synthetic.alert_streams.realistic_stream`: daily status, faults
that recover, silences, check-in calls, rare emergencies, re-sent and corrected
alerts) ending yesterday evening in Seoul, through pages that repeat and overlap and
one 503, so that ``device_alert_sync`` shows what it keeps once. Before it runs, one
client with alerts that week is recorded in hospital, so those alerts are kept and
marked suppressed. The events are anchored to today's midnight in Seoul: a second
demo the same day serves the same alerts (stored once).

After the sync, :func:`desk_week` plays the town desk with the functions its page
and command line call: one incident closed on day 1 by a phone call, one that
reaches the day-2 home visit (its coordinator's day sheet, with the checklist), one
that reaches the police report (printed), and the rest reached on day 1.
:func:`print_alert_week` prints what happened and where the files are.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from care_models.alerts import police, protocol
from care_models.alerts.desk import open_incidents
from care_models.alerts.health import MAINTENANCE_KIND, device_problems
from care_models.config import Settings
from care_models.db import engine_from_settings, session_factory, transaction
from care_models.privacy import Vault
from care_models.schema import (
    Alert,
    AlertRevision,
    Client,
    ClientAbsence,
    Device,
    EscalationStep,
    Incident,
    OperationalAlert,
    Organisation,
    Staff,
    Visit,
)
from care_models.synthetic.alert_streams import HEARTBEAT, DeviceEvent, realistic_stream
from care_models.visits.publish import day_sheet_of_visits
from care_models.visits.sheets import render_day_sheet_html
from care_models.workdays import SEOUL, seoul_today
from care_sim.sms_gateway import SmsGatewaySimulator
from care_sim.vendors.aicall import AiCallSimulator
from care_sim.vendors.base import PolledVendorSimulator, VendorFaults
from care_sim.vendors.gateway import GatewaySimulator
from care_sim.vendors.plug import PlugSimulator

POLLED = {"V-PLUG": "smart_plug", "V-SENSOR": "emergency_sensor", "V-AICALL": "ai_call"}
DESK = "demo:town-desk"
# Pages that repeat, overlap and fail once: the sync must keep each alert once.
FAULTS = VendorFaults(duplicate_rate=0.15, overlap_requests=(2, 4), fail_requests=(3,), seed=5)


@dataclass
class VendorFleet:
    """The running simulators, their Connections and the week they serve."""

    connections: dict[str, str]
    simulators: dict[str, PolledVendorSimulator] = field(default_factory=dict)
    events: list[DeviceEvent] = field(default_factory=list)
    in_hospital: str | None = None  # the client code recorded away for the week

    def served(self) -> tuple[int, int]:
        """(records, of which alerts) delivered in pages so far, repeats included."""
        sims = self.simulators.values()
        return sum(s.records_served for s in sims), sum(s.alerts_served for s in sims)


def _devices(session: Session) -> dict[str, list[tuple[str, int]]]:
    rows = session.execute(
        select(Organisation.code, Device.external_id, Device.client_id)
        .join(Organisation, Organisation.id == Device.vendor_id)
        .where(Device.status == "active", Organisation.code.in_(POLLED))
        .order_by(Device.external_id)
    ).all()
    devices: dict[str, list[tuple[str, int]]] = {code: [] for code in POLLED}
    for code, external_id, client_id in rows:
        devices[code].append((external_id, client_id))
    return devices


def _in_hospital(
    session: Session,
    events: list[DeviceEvent],
    owners: dict[str, int],
    week: tuple[dt.datetime, dt.datetime],
) -> str | None:
    """Record the client of the week's first silence in hospital for the week (once)."""
    first = next((e for e in events if e.kind in ("power_no_change", "no_activity")), None)
    if first is None:
        return None
    client = session.get(Client, owners[first.device])
    if client is None:
        return None
    recorded = session.scalar(
        select(ClientAbsence.id).where(
            ClientAbsence.client_id == client.id, ClientAbsence.starts_at == week[0]
        )
    )
    if recorded is None:
        session.add(
            ClientAbsence(client_id=client.id, starts_at=week[0], until=week[1], reason="hospital")
        )
    return client.code


def _connection(host: str, **fields: object) -> str:
    return json.dumps({"conn_type": "http", "host": host, **fields})


@contextmanager
def vendor_simulators(settings: Settings) -> Iterator[VendorFleet]:
    """Start the three polled vendors and the SMS gateway; their Connections."""
    midnight = dt.datetime.combine(seoul_today(), dt.time(0), tzinfo=SEOUL)
    start = (midnight - dt.timedelta(days=7)).astimezone(dt.UTC)
    end = (midnight - dt.timedelta(hours=6)).astimezone(dt.UTC)  # yesterday 18:00
    engine = engine_from_settings(settings)
    try:
        with transaction(session_factory(engine)) as session:
            devices = _devices(session)
            fleet = [(code, POLLED[code], ext) for code, rows in devices.items() for ext, _ in rows]
            events = [
                e for e in realistic_stream(fleet, start=start, days=7) if e.occurred_at < end
            ]
            owners = {ext: client for rows in devices.values() for ext, client in rows}
            in_hospital = _in_hospital(session, events, owners, (start, end + dt.timedelta(days=2)))
    finally:
        engine.dispose()
    streams = {code: [e for e in events if e.vendor_code == code] for code in POLLED}
    with ExitStack() as stack:
        plug = stack.enter_context(PlugSimulator(streams["V-PLUG"], faults=FAULTS))
        gateway = stack.enter_context(GatewaySimulator(streams["V-SENSOR"], faults=FAULTS))
        calls = stack.enter_context(AiCallSimulator(streams["V-AICALL"], faults=FAULTS))
        sms = stack.enter_context(SmsGatewaySimulator(api_key="dev-sms-key"))
        print(
            f"==> device vendors on 127.0.0.1: plugs {plug.base_url}, gateways "
            f"{gateway.base_url}, AI calls {calls.base_url} ({len(events)} events of "
            f"{len(fleet)} devices over a week); SMS gateway {sms.base_url}"
        )
        if in_hospital:
            print(
                f"    {in_hospital} is recorded in hospital this week: "
                "its alerts are kept, suppressed"
            )
        yield VendorFleet(
            connections={
                "AIRFLOW_CONN_VENDOR_V_PLUG": _connection(
                    plug.base_url, extra={"api_key": "dev-plug-key"}
                ),
                "AIRFLOW_CONN_VENDOR_V_SENSOR": _connection(
                    gateway.base_url, extra={"token": "dev-gateway-token"}
                ),
                "AIRFLOW_CONN_VENDOR_V_AICALL": _connection(
                    calls.base_url, login="county", password="dev-aicall"
                ),
                "AIRFLOW_CONN_SMS_GATEWAY": _connection(
                    sms.base_url, extra={"api_key": "dev-sms-key"}
                ),
            },
            simulators={"V-PLUG": plug, "V-SENSOR": gateway, "V-AICALL": calls},
            events=events,
            in_hospital=in_hospital,
        )


# -- the town desk's week --------------------------------------------------------------------


@dataclass
class DeskWeek:
    """Incident ids of the stories, and the files the desk printed."""

    closed_day1: int | None = None
    day2_visit: int | None = None
    police_report: int | None = None
    reached_day1: int = 0
    files: list[Path] = field(default_factory=list)


def _aware(stamp: dt.datetime) -> dt.datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _coordinator(session: Session, incident: Incident) -> str:
    code = session.scalar(
        select(Staff.code)
        .join(Client, Client.usual_staff_id == Staff.id)
        .where(Client.id == incident.client_id)
    )
    return code or str(session.scalar(select(Staff.code).order_by(Staff.code)))


def _with_day2_visit(session: Session, incidents: list[Incident]) -> list[Incident]:
    booked = set(
        session.scalars(
            select(EscalationStep.incident_id).where(
                EscalationStep.step == "day2_home_visit", EscalationStep.visit_id.is_not(None)
            )
        )
    )
    return [i for i in incidents if i.id in booked]


def desk_week(settings: Settings) -> DeskWeek:
    """The desk's answers after the sync, with the functions its page calls."""
    engine = engine_from_settings(settings)
    week = DeskWeek()
    now = dt.datetime.now(dt.UTC)
    try:
        with transaction(session_factory(engine)) as session:
            incidents = list(
                session.scalars(
                    select(Incident).where(Incident.status == "open").order_by(Incident.opened_at)
                )
            )
            calm = [i for i in incidents if not i.critical]
            visited = _with_day2_visit(session, calm)
            if len(visited) >= 2:
                week.day2_visit, week.police_report = visited[-1].id, visited[0].id
            for incident in incidents:
                opened = _aware(incident.opened_at)
                staff = _coordinator(session, incident)
                if incident.critical:
                    protocol.record_step_outcome(
                        session, incident.id, "critical_notify", "acknowledged", staff, opened
                    )
                if incident.id in (week.day2_visit, week.police_report):
                    protocol.record_step_outcome(
                        session,
                        incident.id,
                        "day1_call",
                        "no_answer",
                        staff,
                        opened + dt.timedelta(hours=1),
                    )
                    continue
                protocol.record_step_outcome(
                    session,
                    incident.id,
                    "day1_call",
                    "reached",
                    staff,
                    opened + dt.timedelta(hours=1),
                )
                if week.closed_day1 is None and not incident.critical:
                    week.closed_day1 = incident.id
                else:
                    week.reached_day1 += 1
            if week.police_report is not None:
                step = session.scalar(
                    select(EscalationStep).where(
                        EscalationStep.incident_id == week.police_report,
                        EscalationStep.step == "day2_home_visit",
                    )
                )
                assert step is not None
                visit = session.get(Visit, step.visit_id)
                found_at = dt.datetime.combine(
                    visit.visit_date if visit else seoul_today(), dt.time(11), tzinfo=SEOUL
                )
                staff = _coordinator(session, session.get(Incident, week.police_report))  # type: ignore[arg-type]
                protocol.record_step_outcome(
                    session,
                    week.police_report,
                    "day2_home_visit",
                    "not_found",
                    staff,
                    min(found_at, now),
                )
            protocol.run_escalation(session, now)  # the police step falls due, the texts queue
            vault = Vault.from_settings(settings)
            out = settings.output_dir / "alerts"
            if week.police_report is not None:
                report = police.build_police_report(
                    session, vault, week.police_report, actor=DESK, now=now
                )
                week.files.extend(police.write_police_report(report, out))
            if week.day2_visit is not None:
                week.files.append(_day2_sheet(session, vault, week.day2_visit, out))
    finally:
        engine.dispose()
    return week


def _day2_sheet(session: Session, vault: Vault, incident_id: int, out: Path) -> Path:
    """The day sheet of whoever makes the day-2 visit, on its day (with the checklist)."""
    step = session.scalar(
        select(EscalationStep).where(
            EscalationStep.incident_id == incident_id, EscalationStep.step == "day2_home_visit"
        )
    )
    assert step is not None and step.visit_id is not None
    visit = session.get(Visit, step.visit_id)
    staff = session.get(Staff, visit.staff_id) if visit else None
    assert visit is not None and staff is not None
    sheet = day_sheet_of_visits(session, vault, staff.code, visit.visit_date, actor=DESK)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"day2-{staff.code}-{visit.visit_date.isoformat()}.html"
    path.write_text(render_day_sheet_html(sheet), encoding="utf-8")
    return path


# -- what the demo prints ----------------------------------------------------------------------


def _day2_line(session: Session, incident_id: int) -> str:
    row = session.execute(
        select(Visit.visit_date, Visit.start_at, Staff.code, Staff.role)
        .join(EscalationStep, EscalationStep.visit_id == Visit.id)
        .join(Staff, Staff.id == Visit.staff_id)
        .where(EscalationStep.incident_id == incident_id, EscalationStep.step == "day2_home_visit")
    ).one()
    start = _aware(row.start_at).astimezone(SEOUL) if row.start_at else None
    when = f"{row.visit_date} {start:%H:%M}" if start else str(row.visit_date)
    return f"home visit {when} (by 12:00) on {row.code}'s route"


def print_alert_week(settings: Settings, fleet: VendorFleet, week: DeskWeek) -> None:
    """Alerts received and kept once, incidents, the desk's stories, device health."""
    engine = engine_from_settings(settings)
    records, alert_records = fleet.served()
    try:
        with Session(engine) as session:
            from_vendors = Alert.kind != "silent_device"  # the platform raises those itself
            stored = (
                session.scalar(select(func.count()).select_from(Alert).where(from_vendors)) or 0
            )
            corrections = session.scalar(select(func.count()).select_from(AlertRevision)) or 0
            incidents = session.scalar(select(func.count()).select_from(Incident)) or 0
            merged = (
                session.scalar(
                    select(func.count()).select_from(Alert).where(Alert.incident_id.is_not(None))
                )
                or 0
            )
            suppressed = (
                session.scalar(select(func.count()).select_from(Alert).where(Alert.suppressed)) or 0
            )
            codes = dict(
                session.execute(
                    select(Incident.id, Client.code).join(Client, Client.id == Incident.client_id)
                ).all()
            )
            day2 = _day2_line(session, week.day2_visit) if week.day2_visit else None
            problems = Counter(p.problem for p in device_problems(session, dt.datetime.now(dt.UTC)))
            tasks = session.scalar(
                select(func.count())
                .select_from(OperationalAlert)
                .where(
                    OperationalAlert.kind == MAINTENANCE_KIND,
                    OperationalAlert.resolved_at.is_(None),
                )
            )
            still_open = open_incidents(session)
    finally:
        engine.dispose()
    heartbeats = sum(1 for e in fleet.events if e.kind == HEARTBEAT)
    print(
        f"==> device alerts, a week of {len(fleet.events)} events: the vendors' pages delivered "
        f"{records} records ({alert_records} alert records, repeats and overlaps included)"
    )
    print(
        f"    {stored} alerts stored once each ({alert_records - stored - corrections} repeats "
        f"dropped, {corrections} corrections recorded); {heartbeats} heartbeats: device health"
    )
    print(
        f"    {incidents} incidents, one per person, from {merged} alerts; {suppressed} suppressed"
    )
    if fleet.in_hospital:
        print(
            f"      suppressed: the alerts of {fleet.in_hospital}, in hospital, are kept and marked"
        )
    if week.closed_day1:
        print(
            f"    closed on day 1: #{week.closed_day1} {codes[week.closed_day1]}: "
            "the desk's call reached the person"
        )
    if week.day2_visit and day2:
        print(f"    day 2: #{week.day2_visit} {codes[week.day2_visit]}: no answer, texted; {day2}")
    if week.police_report:
        print(
            f"    police: #{week.police_report} {codes[week.police_report]}: "
            "nobody at home on day 2; report printed"
        )
    print(
        f"    {week.reached_day1} more reached on day 1; open now: {len(still_open)} "
        "(python -m care_models incidents)"
    )
    for path in week.files:
        print(f"      {path}")
    print(
        "    device health: "
        + (
            ", ".join(f"{n} {kind}" for kind, n in sorted(problems.items()))
            or "all devices heard from"
        )
        + f"; {tasks} maintenance tasks open (python -m care_models devices health)"
    )
    print("    the desk's page: /staff/incidents in the care API (sign in with a staff token)")
