"""The demo: the county's 8 hospitals refer patients, then every workflow runs once.

    python -m care_sim.demo DAG_ID [DAG_ID ...]     (what `make demo` runs)

- starts the care API (uvicorn on 127.0.0.1) and a FHIR server simulator for the
  pull hospital (H-CJ-UNI, with its Airflow Connection passed to the DAG runs);
- the other 7 hospitals POST about 58 referral Bundles over HTTP: new referrals,
  resubmissions (duplicates) and invalid Bundles; 2 more wait on the FHIR server;
- starts the three polled device vendors' simulators (smart plugs, emergency
  gateways, AI calls) serving the county's devices (``care_sim.demo_alerts``);
- runs each DAG with ``airflow dags test`` in the order given (logs in var/logs/);
- then a coordinator calls in sick for a day of the published plan: the leave is
  recorded and ``home_visit_planning`` replans (``plan=current``), changing only the
  routes that must change;
- prints what came of the referrals (through the API, as a hospital sees them),
  the first visits booked, the open device-alert incidents and their next steps,
  and writes non-personal CSVs under CARE_OUTPUT_DIR.

Running it again submits the same referral numbers: all are duplicates, nothing new.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from care_api.app import create_app
from care_models.config import Settings, load_settings
from care_models.db import engine_from_settings
from care_models.rendering.tables import excel_csv
from care_models.schema import Referral, Staff, Town, Visit
from care_models.synthetic import referrals as sr
from care_models.synthetic.county import HOSPITALS, County, build_county
from care_models.synthetic.load import hospital_token
from care_models.workdays import seoul_today
from care_sim.demo_alerts import DeskWeek, desk_week, print_alert_week, vendor_simulators
from care_sim.demo_conferences import conference_history, conference_story, mail_relay
from care_sim.demo_operations import print_deadlines, visit_history
from care_sim.demo_pledges import enter_what_people_know, operations_history, print_pledges
from care_sim.fhir_server import FhirServerSimulator, synthetic_referral_bundles
from care_sim.serving import serve_app

PULL_HOSPITAL = "H-CJ-UNI"
NEW_REFERRALS = 44  # plus one from outside the county and one uncertain identity
RESUBMISSIONS = 6
PULLED = 2
# The demo plans two weeks; the weekly schedule plans one.
DAG_CONF = {"home_visit_planning": {"horizon_days": 14}}


@dataclass
class Submitted:
    statuses: Counter[int] = field(default_factory=Counter)
    invalid: list[tuple[str, int, str]] = field(default_factory=list)


def _resource(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)


def _invalid_bundles(spec: sr.ReferralSpec) -> list[tuple[str, bytes]]:
    """Six Bundles a hospital system might really send wrong."""

    def broken(label: str, change: Callable[[dict[str, Any]], None]) -> tuple[str, bytes]:
        bundle = sr.build_bundle(spec)
        change(bundle)
        return label, json.dumps(bundle, ensure_ascii=False).encode()

    return [
        ("malformed JSON", b'{"resourceType": "Bundle", "type": "transaction", "entry": ['),
        broken("wrong resourceType", lambda b: b.update(resourceType="Parameters")),
        broken("missing subject", lambda b: _resource(b, "ServiceRequest").pop("subject")),
        broken("bogus status", lambda b: _resource(b, "Encounter").update(status="discharged")),
        broken(
            "discharge 60 days ahead",
            lambda b: _resource(b, "Encounter")["period"].update(end="2099-12-31"),
        ),
        broken(
            "another hospital's identifier",
            lambda b: _resource(b, "ServiceRequest")["identifier"][0].update(
                system="urn:care:hospital:elsewhere:referral"
            ),
        ),
    ]


def _special_cases(county: County, specs: list[sr.ReferralSpec]) -> list[sr.ReferralSpec]:
    """A resident of another city (rejected at intake) and a known client whose phone
    changed and who came without a registration number (held for identity review)."""
    moved = replace(
        specs[1].person, name="남궁외순", address="충청북도 청주시 상당구 용암동 1234", rrn=None
    )
    known = county.clients[17].person
    uncertain = replace(known, phone="010-9999-0000", rrn=None)
    return [
        replace(specs[1], number=specs[1].number + "-X", person=moved),
        replace(
            specs[2], number=specs[2].number + "-Y", person=uncertain, sex=county.clients[17].sex
        ),
    ]


def submit_push_referrals(base_url: str, county: County) -> Submitted:
    today = seoul_today()
    specs = [
        s
        for s in sr.referral_specs(county, NEW_REFERRALS + 8, today=today, seed=20261)
        if s.hospital_code != PULL_HOSPITAL
    ][:NEW_REFERRALS]
    submitted = Submitted()
    with httpx.Client(base_url=base_url, timeout=30) as client:

        def post(spec_code: str, body: bytes) -> httpx.Response:
            response = client.post(
                "/fhir/Bundle",
                content=body,
                headers={
                    "Authorization": f"Bearer {hospital_token(spec_code)}",
                    "Content-Type": "application/fhir+json",
                },
            )
            submitted.statuses[response.status_code] += 1
            return response

        for spec in specs:
            post(spec.hospital_code, json.dumps(sr.build_bundle(spec), ensure_ascii=False).encode())
        for spec in _special_cases(county, specs):
            post(spec.hospital_code, json.dumps(sr.build_bundle(spec), ensure_ascii=False).encode())
        for spec in specs[:RESUBMISSIONS]:  # a hospital system retrying after a timeout
            post(spec.hospital_code, json.dumps(sr.build_bundle(spec), ensure_ascii=False).encode())
        for label, body in _invalid_bundles(specs[-1]):
            response = post(specs[-1].hospital_code, body)
            issue = response.json().get("issue", [{}])[0]
            submitted.invalid.append((label, response.status_code, issue.get("diagnostics", "")))
    return submitted


def run_dag(
    dag_id: str, env: dict[str, str], logs: Path, conf: dict[str, Any] | None = None, log: str = ""
) -> str:
    log_file = logs / f"{log or dag_id}.log"
    airflow = str(Path(sys.executable).with_name("airflow"))
    conf = conf if conf is not None else DAG_CONF.get(dag_id)
    with log_file.open("w") as handle:
        result = subprocess.run(
            [airflow, "dags", "test", dag_id, *(["--conf", json.dumps(conf)] if conf else [])],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            timeout=1800,
        )
    text = log_file.read_text(errors="replace")
    state = "success" if "state=success" in text else "failed"
    if result.returncode != 0 or state != "success":
        tail = [line for line in text.splitlines() if "rror" in line or "ailed" in line][-15:]
        raise SystemExit(
            f"airflow dags test {dag_id} failed (log: {log_file}):\n" + "\n".join(tail)
        )
    return state


def task_states(base_url: str) -> Counter[str]:
    states: Counter[str] = Counter()
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for code, *_ in HOSPITALS:
            found = client.get(
                "/fhir/Task",
                params={"_count": 500},
                headers={"Authorization": f"Bearer {hospital_token(code)}"},
            ).json()
            states.update(e["resource"]["status"] for e in found.get("entry", []))
    return states


def write_outputs(settings: Settings) -> tuple[Path, list[tuple[str, str, str, int]]]:
    """Non-personal CSVs: every referral's answer, and the first visits booked."""
    out = settings.output_dir / "referral_intake"
    out.mkdir(parents=True, exist_ok=True)
    engine = engine_from_settings(settings)
    with engine.connect() as connection:
        referrals = connection.execute(
            select(
                Referral.identifier_value,
                Referral.source,
                Referral.status,
                Referral.priority,
                Referral.status_reason,
            ).order_by(Referral.id)
        ).all()
        visits = connection.execute(
            select(Visit.visit_date, Staff.code, Town.name, Visit.natural_key)
            .join(Staff, Staff.id == Visit.staff_id)
            .join(Town, Town.id == Staff.office_town_id)
            .where(Visit.service_type == "first_assessment")
            .order_by(Visit.visit_date)
        ).all()
    engine.dispose()
    # Through the shared CSV writer: identifiers and reasons come from hospitals.
    (out / "referrals.csv").write_bytes(
        excel_csv(("referral", "source", "task_status", "priority", "reason"), referrals)
    )
    per_day: Counter[tuple[str, str, str]] = Counter(
        (v.visit_date.isoformat(), v.code, v.name) for v in visits
    )
    (out / "first_visits.csv").write_bytes(
        excel_csv(
            ("date", "staff", "town_office", "first_visits"),
            [(*key, n) for key, n in sorted(per_day.items())],
        )
    )
    return out, [(*key, n) for key, n in sorted(per_day.items())]


