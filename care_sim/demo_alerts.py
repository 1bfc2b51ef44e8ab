"""The demo's device vendors (three polled vendor APIs serving the county's devices)
and its SMS gateway.

:func:`vendor_simulators` starts the smart-plug, emergency-gateway and AI-call
simulators on 127.0.0.1, each serving a day of events (heartbeats, silences, an
emergency or two) of the synthetic county's own devices, ending two days before
today, so that the protocol's day-1 and day-2 steps are all due when
``device_alert_sync`` runs; it yields the Airflow Connections (environment
variables) that point the workflow at them. The events are anchored to today's
midnight in Seoul: a second demo the same day serves the same alerts (stored once).
:func:`print_incidents` prints what the town desk would see.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.alerts.desk import open_incidents
from care_models.alerts.health import device_problems
from care_models.config import Settings
from care_models.db import engine_from_settings
from care_models.schema import Device, Organisation
from care_models.synthetic.alert_streams import event_stream
from care_models.workdays import SEOUL, seoul_today
from care_sim.sms_gateway import SmsGatewaySimulator
from care_sim.vendors.aicall import AiCallSimulator
from care_sim.vendors.gateway import GatewaySimulator
from care_sim.vendors.plug import PlugSimulator

POLLED = {"V-PLUG": "smart_plug", "V-SENSOR": "emergency_sensor", "V-AICALL": "ai_call"}


def _devices(settings: Settings) -> dict[str, list[str]]:
    engine = engine_from_settings(settings)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(Organisation.code, Device.external_id)
                .join(Organisation, Organisation.id == Device.vendor_id)
                .where(Device.status == "active", Organisation.code.in_(POLLED))
                .order_by(Device.external_id)
            ).all()
    finally:
        engine.dispose()
    devices: dict[str, list[str]] = {code: [] for code in POLLED}
    for code, external_id in rows:
        devices[code].append(external_id)
    return devices


def _connection(host: str, **fields: object) -> str:
    return json.dumps({"conn_type": "http", "host": host, **fields})


@contextmanager
def vendor_simulators(settings: Settings) -> Iterator[dict[str, str]]:
    """Start the three polled vendors; their Connections as environment variables."""
    midnight = dt.datetime.combine(seoul_today(), dt.time(0), tzinfo=SEOUL)
    start = (midnight - dt.timedelta(days=3)).astimezone(dt.UTC)
    streams = {
        code: event_stream([(code, kind, d) for d in devices], start=start, days=1)
        for code, devices in _devices(settings).items()
        for kind in (POLLED[code],)
    }
    with ExitStack() as stack:
        plug = stack.enter_context(PlugSimulator(streams["V-PLUG"]))
        gateway = stack.enter_context(GatewaySimulator(streams["V-SENSOR"]))
        calls = stack.enter_context(AiCallSimulator(streams["V-AICALL"]))
        sms = stack.enter_context(SmsGatewaySimulator(api_key="dev-sms-key"))
        print(
            f"==> device vendors on 127.0.0.1: plugs {plug.base_url}, gateways "
            f"{gateway.base_url}, AI calls {calls.base_url} "
            f"({sum(len(s) for s in streams.values())} events); SMS gateway {sms.base_url}"
        )
        yield {
            "AIRFLOW_CONN_VENDOR_V_PLUG": _connection(
                plug.base_url, extra={"api_key": "dev-plug-key"}
            ),
            "AIRFLOW_CONN_VENDOR_V_SENSOR": _connection(
                gateway.base_url, extra={"token": "dev-gateway-token"}
            ),
            "AIRFLOW_CONN_VENDOR_V_AICALL": _connection(
                calls.base_url, login="county", password="dev-aicall"
            ),
            "AIRFLOW_CONN_SMS_GATEWAY": _connection(sms.base_url, extra={"api_key": "dev-sms-key"}),
        }


def print_incidents(settings: Settings, limit: int = 10) -> None:
    """The open incidents as the town desk sees them (no personal data)."""
    engine = engine_from_settings(settings)
    try:
        with Session(engine) as session:
            rows = open_incidents(session)
            problems = device_problems(session, dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()
    critical = sum(1 for row in rows if row.critical)
    print(f"==> device alerts: {len(rows)} open incidents ({critical} critical), one per person")
    for row in rows[:limit]:
        print(
            f"    {'!' if row.critical else ' '} {row.client_code} {row.town} {row.kind}: "
            f"{row.alerts} alerts since {row.opened_at}; next {row.next_step} {row.next_due}"
        )
    print("    the desk's list: python -m care_models incidents")
    kinds = Counter(p.problem for p in problems)
    print(
        "    device health: "
        + (
            ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            or "all devices heard from"
        )
        + " (python -m care_models devices health)"
    )
