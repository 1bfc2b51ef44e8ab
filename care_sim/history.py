"""Years of the synthetic county's operations, made by the workflows' own code.

:func:`simulate_operations` walks simulated time from ``start`` to ``end`` and on each
day does what the county's workflows and people do, with the functions the DAGs run,
so that the pledge report has real rows to count:

- **discharge referrals** (Mondays): Bundles in the partner hospitals' shapes are
  validated and stored (``submit_referral``) and answered by the intake
  (``run_intake``): matched, triaged, a case opened and the first visit booked;
- **device alerts** (every day, at 09:00 Seoul): the fleet's events of the day before
  (``realistic_stream``, a week at a time: its chances are per week), written as
  each vendor writes them by its simulator, go through the vendor gate and store
  (``ingest_records``), are merged into incidents (``merge_alerts``) and escalated
  (``run_escalation``); the town desk records what happened at each step due
  (:func:`care_sim.desk.answer_due_steps`);
- **care conferences** (month by month): ``simulate_conferences``, the conference
  workflow's own steps with decisions in the seeds' proportions; a case whose care
  plan has reached its end (its services over) is closed at its next conference, as
  the team closes it (``close_case``: the case and plan close, the client moves to
  the after-care tier), so the county does not grow into the programme;
- **what the county is told**: hospital readmissions of people in care (about 12% of
  the discharged within six months, 8% a year of the others: the stays the alert
  workflow suppresses alerts for), and the insurer's long-term-care grade notices
  (about 9% of the people in care a year enter or rise in grade, ``record_grade_change``).

The rates are per client, so the county's size (``build_county(clients=...)``) is the
one parameter that scales the history. The same seed gives the same history; a re-run
over days already simulated adds nothing: the last day simulated is marked in
``database_marks``, and a later run goes on from the day after it.

Routine home visits are not simulated: their routing is the planner's expensive part
and no pledge figure counts them (the first visits intake books are kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from care_models.alerts.incidents import merge_alerts
from care_models.alerts.ingest import ingest_records
from care_models.alerts.protocol import run_escalation
from care_models.config import Settings, load_settings
from care_models.db import engine_from_settings, session_factory
from care_models.ltc import SEVERITY, record_grade_change
from care_models.privacy import Vault
from care_models.referrals.intake import pending_referral_ids, run_intake
from care_models.referrals.store import submit_referral
from care_models.schema import (
    Case,
    Client,
    ClientAbsence,
    DatabaseMark,
    LtcGradeChange,
    Organisation,
    Staff,
)
from care_models.synthetic.alert_streams import (
    HEARTBEAT,
    DeviceEvent,
    county_devices,
    realistic_stream,
)
from care_models.synthetic.conference_history import simulate_conferences
from care_models.synthetic.county import County, build_county
from care_models.synthetic.referrals import build_bundle, referral_specs
from care_models.workdays import SEOUL, seoul_today
from care_sim.desk import answer_due_steps
from care_sim.vendors.aicall import AiCallSimulator
from care_sim.vendors.base import PolledVendorSimulator
from care_sim.vendors.gateway import GatewaySimulator
from care_sim.vendors.plug import PlugSimulator

REFERRALS_PER_WEEK_PER_1000 = 1.2  # Jincheon: 227 discharges a year for ~3,600 in care
READMITTED_PER_MONTH = 0.02  # of the discharged in their first six months: ~12%
AWAY_PER_MONTH = 0.007  # of the others in care: ~8% a year (stayed at home 91.6%)
GRADE_NOTICES_PER_MONTH = 0.008  # of the people in care: ~9.4% a year (40 of 425)
RUN_HOUR = 9
RENDERERS: dict[str, type[PolledVendorSimulator]] = {
    "ai_call": AiCallSimulator,
    "smart_plug": PlugSimulator,
    "emergency_sensor": GatewaySimulator,
}


@dataclass
class OperationsHistory:
    days: int = 0
    referrals: int = 0
    cases_opened: int = 0
    alerts_stored: int = 0
    incidents_opened: int = 0
    steps_recorded: Counter[str] = field(default_factory=Counter)
    readmissions: int = 0
    grade_notices: Counter[str] = field(default_factory=Counter)
    conferences_held: int = 0
    decisions: int = 0
    cases_closed: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "days": self.days,
            "referrals": self.referrals,
            "cases_opened_by_intake": self.cases_opened,
            "alerts_stored": self.alerts_stored,
            "incidents_opened": self.incidents_opened,
            "steps_recorded": dict(sorted(self.steps_recorded.items())),
            "readmissions": self.readmissions,
            "grade_notices": dict(sorted(self.grade_notices.items())),
            "conferences_held": self.conferences_held,
            "decisions": self.decisions,
            "cases_closed": self.cases_closed,
        }


def _at(day: dt.date, hour: int = RUN_HOUR) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), SEOUL).astimezone(dt.UTC)


def _referrals(
    factory: sessionmaker[Session],
    vault: Vault,
    county: County,
    day: dt.date,
    rng: random.Random,
    history: OperationsHistory,
) -> None:
    expected = REFERRALS_PER_WEEK_PER_1000 * len(county.clients) / 1000
    count = int(expected) + (1 if rng.random() < expected % 1 else 0)
    if not count:
        return
    # seeds 500..999: numbers apart from the demo's and the tests' referrals
    specs = referral_specs(county, count, today=day, seed=500 + day.toordinal() % 500)
    with factory() as session:
        hospitals = {
            o.code: o
            for o in session.scalars(select(Organisation).where(Organisation.kind == "hospital"))
        }
    ours = []
    for spec in specs:
        body = json.dumps(build_bundle(spec)).encode()
        submission = submit_referral(factory, vault, hospitals[spec.hospital_code], body, today=day)
        history.referrals += int(submission.created)
        ours.append(submission.referral.id)
    # only the day's own referrals: others waiting (today's, the live demo's) are not
    # the simulated day's to answer
    with factory() as session:
        waiting = sorted(set(ours) & set(pending_referral_ids(session)))
    summary = run_intake(factory, vault, waiting, {}, today=day)
    history.cases_opened += sum(1 for o in summary.outcomes if o.case_id is not None)


def _renderers() -> dict[str, PolledVendorSimulator]:
    return {device_type: cls() for device_type, cls in RENDERERS.items()}


def week_of_events(
    devices: Sequence[tuple[str, str, str]], monday: dt.date, seed: int
) -> dict[dt.date, list[DeviceEvent]]:
    """The fleet's events of the week from ``monday`` (its chances are per week), by
    Seoul day, heartbeats left out; the vendors' ids made unique to the week."""
    by_day: dict[dt.date, list[DeviceEvent]] = {}
    suffix = f"-{monday:%Y%m%d}"
    for event in realistic_stream(devices, start=_at(monday, 0), days=7, seed=seed):
        if event.kind != HEARTBEAT:
            day = event.occurred_at.astimezone(SEOUL).date()
            by_day.setdefault(day, []).append(replace(event, event_id=event.event_id + suffix))
    return by_day


