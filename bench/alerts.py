"""Device alerts benchmark: the vendor sync against the raw fetch, then a month of incidents.

(a) **sync**: the smart-plug, emergency-gateway and AI-call simulators
    (``care_sim.vendors``, polled HTTP servers on 127.0.0.1) are fed ``--alerts`` alerts
    (default 100,000) spread at random over the devices of the synthetic county
    (``--sync-clients``, default 10,000 clients), at times within the last ten days
    (inside every vendor's retention). The sync is the device_alert_sync DAG's own pull
    step (``care_tasks.alerts_ingest.pull_vendor_alerts``: a ``VendorHook`` per Airflow
    Connection ``vendor_<code>``, set as environment variables as the tests do, page by
    page from the watermark through the gate and the upsert) into a scratch SQLite
    database. The baseline, measured in the same run before and after the sync, is the
    raw fetch of the same pages: a plain httpx GET of every page and its JSON parsing,
    nothing stored. Prints both wall times and the ratio sync / baseline (goal: at
    most 3x), then a re-sync from the watermark (nothing new). The simulators answer
    with TCP_NODELAY here: as shipped, http.server's two writes an answer wait about
    40 ms a page for the client's delayed ACK, the same in both, which would hide the
    sync's own cost (``--simulator-stall`` keeps it).
(b) **month**: a ``--clients`` county (default 100,000) loaded with ``load_county`` into a
    scratch SQLite database, and a month (``--days``,
    default 30) of its fleet's alerts from ``realistic_stream`` (daily status, silences,
    faults, calls, emergencies, re-sent and corrected alerts), rendered by each vendor's
    simulator and mapped by the vendor's rules as the pull does, then inserted in bulk
    (SQLAlchemy core), each batch just before the run that would have pulled it. The
    DAG's merge (``merge_alerts``) and escalation (``run_escalation``) run at 09:00 and
    15:00 Seoul every day, each in its own transaction, so the day-1 call and the day-2
    visit (booked on a coordinator's route) happen. Unless ``--no-desk``, the town desk
    records outcomes after each run (``record_step_outcome``: most people reached by the
    day-1 call, the others by the day-2 visit, a few reported to the police and found),
    so incidents close as they do in the county; without it every incident stays open
    all month (the worst case for the escalation's scan). Prints alerts, incidents,
    steps, visits and the merge and escalation wall times (the desk's time apart).

    .venv/bin/python bench/alerts.py [--part all|sync|month] [--alerts 100000]
        [--sync-clients 10000] [--page-size 200] [--simulator-stall]
        [--clients 100000] [--days 30]
        [--start 2026-11-02] [--no-desk] [--seed 7]

A quick run: ``--alerts 5000 --clients 2000``. Absolute figures depend on the machine;
the ratio is against a baseline measured in the same run. Everything runs in a temporary
directory (databases, CARE_VAR_DIR, AIRFLOW_HOME), removed at the end; the shell's
``CARE_`` settings are not used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bench.scratch import Scratch, county_database, scratch_environment
from care_models.alerts.incidents import merge_alerts
from care_models.alerts.mapping import get_path, load_rules, map_record
from care_models.alerts.protocol import run_escalation
from care_models.db import session_factory
from care_models.schema import (
    Alert,
    Client,
    Device,
    EscalationStep,
    Incident,
    Organisation,
    OutboundMessage,
    Staff,
    Visit,
)
from care_models.synthetic.alert_streams import (
    ABNORMAL_TOPICS,
    HEARTBEAT,
    KINDS_BY_TYPE,
    DeviceEvent,
    county_devices,
    realistic_stream,
)
from care_models.synthetic.county import County, build_county
from care_models.workdays import SEOUL
from care_sim.desk import answer_due_steps
from care_sim.vendors import base as simulator_base
from care_sim.vendors.aicall import AiCallSimulator
from care_sim.vendors.base import PolledVendorSimulator
from care_sim.vendors.gateway import GatewaySimulator
from care_sim.vendors.plug import PlugSimulator

SYNC_RATIO_GOAL = 3.0  # sync / raw fetch and parse, at most
SYNC_NOW = dt.datetime(2026, 12, 3, 3, 0, tzinfo=dt.UTC)  # 12:00 in Seoul: the run's time
SYNC_WINDOW = dt.timedelta(days=10)  # alert times: within every vendor's retention
HOOK_PAGE_SIZE = 200  # what care_hooks.vendor.VendorHook asks for (DEFAULT_PAGE_SIZE)
RUN_HOURS = (9, 15)  # Seoul clock times of the month's merge and escalation runs
INSERT_CHUNK = 2000

# The polled vendors (code, device type, simulator) and their simulators' default
# credentials, as a Connection's extra (``login``: the Connection's login and password).
POLLED: tuple[tuple[str, str, type[PolledVendorSimulator]], ...] = (
    ("V-AICALL", "ai_call", AiCallSimulator),
    ("V-PLUG", "smart_plug", PlugSimulator),
    ("V-SENSOR", "emergency_sensor", GatewaySimulator),
)
AUTH: dict[str, dict[str, Any]] = {
    "V-PLUG": {"api_key": "dev-plug-key"},
    "V-SENSOR": {"token": "dev-gateway-token"},
    "V-AICALL": {"login": ("county", "dev-aicall")},
}


def say(message: str) -> None:
    print(message, flush=True)


# -- (a) the sync against the raw fetch --------------------------------------------------


def _detail(rng: random.Random, kind: str) -> dict[str, Any]:
    """The details a vendor sends with an alert of this kind (as the simulators render)."""
    if kind == "power_no_change":
        return {"hours": rng.choice((24, 36, 48))}
    if kind in ("fire", "gas"):
        return {"forwarded_119": True}
    if kind == "abnormal_answer":
        return {"topics": sorted(rng.sample(ABNORMAL_TOPICS, k=rng.randint(1, 2)))}
    if kind == "missed_call":
        return {"attempts": 3}
    if kind == "low_battery":
        return {"battery_pct": rng.randint(3, 15)}
    return {}


def sync_events(
    devices: Sequence[tuple[str, str, str]], count: int, now: dt.datetime, seed: int
) -> list[DeviceEvent]:
    """``count`` alerts on devices drawn at random, at times in the ``SYNC_WINDOW`` to
    ``now``, each of a kind its device type raises; in time order, as vendors serve them."""
    rng = random.Random(seed)
    window = int(SYNC_WINDOW.total_seconds()) - 300
    events = []
    for n in range(1, count + 1):
        vendor, device_type, device = rng.choice(devices)
        kind = rng.choice(KINDS_BY_TYPE[device_type])
        at = now - dt.timedelta(seconds=300 + rng.randrange(window))
        detail = _detail(rng, kind)
        events.append(
            DeviceEvent(vendor, device_type, f"{vendor}-B{n:08d}", device, kind, at, detail)
        )
    return sorted(events, key=lambda e: (e.occurred_at, e.event_id))


def set_connection(code: str, device_type: str, host: str) -> None:
    """The Airflow Connection ``vendor_<code>`` as an environment variable, the way
    tests/support/alerts.py's ``vendor_connection`` sets it for a test."""
    extra: dict[str, Any] = {"vendor_type": device_type, **AUTH[code]}
    connection: dict[str, Any] = {"conn_type": "http", "host": host}
    login = extra.pop("login", None)
    if login:
        connection["login"], connection["password"] = login
    connection["extra"] = extra
    os.environ["AIRFLOW_CONN_VENDOR_" + code.upper().replace("-", "_")] = json.dumps(connection)


