"""Home-visit demand and supply: cadences, risk tiers, satisfied contacts, leave and holidays."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

from care_models import migrations, vocab
from care_models.db import make_engine
from care_models.errors import ValidationError
from care_models.schema import (
    CarePlan,
    Case,
    Client,
    PlannedService,
    Staff,
    StaffLeave,
    Town,
    Visit,
)
from care_models.visits.demand import TIER_MONITORING, cadence_windows, expand_demand, outlook
from care_models.visits.model import SKILLS_BY_SERVICE, Coordinator, DueContact, Place
from care_models.visits.supply import (
    check_capacity,
    coordinator_from_staff,
    coordinators,
    minutes_per_day,
    working_days,
)

D = dt.date
START, END = D(2026, 11, 23), D(2026, 12, 6)  # Monday to Sunday, two ISO weeks (W48, W49)
PLAN_START = D(2026, 1, 5)


# -- a small care database -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("demand") / "care.db"
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(sqlite_engine: Engine) -> Iterator[Connection]:
    with sqlite_engine.connect() as connection:
        outer = connection.begin()
        try:
            yield connection
        finally:
            outer.rollback()
            connection.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        yield session


class County:
    """Rows for one test, inserted through the session (rolled back afterwards)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.town = self.add(
            Town(code="JC-01", name="진천읍", kind="eup", latitude=36.8553, longitude=127.4356)
        )
        self.nurse = self.staff("S0001", "nurse", ["nurse"])
        self.worker = self.staff("S0002", "social_worker", ["social_worker"])
        self.versions: dict[int, int] = {}

    def add(self, row: Any) -> Any:
        self.session.add(row)
        self.session.flush()
        return row

    def staff(self, code: str, role: str, skills: list[str], **values: Any) -> Staff:
        fields: dict[str, Any] = {
            "work_start": dt.time(9),
            "work_end": dt.time(18),
            "lunch_start": dt.time(12),
            "lunch_end": dt.time(13),
            "max_visits_per_day": 8,
        }
        fields.update(values)
        return self.add(
            Staff(
                code=code,
                name="담당자",
                role=role,
                skills=skills,
                office_town_id=self.town.id,
                **fields,
            )
        )

    def client(
        self,
        code: str,
        tier: str = "interest",
        *,
        latitude: float | None = 36.86,
        longitude: float | None = 127.44,
        window: tuple[dt.time, dt.time] | None = None,
    ) -> Client:
        return self.add(
            Client(
                code=code,
                name_enc="x",
                birth_date_enc="x",
                address_enc="x",
                birth_year=1940,
                sex="female",
                town_id=self.town.id,
                latitude=latitude,
                longitude=longitude,
                household_type="living_alone",
                risk_tier=tier,
                preferred_window_start=window[0] if window else None,
                preferred_window_end=window[1] if window else None,
                usual_staff_id=self.nurse.id,
            )
        )

    def plan(
        self, client: Client, *services: dict[str, Any], start: dt.date = PLAN_START
    ) -> list[PlannedService]:
        case = self.add(
            Case(client_id=client.id, town_id=self.town.id, status="case_managed", opened_on=start)
        )
        version = self.versions[client.id] = self.versions.get(client.id, 0) + 1
        care_plan = self.add(
            CarePlan(
                client_id=client.id,
                case_id=case.id,
                version=version,
                status="active",
                valid_from=start,
            )
        )
        rows = []
        for spec in services:
            values: dict[str, Any] = {
                "cadence": "monthly",
                "contacts_per_period": 1,
                "mode": "visit",
                "duration_min": 45,
                "start_date": start,
            }
            values.update(spec)
            values.setdefault("required_skill", SKILLS_BY_SERVICE[values["service_type"]])
            rows.append(self.add(PlannedService(care_plan_id=care_plan.id, **values)))
        return rows

    def visit(
        self,
        client: Client,
        service_type: str,
        mode: str,
        day: dt.date,
        status: str = "done",
        source: str = "plan",
    ) -> Visit:
        key = f"{client.code}:{service_type}:{mode}:{day}:{status}:{source}"
        return self.add(
            Visit(
                natural_key=key,
                client_id=client.id,
                staff_id=self.nurse.id,
                service_type=service_type,
                mode=mode,
                purpose="확인",
                visit_date=day,
                duration_min=60,
                status=status,
                source=source,
            )
        )


