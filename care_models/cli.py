"""Command line of the care database: ``python -m care_models COMMAND``.

Any configuration problem ends with one line naming the setting, exit status 2,
no traceback and nothing written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from care_models import tokens
from care_models.config import Settings, load_settings
from care_models.db import engine_from_settings, session_factory, transaction
from care_models.errors import CareError, ConfigurationError, MissingKeyError, ValidationError
from care_models.privacy import Vault, generate_key
from care_models.queries import load_query
from care_models.rendering.fonts import find_korean_font
from care_models.synthetic.county import build_county
from care_models.synthetic.load import county_counts, issue_synthetic_tokens, load_county

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _keygen(_settings: Settings | None, _args: argparse.Namespace) -> int:
    print(f"CARE_ENCRYPTION_KEYS={generate_key()}")
    print(f"CARE_MATCH_KEY={generate_key()}")
    print(f"CARE_TOKEN_KEY={generate_key()}")
    return 0


def _check(_settings: Settings | None, _args: argparse.Namespace) -> int:
    """Every runtime prerequisite, all checked before answering: one line per missing thing."""
    problems: list[str] = []
    settings, keys_checked = _settings_for_check(problems)
    if settings is not None and not keys_checked:
        try:
            Vault.from_settings(settings)
        except CareError as exc:
            problems.append(str(exc))
    url = "(not checked)"
    if settings is not None:
        try:
            url = engine_from_settings(settings).url.render_as_string(hide_password=True)
        except CareError as exc:
            problems.append(str(exc))
    try:
        font = find_korean_font().regular.name
    except CareError as exc:
        problems.append(str(exc))
    if settings is not None:
        problem = _output_problem(settings.output_dir)
        if problem:
            problems.append(problem)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    assert settings is not None
    print(f"ok: {settings.mode} mode, care database {url}")
    print(f"ok: Korean font {font}, output folder {settings.output_dir}")
    return 0


def _settings_for_check(problems: list[str]) -> tuple[Settings | None, bool]:
    """The settings, and whether the keys were already found missing (then not generated)."""
    try:
        return load_settings(), False
    except MissingKeyError:
        env = dict(os.environ)
        for name in ("CARE_ENCRYPTION_KEYS", "CARE_MATCH_KEY", "CARE_TOKEN_KEY"):
            if not env.get(name, "").strip():
                problems.append(f"{name}: required in production mode")
        env["CARE_MODE"] = "development"  # only to read the other settings and check them
    except CareError as exc:
        problems.append(str(exc))
        return None, True
    try:
        return load_settings(env), True
    except CareError as exc:
        problems.append(str(exc))
        return None, True


def _output_problem(output_dir: Path) -> str | None:
    """Why files cannot be written to ``output_dir`` (created if absent), or None."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=output_dir, prefix=".check-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        return f"CARE_OUTPUT_DIR: output folder {output_dir} is not writable: {exc.strerror or exc}"
    return None


def _migrate(settings: Settings | None, _args: argparse.Namespace) -> int:
    from care_models import migrations  # alembic takes a second to import; only here

    assert settings is not None
    engine = engine_from_settings(settings)
    migrations.upgrade(engine)
    print(f"care database migrated: {engine.url.render_as_string(hide_password=True)}")
    return 0


def _seed(settings: Settings | None, args: argparse.Namespace) -> int:
    """The synthetic county, development only; its tokens go to CARE_VAR_DIR/dev-tokens.json."""
    assert settings is not None
    if settings.production:
        raise ConfigurationError(
            "CARE_MODE", "seed loads a synthetic county: refused in production"
        )
    engine = engine_from_settings(settings)  # a bad URL stops before any key file is written
    vault = Vault.from_settings(settings)
    clients = args.clients or settings.synthetic_clients
    started = time.perf_counter()
    county = build_county(clients=clients, seed=settings.synthetic_seed)
    with transaction(session_factory(engine)) as session:
        counts = load_county(session, vault, county)
        tokens_file = issue_synthetic_tokens(session, vault, settings, county)
    elapsed = time.perf_counter() - started
    print(f"development tokens: {tokens_file}", file=sys.stderr)
    if args.json:
        print(json.dumps(counts))
    else:
        print(
            f"synthetic county ({clients} clients, seed {settings.synthetic_seed}) "
            f"loaded in {elapsed:.1f}s:"
        )
        for table, count in counts.items():
            print(f"  {table:<18} {count:>7}")
    return 0