def raw_fetch(servers: dict[str, PolledVendorSimulator]) -> tuple[float, int, int]:
    """The baseline: every page of every vendor, a plain GET and json.loads, no storage.

    Returns (seconds, pages, records)."""
    pages = records = 0
    started = time.perf_counter()
    for code, device_type, _cls in POLLED:
        paging = load_rules(device_type).paging
        assert paging is not None
        auth = AUTH[code]
        headers = {"Accept": "application/json"}
        if "api_key" in auth:
            headers["X-Api-Key"] = auth["api_key"]
        if "token" in auth:
            headers["Authorization"] = f"Bearer {auth['token']}"
        basic = httpx.BasicAuth(*auth["login"]) if "login" in auth else None
        url = servers[code].base_url + paging.path
        cursor = ""
        with httpx.Client(headers=headers, auth=basic, timeout=30.0) as client:
            while True:
                params = {paging.cursor_param: cursor, paging.size_param: str(HOOK_PAGE_SIZE)}
                response = client.get(url, params=params)
                response.raise_for_status()
                document = json.loads(response.content)
                pages += 1
                records += len(get_path(document, paging.records))
                cursor = str(get_path(document, paging.next_cursor))
                if get_path(document, paging.more) != paging.more_when:
                    break
    return time.perf_counter() - started, pages, records


