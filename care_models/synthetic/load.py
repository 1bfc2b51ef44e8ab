"""Write the synthetic county to the database, idempotently, and count what is there.

:func:`load_county` writes a :func:`care_models.synthetic.county.build_county` county,
skipping rows whose natural key already exists, so loading twice adds nothing.

A database that holds clients but no ``synthetic_county`` mark holds real people:
loading refuses it. The first load marks the database. No token is derived from the
county: :func:`issue_synthetic_tokens` (development only) gives its hospitals and
coordinators random ones, kept in ``CARE_VAR_DIR/dev-tokens.json``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from care_models.config import Settings, load_settings
from care_models.errors import ValidationError
from care_models.privacy import Vault, encrypted_client_columns, location_columns
from care_models.schema import (
    Base,
    Budget,
    CarePlan,
    Case,
    Client,
    DatabaseMark,
    Device,
    DutyRoster,
    IndicatorTarget,
    Need,
    Organisation,
    PlannedService,
    PledgeIndicator,
    PledgeProgram,
    Staff,
    StaffLeave,
    Town,
)
from care_models.synthetic.county import (
    COUNTY,
    HOSPITALS,
    LEAVE_FROM,
    PROVIDERS,
    TOWNS,
    VENDORS,
    County,
)
from care_models.synthetic.roster import load_conference_roster
from care_models.tokens import Holder, development_token, issue_development_tokens
from care_models.workdays import is_business_day


def _existing(session: Session, column: object) -> set[object]:
    return set(session.scalars(select(column)))  # type: ignore[call-overload]


def _insert_missing(
    session: Session,
    model: type[Base],
    key: str,
    rows: list[dict[str, object]],
) -> int:
    table: Table = model.__table__  # type: ignore[assignment]
    have = _existing(session, table.c[key])
    columns = {c for r in rows for c in r}
    fresh = [{c: r.get(c) for c in columns} for r in rows if r[key] not in have]
    for start in range(0, len(fresh), 2000):
        session.execute(insert(table), fresh[start : start + 2000])
    return len(fresh)


def _ids(session: Session, model: type[Base], key: str = "code") -> dict[str, int]:
    table: Table = model.__table__  # type: ignore[assignment]
    return {k: i for k, i in session.execute(select(table.c[key], table.c.id))}


SYNTHETIC_MARK = "synthetic_county"


def _refuse_real_clients(session: Session, seed: int) -> None:
    """Clients without the synthetic mark are real people: never mix a fake county in."""
    if session.get(DatabaseMark, SYNTHETIC_MARK) is not None:
        return
    if session.scalar(select(Client.id).limit(1)) is not None:
        raise ValidationError(
            "seed",
            "the care database holds clients but was never seeded (no synthetic_county "
            "mark): real clients, refused",
        )
    session.add(DatabaseMark(name=SYNTHETIC_MARK, value=f"seed {seed}"))


def issue_synthetic_tokens(
    session: Session, vault: Vault, settings: Settings, county: County
) -> Path:
    """Development only: random tokens for the county's hospitals and coordinators."""
    holders = [Holder("hospital", code) for code, *_ in HOSPITALS]
    holders += [Holder("staff", s.code) for s in county.staff]
    return issue_development_tokens(session, vault, settings, holders)


def hospital_token(code: str) -> str:
    """A synthetic hospital's development API token, from ``CARE_VAR_DIR/dev-tokens.json``."""
    return development_token(load_settings(), "hospital", code)


def staff_feed_token(code: str) -> str:
    """A synthetic coordinator's development calendar-feed token (see hospital_token)."""
    return development_token(load_settings(), "staff", code)


def _load_places_and_organisations(session: Session) -> None:
    _insert_missing(
        session,
        Town,
        "code",
        [
            {
                "code": t.code,
                "name": t.name,
                "kind": t.kind,
                "latitude": t.latitude,
                "longitude": t.longitude,
                "urban": t.kind == "eup",
            }
            for t in TOWNS
        ],
    )
    towns = _ids(session, Town)
    organisations: list[dict[str, object]] = []
    for code, name, in_county, town, lat, lon in HOSPITALS:
        organisations.append(
            {
                "code": code,
                "name": name,
                "kind": "hospital",
                "in_county": in_county,
                "town_id": towns[town] if town else None,
                "latitude": lat,
                "longitude": lon,
                "identifier_system": f"urn:care:hospital:{code.lower()}:referral",
                "services": [],
            }
        )
    for code, name, services in PROVIDERS:
        organisations.append(
            {
                "code": code,
                "name": name,
                "kind": "provider",
                "in_county": True,
                "town_id": towns["JC-01"],
                "services": list(services),
            }
        )
    for code, name, device_type in VENDORS:
        organisations.append(
            {
                "code": code,
                "name": name,
                "kind": "vendor",
                "in_county": False,
                "device_type": device_type,
                "services": [],
            }
        )
    _insert_missing(session, Organisation, "code", organisations)