@pytest.fixture
def county(session: Session) -> County:
    return County(session)


def by_key(contacts: list[DueContact]) -> dict[str, DueContact]:
    return {c.key: c for c in contacts}


def windows(cadence: str, per_period: int, first: dt.date, last: dt.date, **kw: Any) -> list:
    return [
        (label, n, ws, we)
        for label, n, ws, we in cadence_windows(cadence, per_period, first, last, **kw)
    ]


# -- due windows of each cadence (pure) ----------------------------------------------------------


def test_monthly_windows_split_the_calendar_month() -> None:
    assert windows("monthly", 1, START, END) == [
        ("2026-11", 1, D(2026, 11, 1), D(2026, 11, 30)),
        ("2026-12", 1, D(2026, 12, 1), D(2026, 12, 31)),
    ]
    assert windows("monthly", 2, D(2026, 12, 1), D(2026, 12, 31)) == [
        ("2026-12", 1, D(2026, 12, 1), D(2026, 12, 15)),
        ("2026-12", 2, D(2026, 12, 16), D(2026, 12, 31)),
    ]
    # escort: four round trips a month, one a week-long window each
    assert [
        (ws.day, we.day)
        for _l, _n, ws, we in windows("monthly", 4, D(2026, 11, 1), D(2026, 11, 30))
    ] == [
        (1, 7),
        (8, 15),
        (16, 22),
        (23, 30),
    ]


def test_twice_monthly_is_one_contact_per_half_month() -> None:
    assert windows("twice_monthly", 2, D(2026, 2, 1), D(2026, 2, 28)) == [
        ("2026-02", 1, D(2026, 2, 1), D(2026, 2, 14)),
        ("2026-02", 2, D(2026, 2, 15), D(2026, 2, 28)),
    ]
    assert windows("twice_monthly", 1, START, END) == windows("twice_monthly", 2, START, END)
    assert windows("twice_monthly", 2, START, END) == [
        ("2026-11", 2, D(2026, 11, 16), D(2026, 11, 30)),
        ("2026-12", 1, D(2026, 12, 1), D(2026, 12, 15)),
    ]


def test_weekly_windows_are_iso_weeks_spread_over_the_working_week() -> None:
    assert windows("weekly", 1, START, END) == [
        ("2026-W48", 1, D(2026, 11, 23), D(2026, 11, 29)),
        ("2026-W49", 1, D(2026, 11, 30), D(2026, 12, 6)),
    ]
    assert windows("weekly", 2, START, D(2026, 11, 29)) == [
        ("2026-W48", 1, D(2026, 11, 23), D(2026, 11, 24)),
        ("2026-W48", 2, D(2026, 11, 25), D(2026, 11, 29)),
    ]
    # the ISO year: 1 January 2027 is in 2026's 53rd week
    assert windows("weekly", 1, D(2027, 1, 1), D(2027, 1, 1))[0][0] == "2026-W53"


def test_longer_cadences_are_anchored_on_the_calendar() -> None:
    assert windows("every_other_month", 1, START, END) == [
        ("2026-B6", 1, D(2026, 11, 1), D(2026, 12, 31))
    ]
    assert windows("every_other_month", 1, D(2026, 3, 10), D(2026, 3, 10)) == [
        ("2026-B2", 1, D(2026, 3, 1), D(2026, 4, 30))
    ]
    assert windows("quarterly", 1, START, END) == [("2026-Q4", 1, D(2026, 10, 1), D(2026, 12, 31))]
    assert windows("quarterly", 1, D(2026, 12, 20), D(2027, 1, 10)) == [
        ("2026-Q4", 1, D(2026, 10, 1), D(2026, 12, 31)),
        ("2027-Q1", 1, D(2027, 1, 1), D(2027, 3, 31)),
    ]
    assert windows("every_six_months", 1, START, END) == [
        ("2026-H2", 1, D(2026, 7, 1), D(2026, 12, 31))
    ]
    assert windows("every_six_months", 2, D(2026, 3, 1), D(2026, 3, 1)) == [
        ("2026-H1", 1, D(2026, 1, 1), D(2026, 3, 31))
    ]