def run_sync(
    scratch: Scratch, alerts: int, sync_clients: int, page_size: int, seed: int, stall: bool
) -> None:
    say(
        f"== (a) sync: {alerts} alerts from the plug, gateway and AI-call simulators "
        f"through the DAG's pull step, against the raw fetch of the same pages"
    )
    # http.server sends an answer's headers and body in two writes; without TCP_NODELAY
    # the second waits for the client's delayed ACK, about 40 ms a page on Linux loopback.
    # That stall is the simulator's, not the network's nor ours: off unless asked for.
    simulator_base._Handler.disable_nagle_algorithm = not stall
    say(
        "   simulators "
        + ("as shipped (about 40 ms a page of Nagle stall)" if stall else "with TCP_NODELAY")
    )
    started = time.perf_counter()
    county = build_county(clients=sync_clients)
    devices = [d for d in county_devices(county) if d[0] in AUTH]
    url = f"sqlite:///{scratch.folder / 'sync.db'}"
    engine = county_database(url, scratch.vault, county)
    events = sync_events(devices, alerts, SYNC_NOW, seed)
    per_vendor = Counter(e.vendor_code for e in events)
    say(
        f"   county of {sync_clients} clients, {len(devices)} polled devices "
        f"({', '.join(f'{k} {v}' for k, v in sorted(Counter(d[0] for d in devices).items()))}); "
        f"alerts {', '.join(f'{k} {v}' for k, v in sorted(per_vendor.items()))}; "
        f"prepared in {time.perf_counter() - started:.1f} s"
    )
    os.environ["CARE_DATABASE_URL"] = url
    # Imported before the clock starts, as in an Airflow worker (Airflow's import and
    # settings take seconds the first time; the baseline's imports are warm too).
    import care_hooks.vendor  # noqa: F401
    from care_tasks.alerts_ingest import pull_vendor_alerts

    with ExitStack() as stack:
        servers: dict[str, PolledVendorSimulator] = {}
        for code, device_type, cls in POLLED:
            mine = [e for e in events if e.vendor_code == code]
            server = stack.enter_context(cls(mine, page_size=page_size))
            servers[code] = server
            set_connection(code, device_type, server.base_url)
        raw_fetch(servers)  # warm: imports, connections, the simulators' first pages
        before, pages, records = raw_fetch(servers)
        say(f"   raw fetch (before): {before:7.2f} s, {pages} pages, {records} records")
        began = time.perf_counter()
        pulled = pull_vendor_alerts(SYNC_NOW.isoformat())
        sync_s = time.perf_counter() - began
        after, _pages, _records = raw_fetch(servers)
        say(f"   raw fetch (after):  {after:7.2f} s")
        again = time.perf_counter()
        second = pull_vendor_alerts(SYNC_NOW.isoformat())
        resync_s = time.perf_counter() - again
    baseline = (before + after) / 2
    with Session(engine) as session:
        stored = session.scalar(select(func.count(Alert.id))) or 0
    engine.dispose()
    for code, outcome in sorted(pulled["vendors"].items()):
        say(
            f"   {code}: {outcome.get('status')}, {outcome.get('pages')} pages, "
            f"{outcome.get('received')} received, {outcome.get('new')} new, "
            f"{outcome.get('quarantined')} quarantined, "
            f"{outcome.get('health_updates')} device health updates"
        )
    ratio = sync_s / baseline
    verdict = "goal met" if ratio <= SYNC_RATIO_GOAL else "goal MISSED"
    say(
        f"   sync: {sync_s:7.2f} s, {alerts / sync_s:8.1f} alerts/s; {stored} alerts stored "
        f"(of {alerts}); {pulled['failed_vendors']} vendors failed"
    )
    say(
        f"   raw fetch and parse: {baseline:7.2f} s (mean of before and after), "
        f"{alerts / baseline:8.1f} alerts/s"
    )
    say(f"   ratio sync / raw fetch: {ratio:.2f} (goal <= {SYNC_RATIO_GOAL:g}: {verdict})")
    new_again = sum(int(o.get("new", 0)) for o in second["vendors"].values())
    say(f"   re-sync from the watermark: {resync_s:.2f} s, {new_again} new")


