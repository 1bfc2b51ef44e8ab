"""End to end: the hospital referral web page in headless Chromium against the real app.

The care API runs under uvicorn on 127.0.0.1, mounted under ``/care`` as inside
Airflow's API server (so the page's relative URLs are exercised), over a migrated
SQLite care database with the synthetic county loaded. One browser serves the module.

Needs Debian's ``chromium`` and ``chromium-driver`` (and ``fonts-nanum`` so Hangul
renders in screenshots); without them the tests skip, unless
CARE_TEST_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from selenium.webdriver import Chrome
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.routing import Mount

from care_api.app import create_app
from care_models import migrations
from care_models.config import Settings, load_settings
from care_models.db import make_engine
from care_models.fhir.bundle import parse_referral
from care_models.privacy import Vault
from care_models.referrals.store import raw_bundle, set_status
from care_models.schema import Organisation, Referral
from care_models.synthetic.county import build_county
from care_models.synthetic.load import issue_synthetic_tokens, load_county
from care_models.synthetic.referrals import build_bundle, identifier_system, referral_specs
from care_models.tokens import development_token
from care_models.workdays import seoul_today

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PACKAGES = "chromium chromium-driver fonts-nanum"
PREFIX = "/care"
WAIT_SECONDS = 15
CHROME_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
    "--lang=ko-KR",
)


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if not missing:
        return
    message = (
        f"headless browser tests need the Debian packages chromium and chromium-driver "
        f"(missing {', '.join(missing)}): apt-get install -y {PACKAGES}"
    )
    if os.environ.get("CARE_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class CareServer:
    base: str  # http://127.0.0.1:<port>/care/
    engine: Engine
    vault: Vault
    settings: Settings  # its own CARE_VAR_DIR: development tokens, rate-limit counts

    def url(self, path: str) -> str:
        return self.base + path

    def token(self, hospital: str) -> str:
        return development_token(self.settings, "hospital", hospital)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    _require_browser()
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in CHROME_ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def care_server(tmp_path_factory: pytest.TempPathFactory, vault: Vault) -> Iterator[CareServer]:
    database = tmp_path_factory.mktemp("care-db") / "care.db"
    engine = make_engine(f"sqlite:///{database}")
    migrations.upgrade(engine)
    settings = load_settings({"CARE_VAR_DIR": str(tmp_path_factory.mktemp("care-var"))})
    county = build_county()
    with Session(engine) as session, session.begin():
        load_county(session, vault, county)
        issue_synthetic_tokens(session, vault, settings, county)
    app = create_app(settings=settings, engine=engine, vault=vault)
    site = Starlette(routes=[Mount(PREFIX, app=app)])  # as Airflow mounts plugin apps
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(site, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the care API did not start under uvicorn")
        time.sleep(0.05)
    yield CareServer(f"http://127.0.0.1:{port}{PREFIX}/", engine, vault, settings)
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()
    engine.dispose()


@pytest.fixture
def driver(browser: Chrome, care_server: CareServer) -> Chrome:
    """The shared browser, on the list page, with no token stored."""
    browser.get(care_server.url("web/referrals"))
    browser.execute_script("window.sessionStorage.clear()")
    browser.delete_all_cookies()
    browser.refresh()  # start again without a token
    console_errors(browser)  # drop what earlier pages logged
    return browser


# -- helpers ---------------------------------------------------------------------------------


def wait(driver: Chrome) -> WebDriverWait[Chrome]:
    return WebDriverWait(driver, WAIT_SECONDS)


def visible(driver: Chrome, element_id: str) -> WebElement:
    return wait(driver).until(ec.visibility_of_element_located((By.ID, element_id)))


def console_errors(driver: Chrome) -> list[str]:
    """Errors the page logged since the last call (a CSP violation, a script error)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def login(driver: Chrome, token: str, hospital: str) -> None:
    visible(driver, "login")
    driver.find_element(By.ID, "login-token").send_keys(token)
    code = driver.find_element(By.ID, "login-hospital")
    code.clear()
    code.send_keys(hospital)
    driver.find_element(By.ID, "login-submit").click()


def stored_token(driver: Chrome) -> object:
    return driver.execute_script("return window.sessionStorage.getItem('care.web.token')")