def _load_staff(session: Session, county: County) -> None:
    towns = _ids(session, Town)
    _insert_missing(
        session,
        Staff,
        "code",
        [
            {
                "code": s.code,
                "name": s.name,
                "role": s.role,
                "skills": s.skills,
                "office_town_id": towns[s.town_code],
                "work_start": dt.time(9),
                "work_end": dt.time(18),
                "lunch_start": dt.time(12),
                "lunch_end": dt.time(13),
                "max_visits_per_day": s.max_visits_per_day,
                "active": True,
            }
            for s in county.staff
        ],
    )
    staff_ids = _ids(session, Staff)
    have = {
        (sid, d) for sid, d in session.execute(select(StaffLeave.staff_id, StaffLeave.start_date))
    }
    fresh = [
        {"staff_id": staff_ids[s.code], "start_date": d, "end_date": d, "reason": "annual"}
        for s in county.staff
        for d in s.leave
        if (staff_ids[s.code], d) not in have
    ]
    if fresh:
        session.execute(insert(StaffLeave), fresh)


def _load_clients(session: Session, vault: Vault, county: County) -> None:
    towns, staff_ids = _ids(session, Town), _ids(session, Staff)
    have = _existing(session, Client.code)
    rows = []
    for c in county.clients:
        if c.code in have:
            continue
        rows.append(
            {
                "code": c.code,
                **encrypted_client_columns(vault, c.person),
                "birth_year": c.person.birth_date.year,
                "sex": c.sex,
                "town_id": towns[c.town_code],
                **location_columns(vault, c.latitude, c.longitude),
                "household_type": c.household_type,
                "risk_tier": c.risk_tier,
                "ltc_grade": c.ltc_grade,
                "basic_livelihood": c.basic_livelihood,
                "medical_aid": c.medical_aid,
                "consent_given": c.consent_given,
                "consent_date": c.case_opened_on if c.consent_given else None,
                "preferred_window_start": c.window[0] if c.window else None,
                "preferred_window_end": c.window[1] if c.window else None,
                "usual_staff_id": staff_ids.get(c.usual_staff_code or ""),
            }
        )
    for start in range(0, len(rows), 2000):
        session.execute(insert(Client), rows[start : start + 2000])


REVIEW_EVERY = dt.timedelta(days=180)


def _next_review(opened: dt.date) -> dt.date:
    """Plans are reviewed every six months: the first review on or after the county's
    start (``LEAVE_FROM``), so reviews spread over the weeks to come."""
    review = opened + REVIEW_EVERY
    while review < LEAVE_FROM:
        review += REVIEW_EVERY
    return review


def _load_cases_and_plans(session: Session, county: County) -> None:
    """One case and one active care plan per client with an opened case (skipped if present)."""
    client_ids, towns = _ids(session, Client), _ids(session, Town)
    providers = _ids(session, Organisation)
    with_case = set(session.scalars(select(Case.client_id).where(Case.referral_id.is_(None))))
    todo = [c for c in county.clients if c.case_opened_on and client_ids[c.code] not in with_case]
    for c in todo:
        assert c.case_opened_on is not None
        case = Case(
            client_id=client_ids[c.code],
            town_id=towns[c.town_code],
            status="case_managed",
            priority=2 if c.risk_tier == "at_risk" else 3,
            high_risk=c.risk_tier == "at_risk" and c.household_type == "living_alone",
            opened_on=c.case_opened_on,
        )
        session.add(case)
        session.flush()
        for category, code in c.needs:
            session.add(
                Need(
                    case_id=case.id,
                    category=category,
                    code=code,
                    status="decided",
                    identified_on=c.case_opened_on,
                )
            )
        plan = CarePlan(
            client_id=case.client_id,
            case_id=case.id,
            version=1,
            status="active",
            valid_from=c.case_opened_on,
            approved_on=c.case_opened_on,
            review_due=_next_review(c.case_opened_on),
        )
        session.add(plan)
        session.flush()
        for s in c.services:
            session.add(
                PlannedService(
                    care_plan_id=plan.id,
                    service_type=s.service_type,
                    cadence=s.cadence,
                    contacts_per_period=s.contacts_per_period,
                    mode=s.mode,
                    required_skill=s.required_skill,
                    duration_min=s.duration_min,
                    intensive=s.intensive,
                    start_date=c.case_opened_on,
                    provider_id=providers.get(s.provider_code or ""),
                )
            )


# How often each device type reports a sign of life in the synthetic fleet: plugs and
# gateways send a daily status, the AI check-in call is a sign of life twice a week.
HEARTBEAT_MINUTES = {
    "smart_plug": 1440,
    "emergency_sensor": 1440,
    "ai_call": 5040,
    "ai_speaker": 1440,
}


def _no_change_hours(external_id: str) -> int:
    """The household's "no change for N hours" setting, 24 to 50, fixed per plug."""
    digits = "".join(ch for ch in external_id if ch.isdigit()) or "0"
    return 24 + int(digits) * 7 % 27