def _alerts_of_day(
    factory: sessionmaker[Session],
    events: Sequence[DeviceEvent],
    renderers: dict[str, PolledVendorSimulator],
    day: dt.date,
    history: OperationsHistory,
) -> None:
    """The vendors' records of ``day``, pulled the next morning, merged and escalated."""
    by_vendor: dict[str, list[dict[str, object]]] = {}
    for event in events:
        by_vendor.setdefault(event.vendor_code, []).append(
            renderers[event.device_type].render(event)
        )
    now = _at(day + dt.timedelta(days=1))
    with factory.begin() as session:
        for vendor_code, records in sorted(by_vendor.items()):
            stored = ingest_records(session, vendor_code, records, now).stored
            history.alerts_stored += len(stored.new_ids)
        history.incidents_opened += len(merge_alerts(session, now=now).opened)
        run_escalation(session, now)


def _in_care(session: Session, day: dt.date) -> list[tuple[int, bool, dt.date]]:
    """(client, discharged from hospital, opened on) of the cases open on ``day``."""
    rows = session.execute(
        select(Case.client_id, Case.referral_id.is_not(None), Case.opened_on)
        .where(Case.opened_on <= day, or_(Case.closed_on.is_(None), Case.closed_on > day))
        .order_by(Case.client_id, Case.opened_on)
    ).all()
    return [(int(c), bool(r), o) for c, r, o in rows]


def _heavier(grade: str, rng: random.Random) -> str:
    heavier = [g for g, s in SEVERITY.items() if s > SEVERITY[grade] and g not in ("A", "B")]
    return rng.choice(heavier[:3]) if heavier else grade


def _month_notices(
    session: Session, month: dt.date, rng: random.Random, history: OperationsHistory
) -> None:
    """Readmissions and grade notices of the month, for the people in care."""
    people = _in_care(session, month)
    grades = dict(session.execute(select(Client.id, Client.ltc_grade)).all())
    noticed = set(
        session.scalars(select(LtcGradeChange.client_id).where(LtcGradeChange.changed_on >= month))
    )
    for client_id, discharged, opened_on in people:
        recent = discharged and (month - opened_on).days < 183
        if rng.random() < (READMITTED_PER_MONTH if recent else AWAY_PER_MONTH):
            starts = _at(month + dt.timedelta(days=rng.randint(0, 27)), 10)
            session.add(
                ClientAbsence(
                    client_id=client_id,
                    starts_at=starts,
                    until=starts + dt.timedelta(days=rng.randint(3, 21)),
                    reason="hospital",
                )
            )
            history.readmissions += 1
        if client_id not in noticed and rng.random() < GRADE_NOTICES_PER_MONTH:
            grade = _heavier(grades.get(client_id, "none"), rng)
            day = month + dt.timedelta(days=rng.randint(0, 27))
            change = record_grade_change(session, client_id, day, grade, "국민건강보험공단 통보")
            history.grade_notices[change.direction] += 1
            noticed.add(client_id)
    session.flush()