def fill_form(
    driver: Chrome,
    fields: dict[str, str],
    *,
    needs: tuple[str, ...] = (),
    adl: tuple[str, ...] = (),
    discharged: bool = False,
) -> None:
    for name, value in fields.items():
        element = driver.find_element(By.ID, f"f-{name}")
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        elif element.get_attribute("type") == "date":  # typing dates depends on the locale
            driver.execute_script("arguments[0].value = arguments[1]", element, value)
        else:
            element.clear()
            element.send_keys(value)
    for name, codes in (("need", needs), ("adl", adl)):
        for code in codes:
            driver.find_element(By.CSS_SELECTOR, f"input[name='{name}'][value='{code}']").click()
    if discharged:
        driver.find_element(By.ID, "f-discharged").click()


def patient_fields(number: str, admission: dt.date, discharge: dt.date) -> dict[str, str]:
    return {
        "name": "김영희",
        "sex": "female",
        "birth_date": "1944-03-15",
        "rrn": "440315-2345678",
        "phone": "010-2345-6789",
        "address": "충청북도 진천군 진천읍 문화리 123",
        "admission": admission.isoformat(),
        "discharge": discharge.isoformat(),
        "diagnosis": "I63.9",
        "household_size": "1",
        "number": number,
    }


def referral_row(engine: Engine, hospital_code: str, number: str) -> Referral | None:
    with Session(engine) as session:
        return session.scalars(
            select(Referral)
            .join(Organisation, Referral.hospital_id == Organisation.id)
            .where(Organisation.code == hospital_code, Referral.identifier_value == number)
        ).one_or_none()


def post_bundle(server: CareServer, hospital_code: str, bundle: dict[str, object]) -> int:
    response = httpx.post(
        server.url("fhir/Bundle"),
        content=json.dumps(bundle).encode(),
        headers={
            "Authorization": f"Bearer {server.token(hospital_code)}",
            "Content-Type": "application/fhir+json",
        },
        timeout=30,
    )
    return response.status_code


# -- tests -----------------------------------------------------------------------------------


def test_submitting_the_form_creates_a_received_referral(
    driver: Chrome, care_server: CareServer
) -> None:
    hospital = "H-JC-GEN"
    number = f"WEB-{uuid.uuid4().hex[:8].upper()}"
    today = seoul_today()
    admission, discharge = today - dt.timedelta(days=12), today + dt.timedelta(days=3)

    driver.get(care_server.url("web/referrals/new"))
    login(driver, care_server.token(hospital), hospital)
    visible(driver, "referral-form")
    assert visible(driver, "session-hospital").text == hospital
    fill_form(
        driver,
        patient_fields(number, admission, discharge),
        needs=("home_medical", "daily_care"),
        adl=("walking", "bathing"),
    )
    driver.find_element(By.ID, "submit-referral").click()

    wait(driver).until(ec.text_to_be_present_in_element((By.ID, "result-status"), "접수"))
    assert visible(driver, "result").is_displayed()
    assert driver.find_element(By.ID, "result-number").text == number
    assert not driver.find_element(By.ID, "form-errors").is_displayed()

    referral = referral_row(care_server.engine, hospital, number)
    assert referral is not None
    assert referral.identifier_system == identifier_system(hospital)
    assert referral.status == "received"
    record = parse_referral(
        raw_bundle(care_server.vault, referral), referral.identifier_system, today=today
    )
    assert record.person.name == "김영희"
    assert record.person.birth_date == dt.date(1944, 3, 15)
    assert record.person.rrn == "440315-2345678"
    assert record.person.phone == "010-2345-6789"
    assert record.person.address == "충청북도 진천군 진천읍 문화리 123"
    assert (record.sex, record.admission_date, record.discharge_date) == (
        "female",
        admission,
        discharge,
    )
    assert record.discharged is False
    assert record.conditions == ["I63.9"]
    assert record.needs == ["daily_care", "home_medical"]
    assert record.adl_difficulties == ["bathing", "walking"]
    assert record.household_size == 1
    assert record.if_none_exist == f"identifier={identifier_system(hospital)}|{number}"

    # The list page (same tab: the token is still in sessionStorage) shows it as 접수.
    driver.find_element(By.LINK_TEXT, "의뢰 목록").click()
    row = wait(driver).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, f"tr[data-identifier='{number}']"))
    )
    cells = row.find_elements(By.TAG_NAME, "td")
    assert [c.text for c in cells[:2]] == [number, "접수"]
    assert cells[3].text.startswith(str(today.year))
    # The token never leaves sessionStorage: no cookie, not in the URL.
    assert driver.get_cookies() == []
    assert care_server.token(hospital) not in driver.current_url
    assert console_errors(driver) == []


