"""Publishing a hand-made plan over the synthetic county, on SQLite and PostgreSQL.

Two coordinators, two days, a few stops each (a first assessment, a call, a client
seen twice in one day, a client seen on both days) and one unplanned contact.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.privacy import Vault
from care_models.rendering.fonts import KoreanFont
from care_models.schema import AuditLog, Client, Staff, Town, Visit
from care_models.visits import publish
from care_models.visits.model import Coordinator, Place, Plan, PlannedStop, Unplanned
from care_models.visits.publish import (
    DEFAULT_ACTOR,
    PublishResult,
    event_uid,
    ics_feed,
    publish_plan,
    sheet_purpose,
)
from care_models.workdays import SEOUL, is_business_day
from tests.support.pdf import pdf_font_names, pdf_text

MONDAY = dt.date(2026, 3, 9)
TUESDAY = MONDAY + dt.timedelta(days=1)
FRIDAY = MONDAY + dt.timedelta(days=4)


@dataclass
class Person:
    code: str
    name: str
    address: str
    phone: str | None


@dataclass
class Scenario:
    plan: Plan
    coordinators: list[Coordinator]
    people: dict[str, Person]  # by client code
    clients_of: dict[str, set[str]]  # staff code -> client codes in the plan


def _coordinator(session: Session, staff: Staff) -> Coordinator:
    town = session.get_one(Town, staff.office_town_id)
    return Coordinator(
        staff_id=staff.id,
        code=staff.code,
        role=staff.role,
        skills=frozenset(staff.skills),
        town_code=town.code,
        office=Place(town.latitude, town.longitude),
        work_start=staff.work_start,
        work_end=staff.work_end,
        lunch_start=staff.lunch_start,
        lunch_end=staff.lunch_end,
        max_visits_per_day=staff.max_visits_per_day,
    )


def _person(vault: Vault, client: Client) -> Person:
    return Person(
        client.code,
        vault.decrypt(client.name_enc, "clients.name"),
        vault.decrypt(client.address_enc, "clients.address"),
        vault.decrypt(client.phone_enc, "clients.phone") if client.phone_enc else None,
    )


def build_scenario(session: Session, vault: Vault) -> Scenario:
    """Two coordinators' own clients, with names that differ between the two."""
    assert is_business_day(MONDAY) and is_business_day(TUESDAY)
    chosen: list[tuple[Staff, list[Client]]] = []
    taken: set[str] = set()
    for staff in session.scalars(select(Staff).order_by(Staff.code)):
        clients = [
            c
            for c in session.scalars(
                select(Client).where(Client.usual_staff_id == staff.id).order_by(Client.code)
            )
            if c.phone_enc and c.latitude is not None
        ]
        unique = [c for c in clients if _person(vault, c).name not in taken]
        if len(unique) >= 4:
            chosen.append((staff, unique[:4]))
            taken |= {_person(vault, c).name for c in unique[:4]}
        if len(chosen) == 2:
            break
    assert len(chosen) == 2, "the synthetic county has two coordinators with four clients"
    (staff_a, a), (staff_b, b) = chosen

    def make(
        who: Staff, client: Client, day: dt.date, seq: int, at: str, service: str, mode: str
    ) -> PlannedStop:
        return PlannedStop(
            contact_key=f"{client.code}:{service}:{mode}:{day:%Y-%m}-{seq}",
            client_id=client.id,
            client_code=client.code,
            staff_code=who.code,
            day=day,
            start=dt.time.fromisoformat(at),
            duration_min=15 if mode == "phone" else 45,
            sequence=seq,
            travel_min=0 if mode == "phone" else 10 + seq,
            travel_km=0.0 if mode == "phone" else 2.0 + seq / 2,
            service_type=service,
            mode=mode,
            purpose="",
        )

    stops = [
        make(staff_a, a[0], MONDAY, 1, "09:30", "first_assessment", "visit"),
        make(staff_a, a[1], MONDAY, 2, "10:40", "home_nursing", "visit"),
        make(staff_a, a[2], MONDAY, 3, "11:30", "monitoring", "phone"),
        make(staff_a, a[3], TUESDAY, 1, "09:00", "discharge_nursing", "phone"),
        make(staff_a, a[1], TUESDAY, 2, "10:00", "monitoring", "visit"),
        make(staff_a, a[3], TUESDAY, 3, "13:30", "discharge_nursing", "visit"),  # twice a day
        make(staff_b, b[0], MONDAY, 1, "09:40", "home_nursing", "visit"),
        make(staff_b, b[1], MONDAY, 2, "11:00", "home_nursing", "visit"),
        make(staff_b, b[2], TUESDAY, 1, "14:00", "monitoring", "phone"),
    ]
    plan = Plan(
        horizon_start=MONDAY,
        horizon_end=FRIDAY,
        stops=stops,
        unplanned=[
            Unplanned(
                f"{b[3].code}:home_doctor:visit:2026-03", b[3].code, "home_doctor", "의사 일정 없음"
            )
        ],
        return_km={(staff_a.code, MONDAY): 3.1, (staff_b.code, MONDAY): 2.2},
    )
    people = {c.code: _person(vault, c) for c in [*a, *b]}
    clients_of = {
        staff_a.code: {s.client_code for s in stops if s.staff_code == staff_a.code},
        staff_b.code: {s.client_code for s in stops if s.staff_code == staff_b.code},
    }
    return Scenario(
        plan, [_coordinator(session, staff_a), _coordinator(session, staff_b)], people, clients_of
    )