def _summary(settings: Settings | None, _args: argparse.Namespace) -> int:
    """What the stages produced so far: county rows, gate results, quarantine, output files."""
    assert settings is not None
    engine = engine_from_settings(settings)
    with transaction(session_factory(engine)) as session:
        counts = county_counts(session)
        gates = session.execute(load_query("reports/select_latest_gate_results")).all()
        quarantine = session.execute(load_query("reports/count_open_quarantine")).all()
        alerts = session.execute(load_query("reports/count_open_operational_alerts")).all()
    print(f"care database: {engine.url.render_as_string(hide_password=True)}")
    print("  " + ", ".join(f"{table} {count}" for table, count in counts.items()))
    print("data-quality gates (latest run of each suite):")
    for gate in gates:
        verdict = "passed" if gate.success else "FAILED"
        print(
            f"  {gate.suite:<24} {verdict:<7} {gate.rows_evaluated:>6} rows, "
            f"{gate.rows_failed} quarantined"
        )
    if not gates:
        print("  (no gate has run yet)")
    for stage, rows in quarantine:
        print(f"  quarantine, stage {stage}: {rows} rows waiting for review")
    _print_alerts(alerts)
    print(f"output files: {settings.output_dir}")
    return 0


def _print_alerts(alerts: Sequence[Any]) -> None:
    """Open operational alerts, each kind with what to do about it."""
    from care_models.operations import REMEDIES

    print("operational alerts (open, for the team):")
    for alert in alerts:
        print(f"  {alert.workflow:<20} {alert.kind:<26} {alert.alerts:>5}")
        print(f"    {REMEDIES.get(alert.kind, 'see the workflow log')}")
    if not alerts:
        print("  (none)")


def _leave(settings: Settings | None, args: argparse.Namespace) -> int:
    """Record a coordinator's leave (e.g. sick today); say what the replan will move."""
    from care_models.visits.supply import record_leave

    assert settings is not None
    engine = engine_from_settings(settings)
    last = args.until or args.first
    with transaction(session_factory(engine)) as session:
        _leave_row, visits = record_leave(session, args.staff_code, args.first, last, args.reason)
    print(
        f"{args.staff_code}: {args.reason} leave {args.first.isoformat()}..{last.isoformat()} "
        f"recorded; {visits} planned or booked visits to move."
    )
    print(
        "Replan the plans in force (other routes stay as published): "
        """airflow dags trigger home_visit_planning -c '{"plan": "current"}'"""
    )
    return 0


def _token(settings: Settings | None, args: argparse.Namespace) -> int:
    """Issue, rotate or revoke a holder's token; a new token is printed once, here only."""
    assert settings is not None
    holder = tokens.Holder.from_options(args.hospital, args.staff)
    if args.action == "revoke" and args.days is not None:
        raise ValidationError("--days", "only issue and rotate take a lifetime")
    valid_for = tokens.lifetime(args.days, settings)
    engine = engine_from_settings(settings)
    vault = Vault.from_settings(settings)
    actor = f"cli:{_user()}"
    with transaction(session_factory(engine)) as session:
        if args.action == "revoke":
            count = tokens.revoke(session, holder, actor=actor)
            print(f"{holder.kind} {holder.code}: {count} live tokens revoked")
            return 0
        if args.action == "rotate":
            grace = dt.timedelta(minutes=settings.token_rotation_grace_minutes)
            issued = tokens.rotate(
                session, vault, holder, valid_for=valid_for, grace=grace, actor=actor
            )
        else:
            issued = tokens.issue(session, vault, holder, valid_for=valid_for, actor=actor)
    print(issued.token)
    print(
        f"{holder.kind} {holder.code}: new token, expires {issued.expires_at:%Y-%m-%d %H:%M} UTC; "
        "shown once, stored only as a keyed hash",
        file=sys.stderr,
    )
    return 0


def _vendors(settings: Settings | None, args: argparse.Namespace) -> int:
    """A vendor's push-signing secret: a new one printed once (rotate), or all revoked."""
    from care_models.alerts import signing

    assert settings is not None
    engine = engine_from_settings(settings)
    now, actor = tokens.utcnow(), f"cli:{_user()}"
    with transaction(session_factory(engine)) as session:
        if args.action == "revoke":
            count = signing.revoke_secrets(session, args.vendor_code, now=now, actor=actor)
            print(f"vendor {args.vendor_code}: {count} secrets revoked")
            return 0
        secret = signing.rotate_secret(
            session, Vault.from_settings(settings), args.vendor_code, now=now, actor=actor
        )
    print(secret)
    print(
        f"vendor {args.vendor_code}: new push-signing secret, shown once; older secrets "
        f"end in {signing.ROTATION_GRACE.days} day",
        file=sys.stderr,
    )
    return 0