def _load_devices(session: Session, county: County) -> None:
    client_ids, vendors = _ids(session, Client), _ids(session, Organisation)
    device_types = {code: device_type for code, _n, device_type in VENDORS}
    have = {(v, e) for v, e in session.execute(select(Device.vendor_id, Device.external_id))}
    fresh = [
        {
            "vendor_id": vendors[vendor],
            "external_id": external,
            "client_id": client_ids[c.code],
            "device_type": device_types[vendor],
            "installed_on": c.case_opened_on or LEAVE_FROM,
            "status": "active",
            "heartbeat_interval_min": HEARTBEAT_MINUTES[device_types[vendor]],
            "no_change_hours": _no_change_hours(external) if vendor == "V-PLUG" else None,
        }
        for c in county.clients
        for vendor, external in c.devices
        if (vendors[vendor], external) not in have
    ]
    if fresh:
        session.execute(insert(Device), fresh)


def _load_pledges(session: Session) -> None:
    """The county's own integrated-care pledge, with the figures DOMAIN.md gives for Jincheon."""
    if session.scalar(select(PledgeProgram.id).where(PledgeProgram.code == "JC-CARE-2026")):
        return
    program = PledgeProgram(
        code="JC-CARE-2026",
        municipality=COUNTY,
        title="의료·돌봄 통합지원으로 살던 곳에서 건강한 노후",
        goal="퇴원환자와 돌봄 사각지대 어르신의 지역사회 정착",
        department="통합돌봄팀",
        start_year=2025,
        end_year=2027,
    )
    session.add(program)
    session.flush()
    discharge = PledgeIndicator(
        program_id=program.id,
        code="discharge_settled",
        name="퇴원환자 지역사회 정착 인원",
        unit="명",
        overall_target=240,
        formula="6개월 후 재가 유지 인원",
        data_source="통합돌봄 사례관리 DB",
        collection_method="월별 집계",
        query_name="pledges/count_settled_discharges",
    )
    session.add(discharge)
    session.flush()
    for period, target in (("2025", 70), ("2026", 80), ("2027", 90)):
        session.add(IndicatorTarget(indicator_id=discharge.id, period=period, target=target))
    for source, planned in (("national", 120), ("provincial", 36), ("local", 84)):
        session.add(
            Budget(program_id=program.id, funding_source=source, period="2026", planned=planned)
        )


ROSTER_FROM, ROSTER_TO = dt.date(2026, 1, 1), dt.date(2027, 12, 31)


def _load_duty_roster(session: Session) -> None:
    """An on-duty social worker for every weekend and holiday (the alert protocol's day 2).

    By rotation, no random draw (the county's random stream stays as it was), skipping
    whoever is on leave that day; days already rostered are kept.
    """
    workers = session.scalars(
        select(Staff)
        .where(Staff.role == "social_worker", Staff.active.is_(True))
        .order_by(Staff.code)
    ).all()
    if not workers:
        return
    rostered = set(session.scalars(select(DutyRoster.day)))
    leave = session.execute(
        select(StaffLeave.staff_id, StaffLeave.start_date, StaffLeave.end_date)
    ).all()
    turn, day = 0, ROSTER_FROM
    while day <= ROSTER_TO:
        if not is_business_day(day) and day not in rostered:
            away = {sid for sid, start, end in leave if start <= day <= end}
            for offset in range(len(workers)):
                worker = workers[(turn + offset) % len(workers)]
                if worker.id not in away:
                    session.add(DutyRoster(day=day, staff_id=worker.id))
                    turn += offset + 1
                    break
        day += dt.timedelta(days=1)


def _staff_phones(session: Session, vault: Vault) -> None:
    """Made-up work phones for the coordinators (the protocol texts them), encrypted."""
    for index, member in enumerate(session.scalars(select(Staff).order_by(Staff.code)), 1):
        if member.phone_enc is None:
            member.phone_enc = vault.encrypt(
                f"010-5{index:03d}-{index * 37 % 10000:04d}", "staff.phone"
            )


def load_county(session: Session, vault: Vault, county: County) -> dict[str, int]:
    """Write the county; rows whose natural key exists are skipped. Returns row counts.

    Refuses a database of real clients (ValidationError, nothing written)."""
    _refuse_real_clients(session, county.seed)
    _load_places_and_organisations(session)
    _load_staff(session, county)
    _load_clients(session, vault, county)
    _load_cases_and_plans(session, county)
    _load_devices(session, county)
    _load_pledges(session)
    session.flush()
    _load_duty_roster(session)
    _staff_phones(session, vault)
    load_conference_roster(session)
    session.flush()
    return county_counts(session)


COUNTED = (
    Town,
    Organisation,
    Staff,
    StaffLeave,
    Client,
    Case,
    Need,
    CarePlan,
    PlannedService,
    Device,
    PledgeProgram,
)


def county_counts(session: Session) -> dict[str, int]:
    return {
        m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0 for m in COUNTED
    }