def run_publish(engine: Engine, vault: Vault, scenario: Scenario, out: Path) -> PublishResult:
    with Session(engine) as session, session.begin():
        return publish_plan(session, vault, scenario.plan, scenario.coordinators, out)


@pytest.fixture
def scenario(county_engine: Engine, vault: Vault) -> Scenario:
    with Session(county_engine) as session:
        return build_scenario(session, vault)


@pytest.fixture
def published(
    county_engine: Engine, vault: Vault, scenario: Scenario, tmp_path: Path
) -> PublishResult:
    return run_publish(county_engine, vault, scenario, tmp_path / "out")


def _personal_strings(scenario: Scenario, codes: set[str] | None = None) -> list[str]:
    values = []
    for code, person in scenario.people.items():
        if codes is None or code in codes:
            values += [person.name, person.address] + ([person.phone] if person.phone else [])
    return values


def test_files_per_coordinator_and_day(
    published: PublishResult, scenario: Scenario, tmp_path: Path
) -> None:
    root = tmp_path / "out" / "visits" / "2026-03-09"
    assert published.directory == root
    a, b = (c.code for c in scenario.coordinators)
    expected = {"team_overview.html"}
    for code, days in ((a, (MONDAY, TUESDAY)), (b, (MONDAY, TUESDAY))):
        for day in days:
            expected |= {f"{code}/{code}_{day}.html", f"{code}/{code}_{day}.pdf"}
        expected |= {f"{code}/{code}_2026-03-09_2026-03-13.ics"}
        expected |= {f"{code}/{code}_2026-03-09_2026-03-13.csv"}
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    assert on_disk == expected
    assert {str(p.relative_to(root)) for p in published.files} == expected
    assert published.day_sheets == 4 and published.stops == 9 and published.unplanned == 1
    assert published.coordinators[a].visits == 4 and published.coordinators[a].calls == 2
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["visits"]  # no staging left


def test_day_sheet_html_holds_only_the_coordinators_own_clients(
    published: PublishResult, scenario: Scenario
) -> None:
    a, b = (c.code for c in scenario.coordinators)
    monday = {s.client_code for s in scenario.plan.day_of(a, MONDAY)}
    html = published.coordinators[a].day_sheets_html[0].read_text(encoding="utf-8")
    assert '<html lang="ko">' in html
    for code in monday:
        person = scenario.people[code]
        assert person.name in html and person.address in html
        assert person.phone and person.phone in html
    for value in _personal_strings(scenario, scenario.clients_of[b]):
        assert value not in html
    assert "첫 방문" in html and "방문간호" in html and "전화 연락 (방문 아님)" in html