def _incidents(settings: Settings | None, args: argparse.Namespace) -> int:
    """Open device-alert incidents and their next step; record an outcome; close one."""
    from care_models.alerts import desk, protocol

    assert settings is not None
    needed = {
        "outcome": ("incident", "step", "outcome", "staff"),
        "close": ("incident", "reason", "staff"),
        "police-report": ("incident", "staff"),
    }
    for name in needed.get(args.action, ()):
        if getattr(args, name) is None:
            raise ValidationError(f"--{name}", f"is required to {args.action} an incident")
    engine = engine_from_settings(settings)
    now = tokens.utcnow()
    with transaction(session_factory(engine)) as session:
        if args.action == "outcome":
            step = protocol.record_step_outcome(
                session, args.incident, args.step, args.outcome, args.staff, now
            )
            print(f"incident {args.incident}: {step.step} {step.outcome}")
            return 0
        if args.action == "police-report":
            return _police_report(session, settings, args.incident, args.staff, now)
        if args.action == "close":
            incident = protocol.close_incident(
                session, args.incident, args.reason, args.staff, None, now
            )
            print(f"incident {incident.id}: closed ({incident.close_reason})")
            return 0
        rows = desk.open_incidents(session)
    if args.json:
        print(json.dumps([row.as_dict() for row in rows], ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        flag = "!" if row.critical else " "
        print(
            f"{flag} #{row.incident_id:<5} {row.client_code:<8} {row.town:<6} {row.kind:<16} "
            f"since {row.opened_at}  {row.alerts} alerts  next: {row.next_step or '-'} "
            f"{row.next_due or ''}"
        )
    print(f"{len(rows)} open incidents")
    return 0


def _police_report(
    session: Session, settings: Settings, incident_id: int, staff: str, now: dt.datetime
) -> int:
    """Write the printable missing-person report (an audited read of name and address)."""
    from care_models.alerts import police

    report = police.build_police_report(
        session, Vault.from_settings(settings), incident_id, actor=f"staff:{staff}", now=now
    )
    html, pdf = police.write_police_report(report, settings.output_dir)
    print(f"incident {incident_id}: police report written")
    print(f"  {html}\n  {pdf}")
    return 0


def _alerts(settings: Settings | None, args: argparse.Namespace) -> int:
    """Advance the alert protocol as of any time: the function device_alert_sync runs."""
    from care_models.alerts import protocol

    assert settings is not None
    if args.action == "measures":
        return _alert_measures(settings, args)
    at = args.at or tokens.utcnow()
    engine = engine_from_settings(settings)
    with transaction(session_factory(engine)) as session:
        outcome = protocol.run_escalation(session, at)
    result = outcome.as_dict()
    if args.json:
        print(json.dumps({"at": at.isoformat(), **result}, ensure_ascii=False, indent=2))
        return 0
    steps = ", ".join(f"{k} {v}" for k, v in sorted(outcome.steps_created.items())) or "none"
    print(f"protocol as of {at.isoformat()}: steps now due: {steps}")
    print(f"day-2 visits booked: {result['day2_visits_booked']}")
    if result["day2_visits_booked"]:
        print(
            "replan their routes: airflow dags trigger home_visit_planning "
            """-c '{"plan": "current"}'"""
        )
    return 0


def _alert_measures(settings: Settings, args: argparse.Namespace) -> int:
    from care_models.alerts.measures import alert_measures, month

    if args.month is None:
        raise ValidationError("--month", "is required for measures (e.g. 2026-11)")
    engine = engine_from_settings(settings)
    with session_factory(engine)() as session:
        figures = alert_measures(session, *month(*args.month))
    if args.json:
        print(json.dumps(figures.as_dict(), ensure_ascii=False, indent=2))
        return 0
    start, end = figures.period
    print(f"device alerts {start}..{end} (end excluded)")
    for row in figures.alerts:
        kind, vendor, n = row["kind"], row["vendor_code"], row["alerts"]
        print(f"  {kind:<18} {vendor:<10} {n:>6} ({row['suppressed']} suppressed)")
    print(f"  incidents opened {figures.incidents_opened}, closed {figures.incidents_closed}")
    steps = ", ".join(f"{k} {v}" for k, v in figures.incidents_by_step.items()) or "none"
    print(f"  reached each step: {steps}")
    median, reached = figures.median_minutes_to_reach, figures.reached
    print(f"  median minutes to reach the person: {median} ({reached} reached)")
    print(f"  emergency calls {figures.emergency_calls}, passed to 119 {figures.passed_to_119}")
    households = ", ".join(f"{k} {v}" for k, v in figures.households_by_device_type.items())
    print(f"  households monitored: {households}")
    return 0


def _month(text: str) -> tuple[int, int]:
    try:
        day = dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError("not a month (YYYY-MM)") from None
    return day.year, day.month


def _conferences(settings: Settings | None, args: argparse.Namespace) -> int:
    """Every conference in a range, as the workflow and the timetables compute them."""
    from care_models.conferences import calendar, commands

    assert settings is not None
    if args.action in ("history", "measures"):
        return int(getattr(commands, args.action)(settings, args))
    engine = engine_from_settings(settings)
    with session_factory(engine)() as session:
        towns, closures = calendar.town_rules(session), calendar.closure_days(session)
    if args.town is not None and args.town not in {t.code for t in towns}:
        raise ValidationError("--town", "is not a town of the county")
    slots = calendar.conference_slots(
        args.start, args.end, towns, closures, tier=args.tier, town=args.town
    )
    if args.json:
        print(json.dumps([slot.as_dict() for slot in slots], ensure_ascii=False, indent=2))
        return 0
    names = {t.code: t.name for t in towns}
    for slot in slots:
        where = f"{slot.town_code} {names[slot.town_code]}" if slot.town_code else "county"
        moved = f"  (moved from {slot.rule_date}: {slot.move_reason})" if slot.move_reason else ""
        print(f"tier {slot.tier}  {slot.date} {slot.date:%a} {slot.start:%H:%M}  {where}{moved}")
    moved_count = sum(1 for s in slots if s.move_reason)
    print(f"{len(slots)} conferences, {moved_count} moved to the next business day")
    return 0


def _devices(settings: Settings | None, args: argparse.Namespace) -> int:
    """Devices offline, never heard from, or low on battery: maintenance, not escalation."""
    from care_models.alerts import health

    assert settings is not None
    at = args.at or tokens.utcnow()
    engine = engine_from_settings(settings)
    with session_factory(engine)() as session:
        problems = health.device_problems(session, at)
    if args.json:
        print(json.dumps([p.as_dict() for p in problems], ensure_ascii=False, indent=2))
        return 0
    for p in problems:
        battery = f" battery {p.battery_pct}%" if p.battery_pct is not None else ""
        print(
            f"{p.problem:<15} {p.vendor:<10} {p.device:<18} {p.client_code:<9} {p.town}"
            f"{'  last heard ' + p.since if p.since else ''}{battery}"
        )
    print(f"{len(problems)} device problems")
    return 0


def _backup(settings: Settings | None, args: argparse.Namespace) -> int:
    from care_models.backup import run_command

    assert settings is not None
    return run_command(engine_from_settings(settings), args.command, args.path, tokens.utcnow())


def _pledges(settings: Settings | None, args: argparse.Namespace) -> int:
    from care_models.pledges.commands import run

    assert settings is not None
    return run(settings, args)


def _instant(text: str) -> dt.datetime:
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a time (e.g. 2026-12-05T09:00+09:00)") from None
    if stamp.tzinfo is None:
        raise argparse.ArgumentTypeError("the time needs its offset (e.g. +09:00)")
    return stamp


def _incident_arguments(command: argparse.ArgumentParser) -> None:
    actions = ("list", "outcome", "close", "police-report")
    command.add_argument("action", nargs="?", default="list", choices=actions)
    command.add_argument("--incident", type=int, help="the incident number (outcome, close)")
    command.add_argument("--step", help="the protocol step, e.g. day1_call (outcome)")
    command.add_argument("--outcome", help="what the step found, e.g. no_answer (outcome)")
    command.add_argument("--reason", help="why it is closed, e.g. person_reached (close)")
    command.add_argument("--staff", help="who recorded it or prints the report: the staff code")
    command.add_argument("--json", action="store_true", help="list as JSON")


def _pledge_arguments(command: argparse.ArgumentParser) -> None:
    actions = ("load", "compute", "report", "progress", "actual", "executed")
    command.add_argument("action", choices=actions)
    command.add_argument("files", nargs="*", help="load: pledge card files (JSON)")
    command.add_argument("--year", type=int, help="compute, report: the year")
    command.add_argument(
        "--month", type=_month, help="progress: the last month counted, e.g. 2026-11"
    )
    command.add_argument("--program", help="a program code, e.g. JC-CARE-2026")
    command.add_argument("--indicator", help="actual: the indicator code")
    command.add_argument("--period", help="actual, executed: e.g. 2026 or 2026H1")
    command.add_argument("--value", help="actual: the reported value")
    command.add_argument("--by", help="actual: who enters it")
    command.add_argument("--evidence", help="actual: the document it rests on")
    command.add_argument("--source", help="executed: national, provincial, local or other")
    command.add_argument("--amount", help="executed: million won")
    command.add_argument("--json", action="store_true", help="print the result as JSON")


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


COMMANDS: dict[str, tuple[str, Callable[[Settings | None, argparse.Namespace], int]]] = {
    "keygen": ("print a fresh encryption key and match key", _keygen),
    "check": (
        "check every prerequisite: settings, keys, database, Korean font, output folder",
        _check,
    ),
    "migrate": ("apply the care database migrations", _migrate),
    "seed": ("load the synthetic county (idempotent)", _seed),
    "summary": ("print what the stages have produced", _summary),
    "leave": ("record a coordinator's leave, e.g. called in sick", _leave),
    "token": ("issue, rotate or revoke a hospital's or coordinator's token", _token),
    "vendors": ("register or rotate (secret) or revoke a device vendor's push secret", _vendors),
    "incidents": ("open device-alert incidents; record a step's outcome; close one", _incidents),
    "alerts": (
        "advance the device-alert protocol as of a time (escalate --at); a month's measures",
        _alerts,
    ),
    "conferences": (
        "the care conferences in a range (calendar), their measures, a synthetic history",
        _conferences,
    ),
    "devices": ("device health: offline, never reported, low battery (health)", _devices),
    "pledges": (
        "pledge cards: load, compute actuals, report, enter actuals and execution",
        _pledges,
    ),
    "backup": ("a backup of the care database (ciphertext only) and its manifest", _backup),
    "restore": ("restore a backup into an empty care database, counts checked", _backup),
}


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments end as every other error does: one line, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}\n")


def _token_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("action", choices=("issue", "rotate", "revoke"))
    command.add_argument("--hospital", help="the hospital's organisation code, e.g. H-JC-GEN")
    command.add_argument("--staff", help="the coordinator's staff code (calendar feed), e.g. S0003")
    command.add_argument(
        "--days", type=int, help="lifetime in days (default CARE_TOKEN_LIFETIME_DAYS)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m care_models", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, _fn) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        if name == "seed":
            command.add_argument("--clients", type=int, help="override CARE_SYNTHETIC_CLIENTS")
            command.add_argument("--json", action="store_true", help="print counts as JSON")
        if name == "leave":
            command.add_argument("staff_code", help="the coordinator, e.g. S0003")
            command.add_argument("first", type=_date, help="first day of leave (YYYY-MM-DD)")
            command.add_argument("--until", type=_date, help="last day (default: the first)")
            command.add_argument("--reason", default="sick", help="sick, annual, training, other")
        if name == "token":
            _token_arguments(command)
        if name == "incidents":
            _incident_arguments(command)
        if name == "conferences":
            command.add_argument("action", choices=("calendar", "history", "measures"))
            command.add_argument("--from", dest="start", type=_date, required=True)
            command.add_argument("--to", dest="end", type=_date, required=True)
            command.add_argument("--tier", type=int, choices=(1, 2))
            command.add_argument("--town", help="a town code: its tier-1 conferences only")
            command.add_argument("--json", action="store_true", help="print them as JSON")
        if name == "pledges":
            _pledge_arguments(command)
        if name in ("backup", "restore"):
            command.add_argument("path", type=Path, help="the backup file")
        if name == "devices":
            command.add_argument("action", choices=("health",))
            command.add_argument("--at", type=_instant, help="as of this time (default now)")
            command.add_argument("--json", action="store_true", help="print them as JSON")
        if name == "alerts":
            command.add_argument("action", choices=("escalate", "measures"))
            command.add_argument("--at", type=_instant, help="e.g. 2026-12-05T09:00+09:00")
            command.add_argument("--month", type=_month, help="measures: e.g. 2026-11")
            command.add_argument("--json", action="store_true", help="print the result as JSON")
        if name == "vendors":
            command.add_argument("action", choices=("secret", "revoke"))
            command.add_argument("vendor_code", help="the vendor code, e.g. V-SPEAKER")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        # check loads the settings itself, to report every missing thing at once
        settings = None if args.command in ("keygen", "check") else load_settings()
        return COMMANDS[args.command][1](settings, args)
    except CareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