# -- (b) a month of merging and escalating ---------------------------------------------------


SIMULATORS: dict[str, PolledVendorSimulator] = {}


def _renderer(device_type: str) -> PolledVendorSimulator:
    """A simulator (not started) whose ``render`` writes records as its vendor does."""
    if device_type not in SIMULATORS:
        cls = next(c for _code, t, c in POLLED if t == device_type)
        SIMULATORS[device_type] = cls()
    return SIMULATORS[device_type]


def month_alert_rows(
    engine: Engine,
    county: County,
    start: dt.datetime,
    days: int,
    seed: int,
    chunk: int = 2000,
) -> list[dict[str, Any]]:
    """Alerts rows of the county's fleet over ``days``, as the pull would store them.

    Events from ``realistic_stream`` (per chunk of devices, each with its own seed),
    heartbeats left out; each rendered by its vendor's simulator and mapped by its
    vendor's rules; a re-sent alert is one row, a corrected one its latest content.
    """
    with Session(engine) as session:
        vendors = dict(
            session.execute(
                select(Organisation.code, Organisation.id).where(Organisation.kind == "vendor")
            ).all()
        )
        device_rows = session.execute(
            select(Device.vendor_id, Device.external_id, Device.id, Device.client_id)
        ).all()
    owners = {(v, e): (d, c) for v, e, d, c in device_rows}
    devices = [d for d in county_devices(county) if d[0] in AUTH]
    rules = {t: load_rules(t) for _c, t, _cls in POLLED}
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for index, first in enumerate(range(0, len(devices), chunk)):
        part = devices[first : first + chunk]
        for event in realistic_stream(part, start=start, days=days, seed=seed + index):
            if event.kind == HEARTBEAT:
                continue
            record = _renderer(event.device_type).render(event)
            mapped = map_record(record, rules[event.device_type])
            if mapped.action != "alert":
                continue
            vendor_id = vendors[event.vendor_code]
            device_id, client_id = owners[(vendor_id, event.device)]
            rows[(vendor_id, mapped.external_id)] = {
                "vendor_id": vendor_id,
                "external_id": mapped.external_id,
                "device_id": device_id,
                "client_id": client_id,
                "kind": mapped.kind,
                "severity": mapped.severity,
                "occurred_at": mapped.occurred_at,
                "vendor_kind": mapped.vendor_kind,
                "passed_to_119": mapped.passed_to_119,
                "payload": dict(mapped.payload),
                "status": "open",
                "revision": 1,
            }
    return sorted(rows.values(), key=lambda r: (r["occurred_at"], r["external_id"]))


@dataclass
class MonthTotals:
    merge_s: float = 0.0
    escalate_s: float = 0.0
    insert_s: float = 0.0
    desk_s: float = 0.0
    runs: int = 0
    inserted: int = 0
    merged: int = 0
    device_health: int = 0
    suppressed: int = 0
    opened: int = 0
    steps: Counter[str] = field(default_factory=Counter)
    visits_booked: int = 0
    unassigned: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    slowest_run: tuple[float, str] = (0.0, "")


def desk(
    factory: sessionmaker[Session],
    now: dt.datetime,
    staff_code: str,
    rng: random.Random,
    totals: MonthTotals,
) -> None:
    """The town desk records the outcome of every step due by ``now``."""
    totals.outcomes += answer_due_steps(factory, now, staff_code, rng)