def test_discharge_before_admission_is_shown_next_to_the_discharge_field(
    driver: Chrome, care_server: CareServer, tmp_path: Path
) -> None:
    hospital = "H-JC-REH"
    number = f"WEB-{uuid.uuid4().hex[:8].upper()}"
    today = seoul_today()
    admission, discharge = today - dt.timedelta(days=5), today - dt.timedelta(days=8)

    driver.get(care_server.url("web/referrals/new"))
    login(driver, care_server.token(hospital), hospital)
    visible(driver, "referral-form")
    fill_form(driver, patient_fields(number, admission, discharge), needs=("nursing",))
    driver.find_element(By.ID, "submit-referral").click()

    error = visible(driver, "error-discharge")
    assert "퇴원(예정)일은 입원일보다 빠를 수 없습니다" in error.text
    assert "discharge must not be before admission" in error.text
    field = driver.find_element(By.CSS_SELECTOR, "[data-field='discharge']")
    assert "invalid" in (field.get_attribute("class") or "")
    assert driver.find_element(By.ID, "f-discharge").get_attribute("aria-invalid") == "true"
    assert not driver.find_element(By.ID, "error-admission").is_displayed()
    assert "퇴원(예정)일" in visible(driver, "form-errors").text
    assert not driver.find_element(By.ID, "result").is_displayed()
    # What was typed is kept, to be corrected.
    assert driver.find_element(By.ID, "f-name").get_attribute("value") == "김영희"
    assert referral_row(care_server.engine, hospital, number) is None
    assert driver.save_screenshot(str(tmp_path / "referral-form-error.png"))


def test_a_wrong_token_is_refused_in_korean(driver: Chrome, care_server: CareServer) -> None:
    driver.get(care_server.url("web/referrals/new"))
    login(driver, "not-a-hospital-token", "H-JC-GEN")
    error = visible(driver, "login-error")
    assert "API 토큰이 올바르지 않습니다" in error.text
    assert not driver.find_element(By.ID, "app").is_displayed()
    assert stored_token(driver) is None
    assert driver.get_cookies() == []


def test_a_hospital_code_not_matching_the_token_is_refused(
    driver: Chrome, care_server: CareServer
) -> None:
    hospital = "H-KH-CLN"
    spec = referral_specs(build_county(clients=5), 1, today=seoul_today())[0]
    spec = dataclasses.replace(spec, hospital_code=hospital, number=f"{hospital}-CODE-1")
    assert post_bundle(care_server, hospital, build_bundle(spec)) in (200, 201)

    login(driver, care_server.token(hospital), "H-JC-GEN")
    assert "병원 코드가 이 토큰의 병원과 맞지 않습니다" in visible(driver, "login-error").text
    assert stored_token(driver) is None


def test_list_page_shows_statuses_escaped_and_screenshots(
    driver: Chrome, care_server: CareServer, tmp_path: Path
) -> None:
    hospital = "H-DS-MED"
    specs = referral_specs(build_county(clients=5), 3, today=seoul_today(), seed=11)
    numbers = [f"{hospital}-LIST-1", f"{hospital}-LIST-2", "<b>굵게</b>&<script>x()</script>"]
    for spec, number in zip(specs, numbers, strict=True):
        spec = dataclasses.replace(spec, hospital_code=hospital, number=number)
        assert post_bundle(care_server, hospital, build_bundle(spec)) == 201
    with Session(care_server.engine) as session, session.begin():
        referral = session.scalars(
            select(Referral).where(Referral.identifier_value == numbers[1])
        ).one()
        set_status(session, referral, "rejected", "관할 지역 밖 주소 (천안시)")

    login(driver, care_server.token(hospital), hospital)
    wait(driver).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#referrals tbody tr")) == len(numbers)
    )
    cells = [
        [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        for row in driver.find_elements(By.CSS_SELECTOR, "#referrals tbody tr")
    ]
    rows = {texts[0]: texts for texts in cells}
    assert rows[numbers[0]][1:3] == ["접수", "—"]
    assert rows[numbers[1]][1:3] == ["반려", "관할 지역 밖 주소 (천안시)"]
    assert rows[numbers[2]][1] == "접수"  # the markup is shown as text, not run
    assert driver.find_elements(By.CSS_SELECTOR, "#referrals tbody :is(b, script)") == []
    assert console_errors(driver) == []

    screenshot = tmp_path / "referral-list.png"
    assert driver.save_screenshot(str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 5000

    # Usable on a phone: the table becomes cards, nothing wider than the screen.
    driver.set_window_size(390, 844)
    try:
        assert driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"
        )
        assert driver.save_screenshot(str(tmp_path / "referral-list-phone.png"))
    finally:
        driver.set_window_size(1280, 1000)