def test_pdf_embeds_nanum_and_shows_hangul(published: PublishResult, scenario: Scenario) -> None:
    a = scenario.coordinators[0].code
    pdf_path = published.coordinators[a].day_sheets_pdf[0]
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF-") and b"/FontFile2" in pdf
    assert any("Nanum" in name for name in pdf_font_names(pdf))
    text = pdf_text(pdf)
    first = scenario.people[scenario.plan.day_of(a, MONDAY)[0].client_code]
    assert "방문 일정표" in text and first.name in text
    if shutil.which("pdftotext"):  # poppler, when installed, must agree
        extracted = subprocess.run(
            ["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, check=True
        ).stdout.decode()
        assert "방문 일정표" in extracted and first.name in extracted


def test_calendar_parses_back(published: PublishResult, scenario: Scenario) -> None:
    a = scenario.coordinators[0].code
    body = published.coordinators[a].calendar.read_bytes()
    calendar = Calendar.from_ical(body)
    mine = sorted(
        (s for s in scenario.plan.stops if s.staff_code == a), key=lambda s: (s.day, s.sequence)
    )
    events = calendar.walk("VEVENT")
    assert len(events) == len(mine) == 6
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Seoul"]
    assert [str(e["UID"]) for e in events] == [event_uid(s.contact_key) for s in mine]
    for event, stop in zip(events, mine, strict=True):
        start = event.decoded("DTSTART")
        assert event["DTSTART"].params["TZID"] == "Asia/Seoul"
        assert start.utcoffset() == dt.timedelta(hours=9)
        assert (start.date(), start.time()) == (stop.day, stop.start)
        assert event.decoded("DTEND") - start == dt.timedelta(minutes=stop.duration_min)
        assert stop.client_code in str(event["SUMMARY"])
    # codes, times and the town only: a calendar subscription leaves the county's hands
    for value in _personal_strings(scenario):
        assert value not in body.decode()


def test_csv_parses_back(published: PublishResult, scenario: Scenario) -> None:
    b = scenario.coordinators[1].code
    body = published.coordinators[b].csv.read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    mine = sorted(
        (s for s in scenario.plan.stops if s.staff_code == b), key=lambda s: (s.day, s.sequence)
    )
    assert [(r["date"], r["order"], r["client_code"]) for r in rows] == [
        (s.day.isoformat(), str(s.sequence), s.client_code) for s in mine
    ]
    for row in rows:
        person = scenario.people[row["client_code"]]
        assert (row["client_name"], row["address"]) == (person.name, person.address)
        assert row["phone"] == (person.phone or "")
    assert rows[-1]["mode"] == "phone" and rows[-1]["purpose"] == "안부 확인"


def test_one_audit_row_per_client_per_sheet(
    county_engine: Engine, published: PublishResult, scenario: Scenario
) -> None:
    expected = {(s.client_code, sheet_purpose(s.staff_code, s.day)) for s in scenario.plan.stops}
    with Session(county_engine) as session:
        rows = session.scalars(
            select(AuditLog).where(AuditLog.purpose.like("day sheet for %"))
        ).all()
    assert len(rows) == len(expected) == published.clients_revealed == 8
    assert {(r.entity_id, r.purpose) for r in rows} == expected
    secrets = _personal_strings(scenario)
    for row in rows:
        assert (row.actor, row.action, row.entity) == (DEFAULT_ACTOR, "read", "client")
        assert row.fields == ["name", "address", "phone"]
        stored = " ".join(str(v) for v in (row.actor, row.entity_id, row.fields, row.purpose))
        assert not any(value in stored for value in secrets)


def test_team_overview_has_maps_and_codes_only(
    published: PublishResult, scenario: Scenario
) -> None:
    html = published.team_overview.read_text(encoding="utf-8")
    assert html.count("<svg") == 5  # one per business day of the horizon
    assert html.count('class="route"') == 3  # A and B on Monday, A on Tuesday (B only calls)
    for value in _personal_strings(scenario):
        assert value not in html
    for coordinator in scenario.coordinators:
        assert coordinator.code in html
    unplanned = scenario.plan.unplanned[0]
    assert unplanned.client_code in html and "의사 일정 없음" in html
    assert "<image" not in html and "https://" not in html


def test_republishing_gives_the_same_bytes(
    county_engine: Engine,
    vault: Vault,
    published: PublishResult,
    scenario: Scenario,
    tmp_path: Path,
) -> None:
    before = {p: p.read_bytes() for p in published.files}
    again = run_publish(county_engine, vault, scenario, tmp_path / "out")
    assert again.files == published.files
    assert {p: p.read_bytes() for p in again.files} == before  # PDFs too (invariant mode)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["visits"]


def test_failed_publish_leaves_nothing_behind(
    county_engine: Engine,
    vault: Vault,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = publish.render_day_sheet_pdf
    calls = []

    def failing(sheet: publish.DaySheet, font: KoreanFont | None = None) -> bytes:
        calls.append(sheet.staff_code)
        if len(calls) == 3:
            raise RuntimeError("printer on fire")
        return real(sheet, font)

    monkeypatch.setattr(publish, "render_day_sheet_pdf", failing)
    out = tmp_path / "fresh"
    with pytest.raises(RuntimeError, match="printer on fire"):
        run_publish(county_engine, vault, scenario, out)
    assert not (out / "visits").exists()
    assert list(out.iterdir()) == []

    # An earlier publication stays whole when a later one fails.
    monkeypatch.setattr(publish, "render_day_sheet_pdf", real)
    done = run_publish(county_engine, vault, scenario, out)
    before = {p: p.read_bytes() for p in done.files}
    calls.clear()
    monkeypatch.setattr(publish, "render_day_sheet_pdf", failing)
    with pytest.raises(RuntimeError):
        run_publish(county_engine, vault, scenario, out)
    assert {p: p.read_bytes() for p in done.files} == before
    assert [p.name for p in out.iterdir()] == ["visits"]


def test_ics_feed_matches_the_published_calendar(
    county_engine: Engine, published: PublishResult, scenario: Scenario
) -> None:
    a = scenario.coordinators[0].code
    with Session(county_engine) as session, session.begin():
        body = ics_feed(session, a, scenario.plan)
    assert body == published.coordinators[a].calendar.read_bytes()
    with Session(county_engine) as session:
        rows = session.scalars(
            select(AuditLog).where(AuditLog.purpose.like("calendar feed%"))
        ).all()
    assert rows == []  # nothing personal is decrypted for a calendar


def test_ics_feed_from_visit_rows(county_engine: Engine, vault: Vault, scenario: Scenario) -> None:
    a = scenario.coordinators[0]
    first, second = scenario.plan.day_of(a.code, MONDAY)[:2]
    with Session(county_engine) as session, session.begin():
        for stop, status in ((first, "booked"), (second, "cancelled")):
            start = dt.datetime.combine(stop.day, stop.start, SEOUL).astimezone(dt.UTC)
            session.add(
                Visit(
                    natural_key=f"test:{stop.contact_key}",
                    client_id=stop.client_id,
                    staff_id=a.staff_id,
                    service_type=stop.service_type,
                    mode=stop.mode,
                    purpose="첫 방문 평가",
                    visit_date=stop.day,
                    start_at=start,
                    duration_min=60,
                    status=status,
                    source="referral",
                )
            )
    with Session(county_engine) as session, session.begin():
        visits = session.scalars(
            select(Visit).where(Visit.natural_key.like("test:%")).order_by(Visit.id)
        ).all()
        body = ics_feed(session, a.code, visits)
    events = Calendar.from_ical(body).walk("VEVENT")
    assert len(events) == 1  # the cancelled one is not in the feed
    start = events[0].decoded("DTSTART")
    assert (start.date(), start.time(), start.utcoffset()) == (
        MONDAY,
        first.start,
        dt.timedelta(hours=9),
    )
    assert str(events[0]["UID"]) == event_uid(f"test:{first.contact_key}")
    assert str(events[0]["SUMMARY"]) == f"초기 방문 평가 · {first.client_code}"