def test_packages_spread_their_contacts_over_the_first_weeks() -> None:
    start = D(2026, 11, 2)
    month = (D(2026, 11, 1), D(2026, 12, 31))
    # discharge nursing: 5 visits and 4 calls over 4 weeks
    assert [
        (ws.day, we.day) for _l, _n, ws, we in windows("package", 5, *month, start_date=start)
    ] == [
        (2, 6),
        (7, 12),
        (13, 17),
        (18, 23),
        (24, 29),
    ]
    calls = windows("package", 4, *month, start_date=start)
    assert [(ws.day, we.day) for _l, _n, ws, we in calls] == [(2, 8), (9, 15), (16, 22), (23, 29)]
    assert {label for label, *_ in calls} == {"2026-11-02"}
    # rehabilitation 2 general / 4 intensive, nutrition 1 / 3
    assert len(windows("package", 2, *month, start_date=start)) == 2
    assert len(windows("package", 4, *month, start_date=start)) == 4
    assert windows("package", 1, *month, start_date=start) == [
        ("2026-11-02", 1, start, D(2026, 11, 29))
    ]
    assert len(windows("package", 3, *month, start_date=start)) == 3
    # inside a two-week horizon only the windows that reach into it are due
    assert [n for _l, n, *_ in windows("package", 5, START, END, start_date=start)] == [4, 5]
    # a package that ended before the horizon is not carried over
    assert windows("package", 5, START, END, start_date=D(2026, 10, 1)) == []


def test_once_and_service_dates_bound_the_windows() -> None:
    assert windows("once", 1, START, END, start_date=D(2026, 11, 20)) == [
        ("2026-11-20", 1, D(2026, 11, 20), D(2026, 12, 17))
    ]
    assert windows("once", 1, START, END, start_date=D(2026, 11, 20), end_date=D(2026, 11, 25)) == [
        ("2026-11-20", 1, D(2026, 11, 20), D(2026, 11, 25))
    ]
    # a monthly service that starts on 20 November is due from then; one ending on 30 Nov stops
    assert windows(
        "monthly", 1, START, END, start_date=D(2026, 11, 20), end_date=D(2026, 11, 30)
    ) == [("2026-11", 1, D(2026, 11, 20), D(2026, 11, 30))]
    with pytest.raises(ValueError, match="fortnightly"):
        cadence_windows("fortnightly", 1, START, END)


def test_every_tier_and_cadence_is_known() -> None:
    assert set(TIER_MONITORING) == set(vocab.RISK_TIERS)
    for tier_contacts in TIER_MONITORING.values():
        for mode, cadence, _priority in tier_contacts:
            assert mode in vocab.CONTACT_MODES and cadence in vocab.CADENCES


# -- risk-tier monitoring ------------------------------------------------------------------------


def test_risk_tier_monitoring_cadences(session: Session, county: County) -> None:
    for tier in vocab.RISK_TIERS:
        county.client(f"C-{tier}", tier)
    contacts = by_key(expand_demand(session, START, END))
    assert set(contacts) == {
        # at risk: a call every week and a visit every month
        "C-at_risk:monitoring:phone:2026-W48:1",
        "C-at_risk:monitoring:phone:2026-W49:1",
        "C-at_risk:monitoring:visit:2026-11:1",
        "C-at_risk:monitoring:visit:2026-12:1",
        # caution: a call every month
        "C-caution:monitoring:phone:2026-11:1",
        "C-caution:monitoring:phone:2026-12:1",
        # interest: every other month
        "C-interest:monitoring:phone:2026-B6:1",
        # closed: a visit every six months
        "C-closed:monitoring:visit:2026-H2:1",
    }
    visit = contacts["C-at_risk:monitoring:visit:2026-11:1"]
    assert (visit.earliest, visit.latest) == (START, D(2026, 11, 30))  # due since 1 November
    assert (visit.priority, visit.skill, visit.duration_min) == (2, "social_worker", 40)
    assert visit.purpose == "모니터링 방문" and visit.usual_staff_code == "S0001"
    december = contacts["C-at_risk:monitoring:visit:2026-12:1"]
    assert (december.earliest, december.latest) == (D(2026, 12, 1), END)
    call = contacts["C-at_risk:monitoring:phone:2026-W49:1"]
    assert (call.earliest, call.latest) == (D(2026, 11, 30), END)
    assert (call.priority, call.skill, call.duration_min, call.purpose) == (
        3,
        "social_worker",
        15,
        "안부 전화",
    )
    closed = contacts["C-closed:monitoring:visit:2026-H2:1"]
    assert (closed.earliest, closed.latest, closed.priority) == (START, END, 3)
    assert all(c.service_type == "monitoring" for c in contacts.values())


