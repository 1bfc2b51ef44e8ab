"""`make ui` from the project: the UI comes up, logs in, lists the workflows unpaused, and
shows the "Care operations" page only to a signed-in Airflow user (Chromium, through
Airflow's own login page)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.config import PROJECT_ROOT
from care_models.db import make_engine
from care_models.schema import (
    AuditLog,
    GateResult,
    OperationalAlert,
    OutboundMessage,
    QuarantinedRow,
)
from tests.e2e.test_hospital_web import browser, visible, wait  # noqa: F401 (fixture)

pytestmark = pytest.mark.airflow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _password(passwords: Path, deadline: float) -> str:
    while time.monotonic() < deadline:
        try:
            return str(json.loads(passwords.read_text())["admin"])
        except (OSError, ValueError, KeyError):
            time.sleep(2)
    raise AssertionError("the Airflow UI wrote no admin password in time")


def _token(base: str, password: str, deadline: float) -> str:
    while time.monotonic() < deadline:
        try:
            answer = httpx.post(
                f"{base}/auth/token",
                json={"username": "admin", "password": password},
                timeout=5,
            )
            if answer.status_code in (200, 201):
                return str(answer.json()["access_token"])
        except httpx.HTTPError:
            pass
        time.sleep(2)
    raise AssertionError("the Airflow UI did not come up with a login in time")


@dataclass(frozen=True)
class Ui:
    base: str
    token: str
    password: str
    care_url: str
    quarantined_id: int
    dags: Path  # a copy of dags/, so that a test may edit a workflow


DEADLINE_SECONDS = "1"  # every intake and alert-sync run misses its deadline here


def _care_database(care_var: Path, env: dict[str, str]) -> tuple[str, int]:
    """The county seeded, and one row a gate held back (for the page's queue)."""
    env = {**env, "CARE_VAR_DIR": str(care_var)}
    for command in (["migrate"], ["seed"]):
        subprocess.run(
            [sys.executable, "-m", "care_models", *command],
            cwd=PROJECT_ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
    url = f"sqlite:///{care_var / 'care.db'}"
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        gate = GateResult(
            stage="county", suite="county.clients", success=False, rows_evaluated=450,
            rows_failed=1, expectations_evaluated=9, failed_expectations=["risk_tier"],
            ran_at=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        session.add(gate)
        session.flush()
        row = QuarantinedRow(
            gate_result_id=gate.id, stage="county", row_key="C0000009", rule="risk_tier: coded"
        )
        session.add(row)
        session.flush()
        row_id = row.id
    engine.dispose()
    return url, row_id


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    tmp_path = tmp_path_factory.mktemp("make-ui")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CARE_"))}
    care_url, row_id = _care_database(tmp_path / "care", env)
    env["CARE_VAR_DIR"] = str(tmp_path / "care")
    env["CARE_RUN_DEADLINE_SECONDS"] = DEADLINE_SECONDS
    env["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"] = "5"
    env["AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL"] = "5"
    dags = tmp_path / "dags"
    shutil.copytree(PROJECT_ROOT / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    log = (tmp_path / "ui.log").open("w")
    process = subprocess.Popen(
        [
            "make",
            "-s",
            "ui",
            f"VAR={tmp_path / 'var'}",
            f"UI_PORT={port}",
            f"AIRFLOW__CORE__DAGS_FOLDER={dags}",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        passwords = tmp_path / "var/airflow/simple_auth_manager_passwords.json.generated"
        deadline = time.monotonic() + 300
        password = _password(passwords, deadline)
        yield Ui(base, _token(base, password, deadline), password, care_url, row_id, dags)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_make_ui_serves_the_workflows_through_the_rest_api(ui: Ui) -> None:
    wanted = {path.stem for path in (PROJECT_ROOT / "dags").glob("*.py")}
    listed: dict[str, bool] = {}
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and set(listed) != wanted:
        answer = httpx.get(
            f"{ui.base}/api/v2/dags",
            headers={"Authorization": f"Bearer {ui.token}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text[:300]
        listed = {d["dag_id"]: d["is_paused"] for d in answer.json()["dags"]}
        time.sleep(2)
    assert set(listed) == wanted
    assert not any(listed.values()), listed
    plugins = httpx.get(
        f"{ui.base}/api/v2/plugins", headers={"Authorization": f"Bearer {ui.token}"}, timeout=10
    ).json()["plugins"]
    views = [v for p in plugins for v in p.get("external_views", [])]
    assert any(v["name"] == "Care operations" and v["href"] == "care/ops/" for v in views)


def test_the_care_operations_page_is_refused_without_airflows_token(ui: Ui) -> None:
    anonymous = httpx.get(f"{ui.base}/care/ops/", timeout=10)
    assert anonymous.status_code == 401
    assert "C0000009" not in anonymous.text and "county.clients" not in anonymous.text
    forged = httpx.get(f"{ui.base}/care/ops/", cookies={"_token": "x.y.z"}, timeout=10)
    assert forged.status_code == 401
    refused = httpx.post(f"{ui.base}/care/ops/quarantine/{ui.quarantined_id}", timeout=10)
    assert refused.status_code == 401
    page = httpx.get(
        f"{ui.base}/care/ops/", headers={"Authorization": f"Bearer {ui.token}"}, timeout=30
    )
    assert page.status_code == 200, page.text[:500]
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    assert "county.clients" in page.text and "C0000009" in page.text
    assert 'id="workflows"' in page.text and "메타데이터를 읽을 수 없습니다" not in page.text


def test_an_administrator_signs_in_to_airflow_and_discards_a_quarantined_row(
    ui: Ui,
    browser: Chrome,  # noqa: F811
) -> None:
    browser.delete_all_cookies()
    browser.get(f"{ui.base}/auth/login/")
    field = wait(browser).until(ec.visibility_of_element_located((By.NAME, "username")))
    field.send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(ui.password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(lambda d: d.get_cookie("_token") is not None)
    # the menu entry opens the page in Airflow's frame; the page is the care API's
    browser.get(f"{ui.base}/plugin/care-operations")
    frame = wait(browser).until(ec.presence_of_element_located((By.TAG_NAME, "iframe")))
    assert (frame.get_attribute("src") or "").endswith("/care/ops/")
    browser.switch_to.frame(frame)
    assert visible(browser, "ops-user").text == "admin"
    assert visible(browser, "count-quarantine").text == "1"
    browser.find_element(By.ID, f"discard-{ui.quarantined_id}").click()
    assert "폐기했습니다" in visible(browser, "ops-message").text
    assert visible(browser, "count-quarantine").text == "0"
    browser.switch_to.default_content()
    engine = make_engine(ui.care_url)
    with Session(engine) as session:
        row = session.get(QuarantinedRow, ui.quarantined_id)
        audits = session.scalars(
            select(AuditLog).where(AuditLog.action == "quarantine_discard")
        ).all()
    engine.dispose()
    assert row is not None and row.resolution == "discarded" and row.resolved_by == "airflow:admin"
    assert [a.actor for a in audits] == ["airflow:admin"]


def _trigger(ui: Ui, dag_id: str) -> str:
    headers = {"Authorization": f"Bearer {ui.token}"}
    answer = httpx.post(
        f"{ui.base}/api/v2/dags/{dag_id}/dagRuns",
        json={"logical_date": None, "note": "deadline test"},
        headers=headers,
        timeout=10,
    )
    assert answer.status_code in (200, 201), answer.text[:300]
    return str(answer.json()["dag_run_id"])


def _missed(ui: Ui, dag_id: str, run_id: str, seconds: float = 180) -> OperationalAlert:
    engine = make_engine(ui.care_url)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                alert = session.scalars(
                    select(OperationalAlert).where(
                        OperationalAlert.kind == "run_deadline_missed",
                        OperationalAlert.entity == dag_id,
                        OperationalAlert.entity_id == run_id[:40],
                    )
                ).one_or_none()
                if alert is not None:
                    session.expunge(alert)
                    return alert
            time.sleep(2)
    finally:
        engine.dispose()
    raise AssertionError(f"no deadline alert for {dag_id} {run_id}")


def _versions(ui: Ui, dag_id: str) -> int:
    answer = httpx.get(
        f"{ui.base}/api/v2/dags/{dag_id}/dagVersions",
        headers={"Authorization": f"Bearer {ui.token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text[:300]
    return int(answer.json()["total_entries"])


def test_a_run_past_its_deadline_alerts_the_on_duty_administrator_even_after_an_edit(
    ui: Ui,
) -> None:
    first = _trigger(ui, "referral_intake")
    alert = _missed(ui, "referral_intake", first)
    assert "was not done by" in (alert.detail or "")
    # an edit of the workflow makes a new DAG version; its runs' deadlines still fire
    before = _versions(ui, "referral_intake")
    source = ui.dags / "referral_intake.py"
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("### ", "### (edited) ", 1), encoding="utf-8")
    deadline = time.monotonic() + 120
    while _versions(ui, "referral_intake") == before and time.monotonic() < deadline:
        time.sleep(3)
    assert _versions(ui, "referral_intake") > before, "the edit was not parsed"
    second = _trigger(ui, "referral_intake")
    _missed(ui, "referral_intake", second)
    engine = make_engine(ui.care_url)
    with Session(engine) as session:
        texts = session.scalars(
            select(OutboundMessage.natural_key).where(
                OutboundMessage.purpose == "run_deadline_missed"
            )
        ).all()
    engine.dispose()
    assert f"run_deadline:referral_intake:{first}" in texts
    assert f"run_deadline:referral_intake:{second}" in texts