def run_times(start: dt.date, days: int) -> list[dt.datetime]:
    return [
        dt.datetime.combine(start + dt.timedelta(days=d), dt.time(hour), SEOUL).astimezone(dt.UTC)
        for d in range(days)
        for hour in RUN_HOURS
    ]


def run_month(
    scratch: Scratch, clients: int, days: int, start: dt.date, desk_on: bool, seed: int
) -> None:
    say(
        f"\n== (b) a month: {days} days of alerts of a {clients}-client county, merged and "
        f"escalated at {' and '.join(f'{h:02d}:00' for h in RUN_HOURS)} Seoul each day"
        f"{', the desk recording outcomes' if desk_on else ', no desk (incidents stay open)'}"
    )
    began = time.perf_counter()
    county = build_county(clients=clients)
    engine = county_database(f"sqlite:///{scratch.folder / 'month.db'}", scratch.vault, county)
    loaded = time.perf_counter() - began
    began = time.perf_counter()
    first = dt.datetime.combine(start, dt.time(0), SEOUL).astimezone(dt.UTC)
    rows = month_alert_rows(engine, county, first, days, seed)
    kinds = Counter(r["kind"] for r in rows)
    say(
        f"   county loaded in {loaded:.1f} s ({len(county.clients)} clients, "
        f"{sum(len(c.devices) for c in county.clients)} devices, {len(county.staff)} staff); "
        f"{len(rows)} alerts made in {time.perf_counter() - began:.1f} s "
        f"({', '.join(f'{k} {v}' for k, v in kinds.most_common())})"
    )
    factory = session_factory(engine)
    with Session(engine) as session:
        staff_code = session.scalar(select(Staff.code).order_by(Staff.code))
    assert staff_code is not None
    totals = MonthTotals()
    rng = random.Random(seed)
    position = 0
    for index, now in enumerate(run_times(start, days)):
        t0 = time.perf_counter()
        batch = []
        while position < len(rows) and rows[position]["occurred_at"] <= now:
            batch.append(rows[position])
            position += 1
        with factory.begin() as session:  # what the syncs stored since the last run
            for part in range(0, len(batch), INSERT_CHUNK):
                session.execute(insert(Alert), batch[part : part + INSERT_CHUNK])
        totals.inserted += len(batch)
        t1 = time.perf_counter()
        with factory.begin() as session:
            merged = merge_alerts(session, None, now=now)
        t2 = time.perf_counter()
        with factory.begin() as session:
            escalated = run_escalation(session, now)
        t3 = time.perf_counter()
        if desk_on:
            desk(factory, now, staff_code, rng, totals)
        t4 = time.perf_counter()
        totals.runs += 1
        totals.insert_s += t1 - t0
        totals.merge_s += t2 - t1
        totals.escalate_s += t3 - t2
        totals.desk_s += t4 - t3
        totals.merged += merged.merged
        totals.device_health += merged.device_health
        totals.suppressed += merged.suppressed
        totals.opened += len(merged.incidents_opened())
        totals.steps.update(escalated.steps_created)
        totals.visits_booked += len(escalated.visits_booked)
        totals.unassigned += len(escalated.unassigned)
        local = now.astimezone(SEOUL)
        if t3 - t1 > totals.slowest_run[0]:
            totals.slowest_run = (t3 - t1, f"{local:%m-%d %H:%M}")
        if index % len(RUN_HOURS) == len(RUN_HOURS) - 1:
            with Session(engine) as session:
                still_open = session.scalar(
                    select(func.count(Incident.id)).where(Incident.status == "open")
                )
            say(
                f"   {local:%a %m-%d}: {totals.inserted:7d} alerts in, {totals.merged:7d} "
                f"merged, {totals.opened:6d} incidents opened, {still_open:6d} open; "
                f"merge {totals.merge_s:7.1f} s, escalate {totals.escalate_s:7.1f} s, "
                f"desk {totals.desk_s:6.1f} s so far"
            )
    report_month(engine, totals, len(rows))
    engine.dispose()