# -- care-plan services --------------------------------------------------------------------------


def test_each_service_type_expands_by_its_cadence(session: Session, county: County) -> None:
    client = county.client("C1", "interest", window=(dt.time(10), dt.time(12)))
    services = county.plan(
        client,
        {"service_type": "home_doctor", "cadence": "monthly", "duration_min": 30},
        {"service_type": "home_nursing", "cadence": "twice_monthly", "contacts_per_period": 2},
        {"service_type": "escort", "contacts_per_period": 4, "duration_min": 120},
        {
            "service_type": "discharge_nursing",
            "cadence": "package",
            "contacts_per_period": 5,
            "start_date": D(2026, 11, 16),
        },
        {
            "service_type": "discharge_nursing",
            "cadence": "package",
            "contacts_per_period": 4,
            "mode": "phone",
            "duration_min": 15,
            "start_date": D(2026, 11, 16),
        },
        {
            "service_type": "rehabilitation",
            "cadence": "package",
            "contacts_per_period": 4,
            "intensive": True,
            "duration_min": 50,
            "start_date": D(2026, 11, 23),
        },
        {
            "service_type": "nutrition",
            "cadence": "package",
            "contacts_per_period": 1,
            "duration_min": 40,
            "start_date": D(2026, 11, 23),
        },
        {"service_type": "first_assessment", "cadence": "once", "start_date": D(2026, 11, 25)},
        {"service_type": "monitoring", "cadence": "weekly", "mode": "phone", "duration_min": 15},
        {"service_type": "monitoring", "cadence": "quarterly", "duration_min": 40},
    )
    contacts = by_key(expand_demand(session, START, END))
    keys = {k for k in contacts if k.startswith("C1:") and ":monitoring:phone:2026-B6" not in k}
    assert keys == {
        "C1:home_doctor:visit:2026-11:1",
        "C1:home_doctor:visit:2026-12:1",
        "C1:home_nursing:visit:2026-11:2",
        "C1:home_nursing:visit:2026-12:1",
        "C1:escort:visit:2026-11:4",
        "C1:escort:visit:2026-12:1",
        # discharge package from 16 Nov: visits 2-4 (21-26 Nov, 27 Nov-1 Dec, 2-7 Dec)
        "C1:discharge_nursing:visit:2026-11-16:2",
        "C1:discharge_nursing:visit:2026-11-16:3",
        "C1:discharge_nursing:visit:2026-11-16:4",
        "C1:discharge_nursing:phone:2026-11-16:2",
        "C1:discharge_nursing:phone:2026-11-16:3",
        # intensive rehabilitation from 23 Nov: weekly, two weeks of it in the horizon
        "C1:rehabilitation:visit:2026-11-23:1",
        "C1:rehabilitation:visit:2026-11-23:2",
        "C1:nutrition:visit:2026-11-23:1",
        "C1:first_assessment:visit:2026-11-25:1",
        "C1:monitoring:phone:2026-W48:1",
        "C1:monitoring:phone:2026-W49:1",
        "C1:monitoring:visit:2026-Q4:1",
    }
    # the interest tier's own bimonthly call is still due as well
    assert "C1:monitoring:phone:2026-B6:1" in contacts
    expected = {
        "home_doctor": ("doctor", "방문진료", 30, 3),
        "home_nursing": ("nurse", "방문간호", 45, 3),
        "escort": ("social_worker", "이동동행", 120, 3),
        "rehabilitation": ("rehabilitation", "방문재활", 50, 3),
        "nutrition": ("nutrition", "방문영양", 40, 3),
        "first_assessment": ("nurse", "초기 방문평가", 45, 3),
    }
    for contact in contacts.values():
        if contact.service_type in expected:
            assert (
                contact.skill,
                contact.purpose,
                contact.duration_min,
                contact.priority,
            ) == expected[contact.service_type], contact.key
        # a call, too, keeps the client's window
        assert (contact.window_start, contact.window_end) == (dt.time(10), dt.time(12))
        assert contact.usual_staff_code == "S0001"
        assert contact.place == Place(36.86, 127.44) and contact.town_code == "JC-01"
    discharge = contacts["C1:discharge_nursing:visit:2026-11-16:2"]
    assert (discharge.priority, discharge.skill, discharge.purpose) == (
        2,
        "nurse",
        "퇴원 후 방문간호",
    )
    assert (discharge.earliest, discharge.latest) == (START, D(2026, 11, 26))
    assert contacts["C1:discharge_nursing:phone:2026-11-16:2"].priority == 2
    nursing = contacts["C1:home_nursing:visit:2026-11:2"]
    assert nursing.planned_service_id == services[1].id and nursing.case_id is not None
    assert (nursing.earliest, nursing.latest) == (START, D(2026, 11, 30))
    once = contacts["C1:first_assessment:visit:2026-11-25:1"]
    assert (once.earliest, once.latest) == (D(2026, 11, 25), END)


