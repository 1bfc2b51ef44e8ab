"""Five years of a county for the pledge benchmark (``bench/pledges.py``), part 1: the
rates, the scratch database, the base county, conferences and discharge referrals,
written set-based as the workflows would have written them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Connection, create_engine, insert, select, text
from sqlalchemy.orm import Session

from care_models.conferences.calendar import closure_days, conference_slots, town_rules
from care_models.conferences.schedule import UID_DOMAIN
from care_models.fhir.bundle import ADL_ACTIVITIES, NEED_CODES
from care_models.privacy import Vault
from care_models.referrals.intake import OUTSIDE_COUNTY
from care_models.referrals.store import RAW_FIELD
from care_models.referrals.triage import load_rules as triage_rules
from care_models.schema import (
    Conference,
    Organisation,
    Referral,
    ReferralStatusEvent,
)
from care_models.synthetic.county import HOSPITALS, County
from care_models.synthetic.load import load_county
from care_models.synthetic.referrals import (
    CONDITIONS,
    NEED_SETS,
    ReferralSpec,
    build_bundle,
    identifier_system,
)
from care_models.workdays import SEOUL, add_business_days

ADMIN_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REPORT_GOAL_S = 10.0  # the yearly report, at most
RUNS = 3  # timed runs of each, after one warm-up; the best counts

FIRST_DAY, LAST_DAY = dt.date(2022, 1, 1), dt.date(2026, 12, 31)  # five years of operations
COUNTY_CASES_FROM = dt.date(2025, 1, 1)  # load_county's cases open from 2025
REPORT_YEAR = 2026
RUN_NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=SEOUL)  # the report's run, stamping actuals

# Rates of the operations (per 100 clients, so --clients scales them all).
REFERRALS_PER_100_A_MONTH = 0.5
REJECTED_REFERRALS = 0.03
OTHER_CASES_PER_100_A_MONTH = 0.35  # opened 2022-2024, before the county's own
READMITTED = 0.12  # of the discharged, within six months
AWAY_A_YEAR = 0.08  # of the other clients in care: in hospital or away
HISTORIC_DEVICES_PER_CLIENT = 0.2  # installed 2022-2024
ALERTS_PER_CLIENT = 20
VISITS_PER_CLIENT = 10
NOT_DISCUSSED = 0.02  # agenda items carried over to the next conference
DECIDED, DEFERRED = 0.96, 0.03  # of the needs discussed; the rest has no decision yet
GRADE_ROSE, GRADE_OTHER = 0.09, 0.04  # of the clients in care, a year
CANCELLED_CONFERENCES = 0.005
RAW_BUNDLE_DAYS = 90  # the retention job empties older raw Bundles
INCIDENT_GAP_HOURS = 36  # a person's alerts this close join one incident
REVIEW_DAYS = 180

# Alert kinds per device type, with their weights in the synthetic fleet.
KIND_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {
    "smart_plug": (
        ("power_no_change", 50),
        ("no_activity", 20),
        ("low_battery", 15),
        ("device_offline", 15),
    ),
    "emergency_sensor": (
        ("no_activity", 45),
        ("door", 25),
        ("low_battery", 20),
        ("emergency_button", 7),
        ("fire", 2),
        ("gas", 1),
    ),
    "ai_call": (("missed_call", 75), ("abnormal_answer", 25)),
    "ai_speaker": (("sos", 1),),
}
NO_USAGE_CODE = "NO_USAGE_36H"  # the plug's no-change code, for 36 hours
# (device vendor, share of the historic fleet)
HISTORIC_FLEET = (("V-AICALL", 0.5), ("V-SENSOR", 0.35), ("V-PLUG", 0.15))
# Long-term-care grade changes: (from, to); the direction is care_models.ltc's.
RISING = (
    ("none", "5"),
    ("none", "4"),
    ("none", "3"),
    ("A", "4"),
    ("B", "cognitive"),
    ("none", "cognitive"),
    ("5", "4"),
    ("4", "3"),
    ("3", "2"),
    ("cognitive", "5"),
    ("2", "1"),
)
OTHER_GRADE_CHANGES = (("3", "4"), ("4", "5"), ("5", "A"), ("4", "4"), ("3", "3"))


@dataclass(frozen=True)
class ServiceTemplate:
    """A planned service of the plans approved here, for a share of the plans of a case
    from a referral or another; a package lasts ``weeks``."""

    origin: str  # referral | other
    service_type: str
    cadence: str
    contacts: int
    mode: str
    skill: str
    minutes: int
    provider: str | None
    share: float
    weeks: int | None = None


SERVICE_TEMPLATES = (
    ServiceTemplate(
        "referral", "discharge_nursing", "package", 5, "visit", "nurse", 45, None, 1, 8
    ),
    ServiceTemplate(
        "referral", "discharge_nursing", "package", 4, "phone", "nurse", 15, None, 1, 8
    ),
    ServiceTemplate(
        "referral", "home_nursing", "twice_monthly", 2, "visit", "nurse", 40, "P-NURSING", 0.6
    ),
    ServiceTemplate("referral", "home_doctor", "monthly", 1, "visit", "doctor", 30, None, 0.2),
    ServiceTemplate(
        "referral",
        "rehabilitation",
        "package",
        2,
        "visit",
        "rehabilitation",
        50,
        "P-REHAB",
        0.25,
        12,
    ),
    ServiceTemplate(
        "other", "home_nursing", "twice_monthly", 2, "visit", "nurse", 40, "P-NURSING", 0.7
    ),
    ServiceTemplate("other", "home_doctor", "monthly", 1, "visit", "doctor", 30, None, 0.15),
    ServiceTemplate(
        "other", "nutrition", "package", 1, "visit", "nutrition", 40, "P-MEALS", 0.1, 12
    ),
    ServiceTemplate(
        "other", "escort", "monthly", 4, "visit", "social_worker", 120, "P-HOMECARE", 0.05
    ),
    ServiceTemplate(
        "other", "monitoring", "monthly", 1, "phone", "social_worker", 15, "P-SENIOR", 0.3
    ),
)


def say(message: str) -> None:
    print(message, flush=True)


def mapping(rows: Iterable[Any]) -> dict[Any, Any]:
    """A two-column result as a dict."""
    return {first: second for first, second in rows}


def seoul_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), SEOUL).astimezone(dt.UTC)


DATA_END = seoul_midnight(LAST_DAY + dt.timedelta(days=1))


# -- the scratch database -------------------------------------------------------------------


@contextmanager
def scratch_postgres(keep: bool) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped at the end unless ``keep``."""
    admin_url = os.environ.get("CARE_TEST_POSTGRES_URL", ADMIN_POSTGRES_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"care_bench_pledges_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        if keep:
            say(f"\n   database kept: {url.render_as_string(hide_password=True)}")
        else:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- building five years ----------------------------------------------------------------------


@dataclass
class Build:
    """The build's connection, its random streams and what each step took."""

    connection: Connection
    county: County
    vault: Vault
    seed: int
    steps: list[tuple[str, float, str]] = field(default_factory=list)

    @property
    def clients(self) -> int:
        return len(self.county.clients)

    def sql(self, statement: str, **params: Any) -> int:
        """Run one statement; the rows it wrote."""
        return int(self.connection.execute(text(statement), params).rowcount or 0)

    def scalar(self, statement: str, **params: Any) -> Any:
        return self.connection.execute(text(statement), params).scalar()

    def step(self, name: str, action: Callable[[], str]) -> None:
        """One step in its own transaction, the database's random stream seeded for it."""
        started = time.perf_counter()
        self.sql("SELECT setseed(:s)", s=(self.seed + len(self.steps)) % 1000 / 1000)
        made = action()
        self.connection.commit()
        spent = time.perf_counter() - started
        self.steps.append((name, spent, made))
        say(f"   {name:<26} {spent:7.1f} s  {made}")


def load_base(build: Build) -> str:
    with Session(bind=build.connection) as session:
        counts = load_county(session, build.vault, build.county)
        session.flush()
    return (
        f"{counts['clients']} clients, {counts['staff']} staff, {counts['cases']} cases, "
        f"{counts['planned_services']} planned services, {counts['devices']} devices"
    )


def add_conferences(build: Build) -> str:
    """The calendar's slots 2022-2026 as the schedule step keeps them, all held."""
    rng = random.Random(build.seed ^ 0xC0F)
    with Session(bind=build.connection) as session:
        rules, closures = town_rules(session), closure_days(session)
        towns = {t.code: t for t in rules}
    town_ids: dict[str, int] = {
        code: town_id
        for code, town_id in build.connection.execute(text("SELECT code, id FROM towns"))
    }
    slots = [
        *conference_slots(FIRST_DAY, dt.date(2024, 12, 31), rules, closures),
        *conference_slots(dt.date(2025, 1, 1), LAST_DAY, rules, closures),
    ]
    assert all(s.town_code is None or s.town_code in towns for s in slots)
    rows = []
    for slot in slots:
        start = slot.start_at.astimezone(dt.UTC)
        held = slot.date <= LAST_DAY
        cancelled = held and rng.random() < CANCELLED_CONFERENCES
        rows.append(
            {
                "tier": slot.tier,
                "town_id": town_ids[slot.town_code] if slot.town_code else None,
                "scheduled_on": slot.date,
                "starts_at": start,
                "form": "in_person" if slot.tier == 2 else "video",
                "status": "cancelled" if cancelled else "held" if held else "scheduled",
                "slot_key": slot.slot_key,
                "rule_date": slot.rule_date,
                "uid": f"{slot.slot_key}@{UID_DOMAIN}",
                "sequence": int(slot.move_reason is not None) + int(cancelled),
                "move_reason": slot.move_reason,
                "cancel_reason": "군 사정으로 취소" if cancelled else None,
                "agenda_status": "frozen",
                "agenda_frozen_at": start - dt.timedelta(days=2),
                "effects_applied_at": start + dt.timedelta(hours=6) if held else None,
            }
        )
    build.connection.execute(insert(Conference), rows)
    # The next held conference of each town (0: tier 2) from each day: where an item
    # due that day is discussed.
    held_rows = build.connection.execute(
        select(Conference.id, Conference.town_id, Conference.scheduled_on)
        .where(Conference.status == "held")
        .order_by(Conference.scheduled_on, Conference.id)
    ).all()
    by_key: dict[int, list[tuple[dt.date, int]]] = {}
    for conference_id, town_id, day in held_rows:
        by_key.setdefault(town_id or 0, []).append((day, conference_id))
    build.sql(
        "CREATE TEMP TABLE next_conference (town_key int, day date, conference_id int, "
        "held_on date, PRIMARY KEY (town_key, day))"
    )
    nexts = []
    for key, dates in by_key.items():
        index, day = 0, FIRST_DAY - dt.timedelta(days=14)
        while day <= LAST_DAY + dt.timedelta(days=14):
            while index < len(dates) and dates[index][0] < day:
                index += 1
            if index == len(dates):
                break
            nexts.append({"k": key, "d": day, "c": dates[index][1], "h": dates[index][0]})
            day += dt.timedelta(days=1)
    build.connection.execute(
        text("INSERT INTO next_conference VALUES (:k, :d, :c, :h)"),
        nexts,
    )
    counts: dict[str, int] = mapping(
        build.connection.execute(text("SELECT status, COUNT(*) FROM conferences GROUP BY status"))
    )
    return f"{len(rows)} conferences ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"


def add_referrals(build: Build) -> str:
    """Discharge referrals from the hospitals, and what intake made of them."""
    rng = random.Random(build.seed ^ 0x4EF)
    hospitals = dict(
        build.connection.execute(
            select(Organisation.code, Organisation.id).where(Organisation.kind == "hospital")
        ).all()
    )
    client_ids: dict[str, int] = mapping(
        build.connection.execute(text("SELECT code, id FROM clients ORDER BY code"))
    )
    people = {c.code: c for c in build.county.clients}
    codes = list(client_ids)
    weights = [3 if in_county else 1 for _c, _n, in_county, *_rest in HOSPITALS]
    reasons = triage_rules()
    triage_reason = {
        1: reasons["priority_1"]["reason"],
        2: reasons["priority_2"]["reason"],
        3: reasons["otherwise"]["reason"],
    }
    purge_before = DATA_END - dt.timedelta(days=RAW_BUNDLE_DAYS)
    rows: list[dict[str, Any]] = []
    stage: list[dict[str, Any]] = []
    month = FIRST_DAY
    number = 0
    while month <= LAST_DAY:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        days = (following - month).days
        count = round(REFERRALS_PER_100_A_MONTH / 100 * build.clients * rng.uniform(0.8, 1.2))
        for _ in range(count):
            number += 1
            hospital = rng.choices(HOSPITALS, weights=weights)[0][0]
            client = people[rng.choice(codes)]
            discharge = month + dt.timedelta(days=rng.randrange(days))
            received_day = max(FIRST_DAY, discharge - dt.timedelta(days=rng.choice((0, 0, 1, 2))))
            received = dt.datetime.combine(
                received_day, dt.time(rng.randint(8, 17), rng.randrange(60)), SEOUL
            ).astimezone(dt.UTC)
            decided = received + dt.timedelta(minutes=rng.randint(5, 60))
            opened = decided.astimezone(SEOUL).date()
            spec = ReferralSpec(
                hospital_code=hospital,
                number=f"{hospital}-R{discharge:%y%m}{number:07d}",
                person=client.person,
                sex=client.sex,
                admission=discharge - dt.timedelta(days=rng.randint(3, 40)),
                discharge=discharge,
                discharged=True,
                needs=rng.choice(NEED_SETS),
                adl=tuple(sorted(rng.sample(ADL_ACTIVITIES, k=rng.choice((0, 1, 2, 3))))),
                household_size=rng.choice((1, 1, 1, 2, 2, 3)),
                conditions=tuple(rng.sample(CONDITIONS, k=3)),
            )
            body = json.dumps(build_bundle(spec), ensure_ascii=False).encode("utf-8")
            rejected = rng.random() < REJECTED_REFERRALS
            priority = None if rejected else rng.choices((1, 2, 3), weights=(2, 5, 3))[0]
            first_visit = add_business_days(max(discharge, opened), 1)
            kept = decided >= purge_before
            rows.append(
                {
                    "hospital_id": hospitals[hospital],
                    "identifier_system": identifier_system(hospital),
                    "identifier_value": spec.number,
                    "source": "push",
                    "raw_payload_enc": build.vault.encrypt(body.decode("utf-8"), RAW_FIELD)
                    if kept
                    else "",
                    "raw_purged_at": None
                    if kept
                    else seoul_midnight(opened + dt.timedelta(days=RAW_BUNDLE_DAYS + 1)),
                    "payload_sha256": hashlib.sha256(body).hexdigest(),
                    "received_at": received,
                    "status": "rejected" if rejected else "accepted",
                    "status_reason": OUTSIDE_COUNTY
                    if rejected
                    else f"{priority}순위 접수, 초기 방문 {first_visit.isoformat()} 예약",
                    "task_version": 2,
                    "last_updated": decided,
                    "admission_date": spec.admission,
                    "discharge_date": discharge,
                    "priority": priority,
                    "triage_reason": None if priority is None else triage_reason[priority],
                    "client_id": None if rejected else client_ids[client.code],
                }
            )
            if not rejected:
                span = rng.randint(90, 330)
                closed = opened + dt.timedelta(days=span)
                stage.append(
                    {
                        "number": spec.number,
                        "opened_on": opened,
                        "closed_on": closed if closed <= LAST_DAY else None,
                        "first_visit": first_visit,
                        "needs": list(spec.needs),
                    }
                )
        month = following
    for start in range(0, len(rows), 2000):
        build.connection.execute(insert(Referral), rows[start : start + 2000])
    ids: dict[str, int] = mapping(
        build.connection.execute(select(Referral.identifier_value, Referral.id))
    )
    events = [
        {
            "referral_id": ids[r["identifier_value"]],
            "version": 2,
            "status": r["status"],
            "reason": r["status_reason"],
            "changed_at": r["last_updated"],
            "callback_delivered_at": r["last_updated"] + dt.timedelta(minutes=2),
            "callback_attempts": 1,
        }
        for r in rows
    ]
    for start in range(0, len(events), 2000):
        build.connection.execute(insert(ReferralStatusEvent), events[start : start + 2000])
    build.sql(
        "CREATE TEMP TABLE referral_stage (referral_id int PRIMARY KEY, opened_on date, "
        "closed_on date, first_visit date, needs text[])"
    )
    build.connection.execute(
        text("INSERT INTO referral_stage VALUES (:r, :o, :c, :f, :n)"),
        [
            {
                "r": ids[s["number"]],
                "o": s["opened_on"],
                "c": s["closed_on"],
                "f": s["first_visit"],
                "n": s["needs"],
            }
            for s in stage
        ],
    )
    cases = build.sql(
        """
        INSERT INTO cases (client_id, referral_id, town_id, status, priority, high_risk,
                           opened_on, closed_on, lead_staff_id)
        SELECT r.client_id, r.id, c.town_id,
               CASE WHEN s.closed_on IS NULL THEN 'service_linked' ELSE 'closed' END,
               r.priority, r.priority = 1, s.opened_on, s.closed_on, c.usual_staff_id
        FROM referral_stage s
        JOIN referrals r ON r.id = s.referral_id
        JOIN clients c ON c.id = r.client_id
        """
    )
    build.sql("CREATE TEMP TABLE need_categories (code text PRIMARY KEY, category text)")
    build.connection.execute(
        text("INSERT INTO need_categories VALUES (:c, :k)"),
        [{"c": code, "k": category} for code, category in NEED_CODES.items()],
    )
    needs = build.sql(
        """
        INSERT INTO needs (case_id, category, code, status, identified_on)
        SELECT cs.id, COALESCE(m.category, 'care_ltc'), u.code, 'decided', cs.opened_on
        FROM referral_stage s
        JOIN cases cs ON cs.referral_id = s.referral_id
        CROSS JOIN LATERAL unnest(s.needs) AS u(code)
        LEFT JOIN need_categories m ON m.code = u.code
        ON CONFLICT DO NOTHING
        """
    )
    visits = build.sql(
        """
        INSERT INTO visits (natural_key, client_id, staff_id, case_id, service_type, mode,
                            purpose, visit_date, start_at, duration_min, status, source,
                            completed_at)
        SELECT :prefix || s.referral_id || :suffix, cs.client_id,
               cs.lead_staff_id, cs.id, 'first_assessment', 'visit', :purpose,
               s.first_visit, v.start_at, 60,
               CASE WHEN s.first_visit <= :last THEN 'done' ELSE 'booked' END, 'referral',
               CASE WHEN s.first_visit <= :last THEN v.start_at + interval '60 minutes' END
        FROM referral_stage s
        JOIN cases cs ON cs.referral_id = s.referral_id
        CROSS JOIN LATERAL (
          SELECT (s.first_visit + time '10:00') AT TIME ZONE 'Asia/Seoul' AS start_at
        ) v
        """,
        prefix="referral:",  # intake's key: referral:<id>:first_assessment
        suffix=":first_assessment",
        purpose="퇴원 후 초기 방문 평가",
        last=LAST_DAY,
    )
    purged = sum(1 for r in rows if not r["raw_payload_enc"])
    return (
        f"{len(rows)} referrals ({len(rows) - len(stage)} rejected, {purged} raw Bundles "
        f"emptied), {cases} cases, {needs} needs, {visits} first visits"
    )