def report_month(engine: Engine, totals: MonthTotals, made: int) -> None:
    with Session(engine) as session:
        alerts = session.scalar(select(func.count(Alert.id))) or 0
        statuses = Counter(
            dict(session.execute(select(Alert.status, func.count()).group_by(Alert.status)).all())
        )
        incidents = Counter(
            dict(
                session.execute(
                    select(Incident.status, func.count()).group_by(Incident.status)
                ).all()
            )
        )
        critical = session.scalar(select(func.count(Incident.id)).where(Incident.critical)) or 0
        steps = session.execute(
            select(EscalationStep.step, EscalationStep.status, func.count()).group_by(
                EscalationStep.step, EscalationStep.status
            )
        ).all()
        visits = session.scalar(select(func.count(Visit.id)).where(Visit.source == "alert")) or 0
        texts = session.scalar(select(func.count(OutboundMessage.id))) or 0
        people = session.scalar(select(func.count(func.distinct(Incident.client_id)))) or 0
        clients = session.scalar(select(func.count(Client.id))) or 0
    say(
        f"   alerts: {alerts} stored of {made} made (after the last run: "
        f"{made - totals.inserted} left for the next); "
        + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    )
    say(
        f"   merge: {totals.merged} merged into incidents, {totals.device_health} device health, "
        f"{totals.suppressed} suppressed"
    )
    say(
        f"   incidents: {sum(incidents.values())} ({critical} critical) for {people} of "
        f"{clients} clients; " + ", ".join(f"{k} {v}" for k, v in sorted(incidents.items()))
    )
    by_step: dict[str, Counter[str]] = {}
    for step, status, count in steps:
        by_step.setdefault(step, Counter())[status] += count
    say(f"   steps: {sum(sum(c.values()) for c in by_step.values())} created")
    for step, counts in sorted(by_step.items()):
        say(f"      {step:<20} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    say(f"   day-2 visits booked: {visits} ({totals.unassigned} unassigned); texts queued: {texts}")
    if totals.outcomes:
        say(
            "   desk outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.outcomes.items()))
        )
    work = totals.merge_s + totals.escalate_s
    say(
        f"   time over {totals.runs} runs: merge {totals.merge_s:.1f} s, escalation "
        f"{totals.escalate_s:.1f} s, together {work:.1f} s ({work / max(1, totals.runs):.2f} s "
        f"a run, slowest {totals.slowest_run[0]:.2f} s at {totals.slowest_run[1]}); "
        f"apart: alert inserts {totals.insert_s:.1f} s, desk {totals.desk_s:.1f} s"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--part", choices=("all", "sync", "month"), default="all")
    parser.add_argument("--alerts", type=int, default=100_000, help="alerts to sync (a)")
    parser.add_argument(
        "--sync-clients", type=int, default=10_000, help="county whose devices raise them (a)"
    )
    parser.add_argument(
        "--page-size", type=int, default=HOOK_PAGE_SIZE, help="the simulators' largest page (a)"
    )
    parser.add_argument(
        "--simulator-stall",
        action="store_true",
        help="keep the simulators' 40 ms a page Nagle stall (a)",
    )
    parser.add_argument("--clients", type=int, default=100_000, help="county size (b)")
    parser.add_argument("--days", type=int, default=30, help="days of alerts (b)")
    parser.add_argument(
        "--start", type=dt.date.fromisoformat, default=dt.date(2026, 11, 2), help="first day (b)"
    )
    parser.add_argument("--no-desk", action="store_true", help="nobody records outcomes (b)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if min(args.alerts, args.sync_clients, args.page_size, args.clients, args.days) < 1:
        parser.error("sizes must be at least 1")
    with scratch_environment("care-bench-alerts-") as scratch:
        if args.part in ("all", "sync"):
            run_sync(
                scratch,
                args.alerts,
                args.sync_clients,
                args.page_size,
                args.seed,
                args.simulator_stall,
            )
        if args.part in ("all", "month"):
            run_month(scratch, args.clients, args.days, args.start, not args.no_desk, args.seed)


if __name__ == "__main__":
    main()