def test_inactive_plans_and_services_are_not_due(session: Session, county: County) -> None:
    client = county.client("C1", "interest")
    county.plan(
        client,
        {"service_type": "home_doctor", "end_date": D(2026, 11, 20)},
        {"service_type": "home_nursing", "start_date": D(2026, 12, 10)},
    )
    draft = county.plan(client, {"service_type": "nutrition"})[0]
    session.get(CarePlan, draft.care_plan_id).status = "draft"  # type: ignore[union-attr]
    session.flush()
    keys = set(by_key(expand_demand(session, START, END)))
    assert keys == {"C1:monitoring:phone:2026-B6:1"}


# -- visits done or booked count against the cadence ---------------------------------------------


def test_done_and_booked_visits_satisfy_their_contacts(session: Session, county: County) -> None:
    at_risk = county.client("C1", "at_risk")
    county.plan(at_risk, {"service_type": "home_nursing", "cadence": "twice_monthly"})
    before = set(by_key(expand_demand(session, START, END)))
    county.visit(at_risk, "home_nursing", "visit", D(2026, 11, 18))  # done before the horizon
    county.visit(at_risk, "monitoring", "phone", D(2026, 11, 24), status="booked")
    county.visit(at_risk, "monitoring", "visit", D(2026, 12, 2), status="planned", source="manual")
    # these do not count: wrong status, another mode, another client's window, and a visit
    # an earlier plan placed in this horizon (the new plan replaces it)
    county.visit(at_risk, "monitoring", "phone", D(2026, 12, 1), status="planned", source="plan")
    county.visit(at_risk, "home_nursing", "visit", D(2026, 12, 3), status="cancelled")
    county.visit(at_risk, "home_nursing", "visit", D(2026, 12, 4), status="missed")
    county.visit(at_risk, "monitoring", "visit", D(2026, 11, 30), status="cancelled")
    county.visit(at_risk, "home_nursing", "phone", D(2026, 12, 2))
    after = set(by_key(expand_demand(session, START, END)))
    assert before - after == {
        "C1:home_nursing:visit:2026-11:2",
        "C1:monitoring:phone:2026-W48:1",
        "C1:monitoring:visit:2026-12:1",
    }
    assert after <= before


def test_one_visit_satisfies_one_contact(session: Session, county: County) -> None:
    client = county.client("C1", "interest")
    county.plan(client, {"service_type": "escort", "contacts_per_period": 4})
    # two trips in the 23-30 November window: the window is met once, December still due
    county.visit(client, "escort", "visit", D(2026, 11, 24))
    county.visit(client, "escort", "visit", D(2026, 11, 25), status="booked")
    keys = set(by_key(expand_demand(session, START, END)))
    assert {k for k in keys if ":escort:" in k} == {"C1:escort:visit:2026-12:1"}