def _reason_kind(reason: str) -> str:
    if "deferred to the next plan" in reason:
        return "deferred to the next plan (every day full now, due after the horizon)"
    return reason.split(" between ")[0].split(" on 20")[0].split(":")[0]


def print_visit_plan(settings: Settings) -> None:
    """Per coordinator: visits, calls, kilometres, files written; unplanned and why."""
    from care_models.schema import UnplannedContact, VisitPlan

    engine = engine_from_settings(settings)
    with engine.connect() as connection:
        plan = connection.execute(select(VisitPlan).order_by(VisitPlan.id.desc())).first()
        if plan is None:
            engine.dispose()
            return
        reasons = connection.execute(
            select(UnplannedContact.reason).where(UnplannedContact.visit_plan_id == plan.id)
        ).all()
    engine.dispose()
    stops = plan.summary["plan"]["stops"]
    folder = settings.output_dir / "visits" / plan.horizon_start.isoformat()
    print(
        f"==> home visits {plan.horizon_start}..{plan.horizon_end} (revision {plan.revision}, "
        f"{len(stops)} planned, {plan.total_km} km in all): {folder}"
    )
    for code, km in plan.summary["km_by_staff"].items():
        mine = [s for s in stops if s["staff_code"] == code]
        visits = sum(s["mode"] == "visit" for s in mine)
        files = len(list((folder / code).glob("*"))) if (folder / code).is_dir() else 0
        print(f"      {code}: {visits} visits, {len(mine) - visits} calls, {km} km, {files} files")
    grouped = Counter(_reason_kind(reason) for (reason,) in reasons)
    print(f"    unplanned contacts: {len(reasons)}")
    for reason, n in grouped.most_common(6):
        print(f"      {n} x {reason}")
    print(f"    team overview: {folder / 'team_overview.html'}")
    _print_capacity(folder)