HISTORY_MARK = "synthetic_history"  # the last day simulated


def _simulated_through(session: Session) -> dt.date | None:
    mark = session.get(DatabaseMark, HISTORY_MARK)
    return dt.date.fromisoformat(mark.value) if mark is not None else None


def _mark_day(factory: sessionmaker[Session], day: dt.date) -> None:
    with factory.begin() as session:
        mark = session.get(DatabaseMark, HISTORY_MARK)
        if mark is None:
            session.add(DatabaseMark(name=HISTORY_MARK, value=day.isoformat()))
        elif dt.date.fromisoformat(mark.value) < day:
            mark.value = day.isoformat()


def _months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    spans, first = [], start
    while first <= end:
        following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        spans.append((first, min(end, following - dt.timedelta(days=1))))
        first = following
    return spans


def simulate_operations(
    factory: sessionmaker[Session],
    vault: Vault,
    county: County,
    start: dt.date,
    end: dt.date,
    seed: int = 2022,
) -> OperationsHistory:
    """The county's operations from ``start`` to ``end`` (see the module)."""
    history = OperationsHistory()

    def rng(day: dt.date, stream: int) -> random.Random:
        # one stream per day and purpose: a re-run draws the same, whatever it skips
        return random.Random(seed * 1_000_003 + day.toordinal() * 10 + stream)

    devices = [d for d in county_devices(county) if d[1] in RENDERERS]
    renderers = _renderers()
    with factory() as session:
        desk_staff = session.scalar(select(Staff.code).where(Staff.active).order_by(Staff.code))
    with factory() as session:
        done = _simulated_through(session)
    for first, last in _months(start, end):
        begin = first if done is None else max(first, done + dt.timedelta(days=1))
        if begin > last:
            continue  # simulated before
        with factory.begin() as session:
            if begin == first:
                _month_notices(session, first, rng(first, 1), history)
            held = simulate_conferences(session, begin, last, seed=seed + first.toordinal())
            history.conferences_held += held.conferences_held
            history.decisions += held.decisions
            history.cases_closed += held.cases_closed
        day = begin
        week: tuple[dt.date, dict[dt.date, list[DeviceEvent]]] | None = None
        while day <= last:
            monday = day - dt.timedelta(days=day.weekday())
            if week is None or week[0] != monday:
                week = (monday, week_of_events(devices, monday, seed + monday.toordinal()))
            history.days += 1
            if day.weekday() == 0:
                _referrals(factory, vault, county, day, rng(day, 2), history)
            _alerts_of_day(factory, week[1].get(day, []), renderers, day, history)
            if desk_staff is not None:
                history.steps_recorded += answer_due_steps(
                    factory, _at(day + dt.timedelta(days=1), 17), desk_staff, rng(day, 3)
                )
            _mark_day(factory, day)
            day += dt.timedelta(days=1)
    return history


def history_window(today: dt.date, years: int) -> tuple[dt.date, dt.date]:
    """``years`` calendar years up to a week before ``today`` (the demo's live week)."""
    end = today - dt.timedelta(days=8)
    return dt.date(end.year - years + 1, 1, 1), end


def run_history(settings: Settings, years: int, today: dt.date) -> OperationsHistory:
    """The history of the configured database's synthetic county (``CARE_SYNTHETIC_CLIENTS``
    scales it), loaded by ``seed`` first."""
    county = build_county(settings.synthetic_clients, settings.synthetic_seed)
    start, end = history_window(today, years)
    engine = engine_from_settings(settings)
    try:
        return simulate_operations(
            session_factory(engine), Vault.from_settings(settings), county, start, end
        )
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m care_sim.history",
        description="Years of the synthetic county's operations, by the workflows' code.",
    )
    parser.add_argument("--years", type=int, default=5, help="calendar years (default 5)")
    parser.add_argument("--json", action="store_true", help="print what was made as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.years <= 20:
        parser.error("--years: must be 1 to 20")
    settings = load_settings()
    start, end = history_window(seoul_today(), args.years)
    made = run_history(settings, args.years, seoul_today())
    if args.json:
        print(json.dumps({"from": str(start), "to": str(end)} | made.as_dict(), indent=2))
    else:
        print(f"{start}..{end}: " + ", ".join(f"{k} {v}" for k, v in made.as_dict().items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