def test_booked_urgent_visits_are_fixed_contacts(session: Session, county: County) -> None:
    client = county.client("C1", "interest", window=(dt.time(14), dt.time(17)))
    urgent = county.visit(
        client, "first_assessment", "visit", D(2026, 11, 24), "booked", "referral"
    )
    alert = county.visit(client, "monitoring", "visit", D(2026, 11, 26), "planned", "alert")
    county.visit(
        client, "first_assessment", "visit", D(2026, 11, 20), "booked", "referral"
    )  # before
    county.visit(client, "first_assessment", "visit", D(2026, 11, 25), "done", "referral")  # done
    county.visit(client, "first_assessment", "visit", D(2026, 11, 27), "cancelled", "referral")
    fixed = [c for c in expand_demand(session, START, END) if c.fixed_visit_id is not None]
    assert [(c.fixed_visit_id, c.priority, c.earliest, c.latest) for c in fixed] == [
        (urgent.id, 1, D(2026, 11, 24), D(2026, 11, 24)),
        (alert.id, 1, D(2026, 11, 26), D(2026, 11, 26)),
    ]
    assert fixed[0].key == f"C1:first_assessment:visit:2026-11-24:v{urgent.id}"
    assert (fixed[0].skill, fixed[0].duration_min, fixed[0].window_start) == (
        "nurse",
        60,
        dt.time(14),
    )
    assert fixed[1].skill == "social_worker"


# -- stable keys ---------------------------------------------------------------------------------


def test_keys_are_unique_and_stable_across_runs(session: Session, county: County) -> None:
    for number, tier in enumerate(vocab.RISK_TIERS * 3):
        client = county.client(f"C{number:03d}", tier)
        county.plan(
            client,
            {"service_type": "home_nursing", "cadence": "twice_monthly", "contacts_per_period": 2},
            {"service_type": "monitoring", "cadence": "weekly", "mode": "phone"},
        )
    first = expand_demand(session, START, END)
    second = expand_demand(session, START, END)
    assert first == second
    assert len({c.key for c in first}) == len(first)
    # the same contact keeps its key when the horizon moves
    shifted = by_key(expand_demand(session, D(2026, 11, 30), D(2026, 12, 13)))
    for key in ("C000:monitoring:phone:2026-W49:1", "C001:home_nursing:visit:2026-12:1"):
        assert key in shifted and key in by_key(first)
    # the plan's own weekly call and the at-risk tier's weekly call are one contact
    assert sum(1 for c in first if c.key == "C000:monitoring:phone:2026-W48:1") == 1


def test_expansion_uses_a_few_queries_whatever_the_number_of_clients(
    session: Session, county: County, connection: Connection
) -> None:
    for number in range(60):
        client = county.client(f"C{number:03d}", vocab.RISK_TIERS[number % 4])
        county.plan(client, {"service_type": "home_nursing", "cadence": "twice_monthly"})
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("query")

    event.listen(connection, "before_cursor_execute", count)
    try:
        contacts = expand_demand(session, START, END)
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert len(contacts) > 200
    assert len(statements) <= 8


# -- bad input names the record ------------------------------------------------------------------


def test_client_with_visits_due_needs_coordinates(session: Session, county: County) -> None:
    county.client("C-OK", "at_risk")
    county.client("C-NOWHERE", "closed", latitude=None, longitude=None)
    with pytest.raises(ValidationError) as raised:
        expand_demand(session, START, END)
    assert raised.value.field == "clients.latitude"
    assert raised.value.record == "C-NOWHERE"
    assert "C-NOWHERE" in str(raised.value) and "home coordinates" in str(raised.value)


def test_clients_with_nothing_due_need_no_coordinates(session: Session, county: County) -> None:
    client = county.client("C-DONE", "closed", latitude=None, longitude=None)
    county.visit(client, "monitoring", "visit", D(2026, 8, 3))  # the half-year's visit is done
    caller = county.client("C-CALLS", "caution", latitude=None, longitude=None)
    contacts = expand_demand(session, START, END)
    assert {c.client_code for c in contacts} == {"C-CALLS"}
    # calls need no travel: the town office stands in for the home
    assert {c.place for c in contacts} == {Place(36.8553, 127.4356)}
    assert caller.id in {c.client_id for c in contacts}