def _print_capacity(folder: Path) -> None:
    """The hours behind the unplanned contacts, and the what-if solve (capacity.json)."""
    path = folder / "capacity.json"
    if not path.is_file():
        return
    capacity = json.loads(path.read_text(encoding="utf-8"))
    print("    capacity: hours short per town, skill and week (capacity.csv has every line)")
    for line in capacity["short"][:8]:
        print(
            f"      {line['town']} {line['skill']} week of {line['week']}: "
            f"{line['short_hours']} h short ({line['unplanned']} contacts); one more "
            f"{line['skill']} adds {line['one_more_adds_hours']} h"
        )
    what_if = capacity["what_if"]
    if what_if:
        covered = what_if["unplanned_before"] - what_if["unplanned_after"]
        print(
            f"    what-if (a real solve): one more {what_if['skill']} in {what_if['town']} plans "
            f"{covered} of its {what_if['unplanned_before']} unplanned contacts"
        )


def _busiest_route(settings: Settings) -> tuple[str, dt.date] | None:
    """The coordinator and day (from tomorrow) with the most visits in the plan in force."""
    from care_models.schema import VisitPlan

    engine = engine_from_settings(settings)
    with engine.connect() as connection:
        plan = connection.execute(select(VisitPlan).order_by(VisitPlan.id.desc())).first()
    engine.dispose()
    if plan is None:
        return None
    tomorrow = seoul_today() + dt.timedelta(days=1)
    routes = Counter(
        (s["staff_code"], dt.date.fromisoformat(s["day"]))
        for s in plan.summary["plan"]["stops"]
        if s["mode"] == "visit" and dt.date.fromisoformat(s["day"]) > tomorrow
    )
    return min(routes, key=lambda key: (-routes[key], key[1], key[0])) if routes else None


def _demo_sick_day(settings: Settings) -> tuple[str, dt.date] | None:
    """The sick day an earlier demo recorded (running the demo again adds none)."""
    from care_models.schema import StaffLeave

    engine = engine_from_settings(settings)
    with engine.connect() as connection:
        row = connection.execute(
            select(Staff.code, StaffLeave.start_date)
            .join(Staff, Staff.id == StaffLeave.staff_id)
            .where(StaffLeave.reason == "sick", StaffLeave.start_date > seoul_today())
            .order_by(StaffLeave.start_date, Staff.code)
        ).first()
    engine.dispose()
    return (row[0], row[1]) if row is not None else None


