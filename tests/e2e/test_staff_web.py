"""End to end: a coordinator signs in and records a conference's decisions in Chromium.

The same real app and browser as the hospital page's tests (``test_hospital_web``):
the care API under uvicorn, mounted under ``/care``, on a SQLite county.
"""

from __future__ import annotations

from collections.abc import Callable

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from care_models.conferences.schedule import ensure_schedule
from care_models.privacy import reveal
from care_models.schema import Client, Decision, PlannedService
from care_models.tokens import development_token
from tests.e2e.test_hospital_web import (  # noqa: F401  (module fixtures)
    WAIT_SECONDS,
    CareServer,
    browser,
    care_server,
    console_errors,
    visible,
    wait,
)
from tests.integration.conferences.test_decisions import TODAY, Listed, discharged_case


def listed_case(server: CareServer) -> tuple[Listed, str]:
    with Session(server.engine) as session, session.begin():
        ensure_schedule(session, TODAY)
        listed = discharged_case(session)
        client = session.get(Client, listed.client_id)
        assert client is not None
        name = reveal(session, server.vault, client, ("name",), actor="test", purpose="test")[
            "name"
        ]
    return listed, name or ""


def sign_in(driver: Chrome, server: CareServer, then: str) -> None:
    driver.delete_all_cookies()
    driver.get(server.url(then))
    visible(driver, "staff-code").send_keys("S0001")
    token = development_token(server.settings, "staff", "S0001")
    driver.find_element(By.ID, "staff-token").send_keys(token)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver).until(ec.url_contains("/staff/incidents"))


def test_a_coordinator_records_decisions_and_a_wrong_one_is_refused_in_the_page(
    browser: Chrome,  # noqa: F811
    care_server: CareServer,  # noqa: F811
) -> None:
    listed, name = listed_case(care_server)
    page = f"staff/conferences/{listed.conference_id}"
    sign_in(browser, care_server, page)
    assert browser.get_cookie("care_staff")["httpOnly"] is True  # type: ignore[index]
    browser.get(care_server.url(page))
    visible(browser, f"case-{listed.case_id}")
    assert name in browser.find_element(By.ID, f"case-{listed.case_id}").text  # the chair's copy
    need = listed.needs["health_medical"]

    def fill(provider: str) -> Callable[[Chrome], bool]:
        def filled(driver: Chrome) -> bool:
            Select(driver.find_element(By.ID, f"decision-{need}")).select_by_value("link_service")
            reason = driver.find_element(By.ID, f"reason-{need}")
            reason.clear()
            reason.send_keys("퇴원 후 방문간호")
            Select(driver.find_element(By.ID, f"provider-{need}")).select_by_value(provider)
            Select(driver.find_element(By.ID, f"service-{need}")).select_by_value("home_nursing")
            Select(driver.find_element(By.ID, f"cadence-{need}")).select_by_value("weekly")
            return True

        return filled

    def decide(provider: str) -> None:
        # Filled again from the start if the page was still being replaced under it (a
        # loaded machine has shown a node leaving the document mid-fill); sent once.
        stale = (StaleElementReferenceException, NoSuchElementException)
        WebDriverWait(browser, WAIT_SECONDS, ignored_exceptions=stale).until(fill(provider))
        browser.find_element(By.ID, f"save-{listed.case_id}").click()

    decide("P-MEALS")  # the meals provider does not nurse
    error = visible(browser, "form-error").text
    assert "provider_code" in error and "does not offer this service type" in error
    with Session(care_server.engine) as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 0
    decide("P-NURSING")
    wait(browser).until(
        ec.text_to_be_present_in_element((By.ID, f"case-{listed.case_id}"), "기록됨: 서비스 연계")
    )
    with Session(care_server.engine) as session:
        (row,) = session.scalars(select(Decision)).all()
        assert (row.decision, row.service_type, row.cadence, row.recorded_by) == (
            "link_service",
            "home_nursing",
            "weekly",
            "S0001",
        )
        assert session.scalar(select(func.count()).select_from(PlannedService)) is not None
    # the refused form's 422 is logged as a failed load; nothing else (no CSP violation)
    assert [e for e in console_errors(browser) if "status of 422" not in e] == []