def test_unknown_cadence_names_the_planned_service(
    session: Session, county: County, connection: Connection
) -> None:
    client = county.client("C1", "interest")
    connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
    service = county.plan(client, {"service_type": "home_nursing", "cadence": "fortnightly"})[0]
    with pytest.raises(ValidationError) as raised:
        expand_demand(session, START, END)
    assert raised.value.field == "planned_services.cadence"
    assert raised.value.record == f"planned service {service.id}"
    assert "'fortnightly'" in str(raised.value) and f"planned service {service.id}" in str(
        raised.value
    )


def test_a_horizon_ending_before_it_starts_is_refused(session: Session) -> None:
    with pytest.raises(ValidationError, match="horizon"):
        expand_demand(session, END, START)


# -- supply: working days, holidays, leave -------------------------------------------------------


@pytest.mark.parametrize(
    "holiday",
    [
        D(2026, 3, 2),
        D(2026, 5, 25),
        D(2026, 8, 17),
        D(2026, 10, 5),
        D(2026, 9, 24),
        D(2026, 12, 25),
    ],
)
def test_2026_public_and_substitute_holidays_are_not_working_days(holiday: dt.date) -> None:
    assert holiday.weekday() < 5
    year = working_days(D(2026, 1, 1), D(2026, 12, 31))
    assert holiday not in year
    coordinator = Coordinator(
        1,
        "S1",
        "nurse",
        frozenset({"nurse"}),
        "JC-01",
        Place(36.8, 127.4),
        dt.time(9),
        dt.time(18),
        None,
        None,
        8,
    )
    assert not coordinator.works_on(holiday)
    assert coordinator.works_on(D(2026, 11, 23))


def test_working_days_of_the_horizon() -> None:
    assert working_days(START, END) == [
        D(2026, 11, 23) + dt.timedelta(days=i) for i in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11)
    ]
    # the week of 2 March 2026: Monday is the substitute holiday of 3-1
    assert working_days(D(2026, 3, 2), D(2026, 3, 8)) == [D(2026, 3, d) for d in (3, 4, 5, 6)]
    assert len(working_days(D(2026, 1, 1), D(2026, 12, 31))) == 365 - 104 - 16


def test_coordinators_take_leave_inside_the_horizon_as_days_off(
    session: Session, county: County
) -> None:
    county.add(
        StaffLeave(staff_id=county.nurse.id, start_date=D(2026, 11, 20), end_date=D(2026, 11, 24))
    )
    county.add(
        StaffLeave(staff_id=county.nurse.id, start_date=D(2026, 12, 4), end_date=D(2026, 12, 4))
    )
    county.add(
        StaffLeave(staff_id=county.worker.id, start_date=D(2026, 12, 10), end_date=D(2026, 12, 11))
    )
    county.staff("S0003", "nurse", ["nurse"], active=False)
    team = {c.code: c for c in coordinators(session, START, END)}
    assert set(team) == {"S0001", "S0002"}
    nurse = team["S0001"]
    assert nurse.days_off == {D(2026, 11, 23), D(2026, 11, 24), D(2026, 12, 4)}
    assert not nurse.works_on(D(2026, 11, 23)) and nurse.works_on(D(2026, 11, 25))
    assert team["S0002"].days_off == frozenset()
    assert (nurse.skills, nurse.town_code, nurse.office) == (
        frozenset({"nurse"}),
        "JC-01",
        Place(36.8553, 127.4356),
    )
    assert (nurse.work_start, nurse.work_end, nurse.lunch_start, nurse.lunch_end) == (
        dt.time(9),
        dt.time(18),
        dt.time(12),
        dt.time(13),
    )
    assert minutes_per_day(nurse) == 480
    assert [d for d in working_days(START, END) if nurse.works_on(d)] == [
        D(2026, 11, d) for d in (25, 26, 27, 30)
    ] + [D(2026, 12, d) for d in (1, 2, 3)]