def sick_day_replan(settings: Settings, env: dict[str, str], logs: Path) -> None:
    """A coordinator calls in sick: record the leave, replan the plans in force."""
    from care_models.db import session_factory, transaction
    from care_models.visits.planning import route_changes, stored_plan
    from care_models.visits.supply import record_leave

    busiest = _demo_sick_day(settings) or _busiest_route(settings)
    if busiest is None:
        return
    code, day = busiest
    from care_models.schema import VisitPlan

    engine = engine_from_settings(settings)
    with transaction(session_factory(engine)) as session:
        _, visits = record_leave(session, code, day, day, "sick")
        newest = session.scalar(select(func.max(VisitPlan.id)))
    print(
        f"==> {code} calls in sick for {day} ({visits} visits): "
        f"python -m care_models leave {code} {day}, then"
    )
    log = "home_visit_planning.replan"
    print(
        f'==> airflow dags test home_visit_planning --conf \'{{"plan": "current"}}\' '
        f"(log: {logs / (log + '.log')})"
    )
    print(f"    state={run_dag('home_visit_planning', env, logs, {'plan': 'current'}, log)}")
    with transaction(session_factory(engine)) as session:
        last_two = session.scalars(select(VisitPlan).order_by(VisitPlan.id.desc()).limit(2)).all()
        plans = [stored_plan(row) for row in reversed(last_two)]
        revisions = [row.revision for row in reversed(last_two)]
        replanned = bool(last_two) and last_two[0].id != newest
    engine.dispose()
    if len(plans) < 2 or not replanned:
        print("    plan unchanged (this sick day was already replanned)")
        return
    changed = route_changes(*plans)
    before = {u.contact_key for u in plans[0].unplanned}
    newly = [u for u in plans[1].unplanned if u.contact_key not in before]
    print(
        f"    revision {revisions[0]} -> {revisions[1]}: {len(changed)} of "
        f"{len({(s.staff_code, s.day) for s in plans[1].stops})} routes changed, "
        f"{len(newly)} contacts newly unplanned; the other routes are as published"
    )
    for staff, changed_day in changed[:8]:
        print(f"      {staff} {changed_day}")


def main(argv: Sequence[str] | None = None) -> int:
    dag_ids = list(argv if argv is not None else sys.argv[1:])
    settings = load_settings()
    logs = settings.var_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    county = build_county(settings.synthetic_clients, settings.synthetic_seed)
    pulled = synthetic_referral_bundles(
        PULLED, today=seoul_today(), hospital_code=PULL_HOSPITAL, county=county
    )
    with (
        FhirServerSimulator(pulled) as fhir_server,
        serve_app(create_app()) as api_url,
        vendor_simulators(settings) as fleet,
        mail_relay() as (relay, mail_connection),
    ):
        fhir_url = fhir_server.base_url
        print(f"==> care API on {api_url}; FHIR server of {PULL_HOSPITAL} on {fhir_url}")
        submitted = submit_push_referrals(api_url, county)
        print(
            f"    hospitals POSTed {sum(submitted.statuses.values())} Bundles: "
            f"{submitted.statuses[201]} new (201), {submitted.statuses[200]} "
            f"resubmitted (200), {len(submitted.invalid)} invalid"
        )
        for label, status, rule in submitted.invalid:
            print(f"      {status} {label}: {rule}")
        env = {
            **os.environ,
            "AIRFLOW_CONN_FHIR_H_CJ_UNI": json.dumps({"conn_type": "http", "host": fhir_url}),
            **fleet.connections,
            **mail_connection,
        }
        if "pledge_reports" in dag_ids:
            operations_history(settings)
            enter_what_people_know(settings)
        if any(d.startswith("care_conference") for d in dag_ids):
            conference_history(settings)
        if "home_visit_planning" in dag_ids:
            visit_history(settings)
        week = DeskWeek()
        for dag_id in dag_ids:
            print(f"==> airflow dags test {dag_id} (log: {logs / (dag_id + '.log')})")
            print(f"    state={run_dag(dag_id, env, logs)}")
            if dag_id == "device_alert_sync":
                week = desk_week(settings)
                print("    the town desk answered; the next sync sends the texts, nothing else new")
                print(f"    state={run_dag(dag_id, env, logs, log='device_alert_sync.next')}")
        if "care_conferences" in dag_ids:
            conference_story(settings, api_url, relay)
        if "home_visit_planning" in dag_ids:
            sick_day_replan(settings, env, logs)
        states = task_states(api_url)
    out, first_visits = write_outputs(settings)
    print(
        "==> referrals as the hospitals see them (FHIR Task status): "
        + ", ".join(f"{state} {n}" for state, n in sorted(states.items()))
    )
    print(
        f"    first assessment visits booked: {sum(n for *_, n in first_visits)} "
        f"(per day and coordinator in {out / 'first_visits.csv'})"
    )
    for day, staff, town, n in first_visits[:12]:
        print(f"      {day} {staff} ({town}): {n}")
    print(f"    every referral's answer: {out / 'referrals.csv'}")
    if "device_alert_sync" in dag_ids:
        print_alert_week(settings, fleet, week)
    print_visit_plan(settings)
    if "pledge_reports" in dag_ids:
        print_pledges(settings)
    if "care_deadlines" in dag_ids:
        print_deadlines(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
