"""Publishing a visit plan, without a database: rendering, fonts, calendar, CSV, maps.

Also holds a small raw-bytes PDF reader (objects, fonts, text through the ToUnicode
maps), so the PDF checks need neither pypdf nor poppler; the integration tests use it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from icalendar import Calendar

from care_models.errors import KoreanFontMissingError
from care_models.rendering.fonts import KoreanFont, find_korean_font
from care_models.rendering.maps import fit_projection
from care_models.visits import publish
from care_models.visits.model import Coordinator, Place, Plan, PlannedStop, Unplanned
from care_models.visits.overview import render_team_overview
from care_models.visits.publish import event_uid, render_calendar, render_csv
from care_models.visits.sheets import (
    DaySheet,
    Personal,
    SheetStop,
    render_day_sheet_html,
    render_day_sheet_pdf,
)
from tests.support.pdf import pdf_font_names, pdf_text

# -- a raw-bytes PDF reader ------------------------------------------------------------------


def needs_korean_font() -> KoreanFont:
    try:
        return find_korean_font()
    except KoreanFontMissingError:
        pytest.skip("no Korean font (koreanize-matplotlib bundles NanumGothic)")


# -- sample data ------------------------------------------------------------------------------

DAY = dt.date(2026, 3, 9)  # a Monday


def stop(
    sequence: int,
    *,
    client_id: int = 1,
    code: str = "C0000001",
    mode: str = "visit",
    service: str = "home_nursing",
    start: dt.time = dt.time(9, 30),
    staff: str = "S0001",
    day: dt.date = DAY,
) -> PlannedStop:
    return PlannedStop(
        contact_key=f"{code}:{service}:{mode}:2026-03",
        client_id=client_id,
        client_code=code,
        staff_code=staff,
        day=day,
        start=start,
        duration_min=40 if mode == "visit" else 15,
        sequence=sequence,
        travel_min=0 if mode == "phone" else 12,
        travel_km=0.0 if mode == "phone" else 3.4,
        service_type=service,
        mode=mode,
        purpose="twice-monthly nursing visit" if service == "home_nursing" else "",
    )


HONG = Personal("홍길동", "충청북도 진천군 진천읍 교성리 12", "010-1234-5678")
KIM = Personal("김<script>순", "충청북도 진천군 덕산읍 용몽리 3-1", None)


def sample_sheet() -> DaySheet:
    return DaySheet(
        staff_code="S0001",
        day=DAY,
        stops=(
            SheetStop(stop(1, service="first_assessment"), HONG, (dt.time(9), dt.time(11))),
            SheetStop(
                stop(2, client_id=2, code="C0000002", mode="phone", start=dt.time(10, 30)), KIM
            ),
            SheetStop(stop(3, client_id=2, code="C0000002", start=dt.time(11)), KIM),
        ),
        staff_name="이영희",
        role="nurse",
        office_name="진천읍",
        return_km=2.5,
    )


def coordinator(code: str, town: str = "JC-01", office: Place | None = None) -> Coordinator:
    return Coordinator(
        staff_id=int(code[1:]),
        code=code,
        role="nurse",
        skills=frozenset({"nurse"}),
        town_code=town,
        office=office or Place(36.855, 127.435),
        work_start=dt.time(9),
        work_end=dt.time(18),
        lunch_start=dt.time(12),
        lunch_end=dt.time(13),
        max_visits_per_day=8,
    )


# -- fonts --------------------------------------------------------------------------------------


def test_missing_korean_font_names_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(KoreanFontMissingError, match="fonts-nanum"):
        find_korean_font([tmp_path, tmp_path / "absent"], bundled_dirs=())


def test_korean_font_found_with_its_bold(tmp_path: Path) -> None:
    (tmp_path / "truetype" / "nanum").mkdir(parents=True)
    for name in ("NanumBarunGothic.ttf", "NanumGothic.ttf", "NanumGothicBold.ttf"):
        (tmp_path / "truetype" / "nanum" / name).write_bytes(b"")
    font = find_korean_font([tmp_path], bundled_dirs=())
    assert font.regular.name == "NanumGothic.ttf"
    assert font.bold is not None and font.bold.name == "NanumGothicBold.ttf"


# -- day sheet ---------------------------------------------------------------------------------


def test_personal_values_do_not_print_in_reprs() -> None:
    assert "홍길동" not in repr(HONG)
    assert "홍길동" not in repr(sample_sheet())


def test_day_sheet_html_is_korean_printable_and_escaped() -> None:
    html = render_day_sheet_html(sample_sheet())
    assert html.startswith('<!doctype html>\n<html lang="ko">')
    assert "@page { size: A4" in html and "@media print" in html
    assert 'name="viewport"' in html and "max-width: 640px" in html
    assert "2026년 3월 9일 (월)" in html and "S0001 이영희 (간호사)" in html
    assert "홍길동" in html and "충청북도 진천군 진천읍 교성리 12" in html
    assert '<a href="tel:01012345678">010-1234-5678</a>' in html
    assert "<script>" not in html and "김&lt;script&gt;순" in html
    assert "09:30–10:10" in html
    assert "첫 방문" in html and "희망 시간대 09:00–11:00" in html
    assert "사무소에서 이동 12분 · 3.4 km" in html
    assert "전화 연락 (방문 아님)" in html
    assert "이전 방문지에서 이동 12분 · 3.4 km" in html  # the call did not move anyone
    assert "방문 2건 · 전화 1건 · 이동 9.3 km" in html
    assert "개인정보" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_day_sheet_rows_travel_from_the_office_first() -> None:
    notes = [n for _stop, n in sample_sheet().rows()]
    assert notes[0][0] == "첫 방문" and notes[0][1].startswith("사무소에서")
    assert notes[1] == ("전화 연락 (방문 아님)",)
    assert notes[2][0].startswith("이전 방문지에서")


def test_day_sheet_pdf_embeds_a_korean_font_and_is_deterministic() -> None:
    font = needs_korean_font()
    pdf = render_day_sheet_pdf(sample_sheet(), font)
    assert pdf.startswith(b"%PDF-")
    assert b"/FontFile2" in pdf
    assert any("Nanum" in name for name in pdf_font_names(pdf))
    text = pdf_text(pdf)
    assert "방문 일정표" in text and "홍길동" in text and "김<script>순" in text
    assert "010-1234-5678" in text and "첫 방문" in text
    assert b"/CreationDate (D:20000101000000" in pdf
    assert render_day_sheet_pdf(sample_sheet(), font) == pdf


# -- calendar and CSV -----------------------------------------------------------------------------


TOWNS = {1: "진천읍", 2: "덕산읍"}


def test_calendar_has_seoul_times_and_stable_uids() -> None:
    stops = [s.stop for s in sample_sheet().stops]
    body = render_calendar("S0001", stops, TOWNS)
    assert body == render_calendar("S0001", reversed(stops), TOWNS)
    calendar = Calendar.from_ical(body)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Seoul"]
    events = calendar.walk("VEVENT")
    assert len(events) == 3
    assert [str(e["UID"]) for e in events] == [event_uid(s.contact_key) for s in stops]
    first = events[0]
    assert first.decoded("DTSTART") == dt.datetime(2026, 3, 9, 9, 30, tzinfo=publish.SEOUL_ZONE)
    assert first["DTSTART"].params["TZID"] == "Asia/Seoul"
    assert first.decoded("DTEND").time() == dt.time(10, 10)
    assert b"DTSTART;TZID=Asia/Seoul:20260309T093000" in body


def test_calendar_carries_codes_times_and_the_town_only() -> None:
    """A subscribed calendar is copied to a cloud service: no name, address or phone."""
    stops = [s.stop for s in sample_sheet().stops]
    body = render_calendar("S0001", stops, TOWNS)
    events = Calendar.from_ical(body).walk("VEVENT")
    assert str(events[0]["SUMMARY"]) == "초기 방문 평가 · C0000001"
    assert str(events[0]["LOCATION"]) == "진천읍"
    assert str(events[1]["SUMMARY"]) == "[전화] 방문간호 · C0000002"
    assert str(events[1]["LOCATION"]) == "덕산읍"
    assert "방문 일정표" in str(events[0]["DESCRIPTION"])  # the details are on the day sheet
    text = body.decode()
    for person in (HONG, KIM):
        for value in (person.name, person.address, person.phone):
            assert not value or value not in text
    assert "twice-monthly" not in text  # the planner's free text stays on the day sheet
    assert "홍길동" not in text and "010-" not in text and "교성리" not in text


def test_empty_calendar_is_still_a_calendar() -> None:
    calendar = Calendar.from_ical(render_calendar("S0001", [], {}))
    assert calendar.walk("VEVENT") == []


def test_csv_has_a_bom_and_one_row_per_stop() -> None:
    body = render_csv(sample_sheet().stops)
    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in body
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert list(rows[0]) == list(publish.CSV_COLUMNS)
    assert [r["order"] for r in rows] == ["1", "2", "3"]
    assert rows[0] == {
        "date": "2026-03-09",
        "order": "1",
        "start": "09:30",
        "end": "10:10",
        "client_code": "C0000001",
        "client_name": "홍길동",
        "address": HONG.address,
        "phone": "010-1234-5678",
        "purpose": "초기 방문 평가",
        "mode": "visit",
        "travel_km": "3.4",
    }
    assert rows[1]["mode"] == "phone" and rows[1]["phone"] == "" and rows[1]["travel_km"] == "0.0"


# -- team overview ---------------------------------------------------------------------------------


def test_projection_keeps_north_up_and_east_right() -> None:
    places = [Place(36.80, 127.40), Place(36.90, 127.40), Place(36.80, 127.50)]
    projection, height = fit_projection(places, width=640)
    south_west, north, east = (projection(p) for p in places)
    assert north[1] < south_west[1] and north[0] == south_west[0]
    assert east[0] > south_west[0] and east[1] == south_west[1]
    for x, y in (south_west, north, east):
        assert 0 <= x <= 640 and 0 <= y <= height
    # equirectangular: 0.1° of longitude is shorter than 0.1° of latitude at 36.8°N
    assert east[0] - south_west[0] < south_west[1] - north[1]


def test_team_overview_has_a_map_per_day_and_codes_only() -> None:
    tuesday = DAY + dt.timedelta(days=1)
    plan = Plan(
        horizon_start=DAY,
        horizon_end=DAY + dt.timedelta(days=4),
        stops=[
            stop(1, staff="S0001"),
            stop(2, client_id=2, code="C0000002", mode="phone", staff="S0001"),
            stop(1, client_id=3, code="C0000003", staff="S0002"),
            stop(1, client_id=2, code="C0000002", staff="S0002", day=tuesday),
        ],
        unplanned=[
            Unplanned(
                "C0000009:home_doctor:visit:2026-03", "C0000009", "home_doctor", "no doctor free"
            )
        ],
        return_km={("S0001", DAY): 1.5},
    )
    places = {1: Place(36.86, 127.44), 2: Place(36.84, 127.42), 3: Place(36.87, 127.41)}
    html = render_team_overview(
        plan, [coordinator("S0002"), coordinator("S0001")], places, {"JC-01": "진천읍"}
    )
    assert html.count("<svg") == 5  # Monday to Friday, drawn or "no route"
    assert html.count('class="route"') == 3  # two routes on Monday, one on Tuesday
    assert "C0000009" in html and "no doctor free" in html and "방문진료" in html
    assert "홍길동" not in html and "010-" not in html
    assert "방문 1 · 전화 1" in html and "4.9 km" in html  # S0001 Monday: 3.4 + 1.5
    assert html == render_team_overview(
        plan, [coordinator("S0001"), coordinator("S0002")], places, {"JC-01": "진천읍"}
    )


def test_csv_cells_from_hostile_input_do_not_run_as_formulas() -> None:
    hostile = Personal('=HYPERLINK("http://x","홍길동")', "@주소", "=010-1234-5678")
    body = render_csv([SheetStop(stop(1), hostile)])
    (row,) = csv.DictReader(io.StringIO(body.decode("utf-8-sig")))
    assert row["client_name"] == '\'=HYPERLINK("http://x","홍길동")'
    assert row["address"] == "'@주소" and row["phone"] == "'=010-1234-5678"