def test_staff_without_working_hours_names_the_staff_code(
    session: Session, county: County, connection: Connection
) -> None:
    connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
    county.staff("S0099", "nurse", ["nurse"], work_start=dt.time(9), work_end=dt.time(9))
    with pytest.raises(ValidationError) as raised:
        coordinators(session, START, END)
    assert (raised.value.field, raised.value.record) == ("staff.work_start", "S0099")
    assert "S0099" in str(raised.value)
    blank = Staff(id=7, code="S0100", role="nurse", skills=["nurse"], max_visits_per_day=8)
    with pytest.raises(ValidationError, match="S0100"):
        coordinator_from_staff(blank, county.town)
    lunch_only = Staff(
        id=8,
        code="S0101",
        role="nurse",
        skills=["nurse"],
        work_start=dt.time(9),
        work_end=dt.time(18),
        lunch_start=dt.time(12),
        max_visits_per_day=8,
    )
    with pytest.raises(ValidationError, match="S0101"):
        coordinator_from_staff(lunch_only, county.town)


# -- capacity and outlook ------------------------------------------------------------------------


def _contact(
    key: str, skill: str, minutes: int, mode: str = "visit", day: dt.date = START
) -> DueContact:
    return DueContact(
        key,
        1,
        "C1",
        "JC-01",
        Place(36.8, 127.4),
        "home_nursing",
        mode,
        skill,
        minutes,
        day,
        day,
        "방문간호",
    )


def test_check_capacity_names_the_skill_and_the_numbers() -> None:
    nurse = Coordinator(
        1,
        "S1",
        "nurse",
        frozenset({"nurse", "rehabilitation"}),
        "JC-01",
        Place(36.8, 127.4),
        dt.time(9),
        dt.time(18),
        dt.time(12),
        dt.time(13),
        2,
        frozenset({D(2026, 11, 24)}),
    )
    days = working_days(START, END)  # 10 days, the nurse works 9 of them
    fits = [_contact(f"k{i}", "nurse", 60, day=D(2026, 11, 25)) for i in range(18)]
    assert check_capacity(fits, [nurse], days) == []
    too_long = [_contact(f"k{i}", "nurse", 300, "phone") for i in range(15)]  # 4500 > 4320 min
    assert check_capacity(too_long, [nurse], days) == [
        "nurse: 4500 min due (15 contacts) but only 4320 min available "
        "(1 coordinator, 9 working days), short by 180 min"
    ]
    too_many = [_contact(f"k{i}", "nurse", 10) for i in range(19)]  # 19 visits > 2 x 9
    (message,) = check_capacity(too_many, [nurse], days)
    assert message.startswith("nurse: 19 home visits due but at most 18 fit")
    nobody = [_contact("k1", "doctor", 30), _contact("k2", "doctor", 30)]
    assert check_capacity(nobody, [nurse], days) == [
        "doctor: 2 contacts (60 min) due but no active coordinator has the skill doctor"
    ]
    on_leave = [_contact("k1", "rehabilitation", 50, day=D(2026, 11, 24))]
    (message,) = check_capacity(on_leave, [nurse], days)
    assert message.startswith("rehabilitation: 1 contact due on no day") and "k1" in message


def test_outlook_counts_the_month_per_skill(session: Session, county: County) -> None:
    at_risk = county.client("C1", "at_risk")
    county.plan(
        at_risk,
        {"service_type": "home_nursing", "cadence": "twice_monthly"},
        {"service_type": "home_doctor"},
    )
    county.client("C2", "caution")
    counts = outlook(session, D(2026, 12, 14))
    # December 2026: weeks 49-53 touch it (5 calls), 1 monitoring visit, 1 call for C2
    assert counts == {
        "doctor": 1,
        "nurse": 2,
        "social_worker": 5 + 1 + 1,
        "rehabilitation": 0,
        "nutrition": 0,
    }


def test_a_call_keeps_the_clients_time_window(session: Session, county: County) -> None:
    # the day sheet once placed calls at 17:29 to a client who wants 10:00-12:00
    county.client("C-w", "at_risk", window=(dt.time(10), dt.time(12)))
    contacts = by_key(expand_demand(session, START, END))
    call = contacts["C-w:monitoring:phone:2026-W48:1"]
    assert (call.window_start, call.window_end) == (dt.time(10), dt.time(12))
    visit = contacts["C-w:monitoring:visit:2026-11:1"]
    assert (visit.window_start, visit.window_end) == (dt.time(10), dt.time(12))
