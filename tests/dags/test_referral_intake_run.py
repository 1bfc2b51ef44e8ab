"""Real Airflow runs of the referral workflows: pull, intake, callbacks.

The pull has a workflow of its own (referral_pull) and intake runs without it; a
referral that cannot be read is held and the run still succeeds; callbacks reach a
live hospital while another's endpoint is a closed port. (That a rerun of intake
changes nothing is tested on the domain, in tests/integration/referrals/.)

One pushed referral carries hostile personal values (a formula for a name and a phone, an
RRN, an address); after the runs, nothing personal is found in clear anywhere they wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from care_models.db import make_engine, session_factory
from care_models.privacy import Vault
from care_models.referrals.intake import ON_HOLD_FAULT
from care_models.referrals.store import submit_referral
from care_models.schema import (
    OperationalAlert,
    Organisation,
    Referral,
    ReferralStatusEvent,
    SyncWatermark,
    Visit,
)
from care_models.synthetic.county import build_county
from care_models.workdays import seoul_today
from care_sim.fhir_server import FhirServerSimulator, synthetic_referral_bundles
from tests.conftest import TEST_KEYS
from tests.dags.airflow_runs import dags_test, prepare
from tests.support.callbacks import closed_port_url, receiving_endpoint
from tests.support.leaks import (
    coordinate_needles,
    county_needles,
    exact_coordinates,
    find_leaks,
    hostile,
    hostile_needles,
    stores,
)
from tests.support.referrals import bundle_bytes, dump_database, specs

# The fourth pushed referral carries the hostile values; the first cannot be read.
PUSHED = [*specs(6, seed=5)[:3], hostile(specs(6, seed=5)[3]), *specs(6, seed=5)[4:]]
HOSTILE = PUSHED[3]
UNREADABLE, LIVE, DEAD = PUSHED[0], PUSHED[1], PUSHED[2]


@pytest.fixture(scope="module")
def home_with_referrals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    home = tmp_path_factory.mktemp("airflow-referrals")
    care_url = prepare(home)
    engine = make_engine(care_url)
    factory = session_factory(engine)
    vault = Vault.from_keys([TEST_KEYS["CARE_ENCRYPTION_KEYS"]], TEST_KEYS["CARE_MATCH_KEY"])
    with factory() as session:
        hospitals = {o.code: o for o in session.scalars(select(Organisation))}
    for spec in PUSHED:
        submit_referral(
            factory, vault, hospitals[spec.hospital_code], bundle_bytes(spec), today=seoul_today()
        )
    with factory() as session, session.begin():  # as with a lost key: it does not open
        session.execute(
            update(Referral)
            .where(Referral.identifier_value == UNREADABLE.number)
            .values(
                raw_payload_enc=vault.encrypt("{}", "clients.name_enc"),
                record_enc=vault.encrypt("{}", "clients.name_enc"),
            )
        )
    engine.dispose()
    yield home, care_url


def _succeeded(result: Any) -> str:
    output = str(result.stdout + result.stderr)
    assert result.returncode == 0 and "state=success" in output, output[-4000:]
    return output


def test_referral_workflows_pull_answer_and_tell_the_hospitals(
    home_with_referrals: tuple[Path, str],
) -> None:
    home, care_url = home_with_referrals
    engine = make_engine(care_url)
    pulled = synthetic_referral_bundles(2, today=seoul_today())
    with FhirServerSimulator(pulled) as server:
        connection = json.dumps({"conn_type": "http", "host": server.base_url})
        output = _succeeded(
            dags_test(home, care_url, "referral_pull", AIRFLOW_CONN_FHIR_H_CJ_UNI=connection)
        )
    with Session(engine) as session:
        referrals = session.scalars(select(Referral)).all()
        assert sum(r.source == "pull" for r in referrals) == 2
        assert {r.status for r in referrals} == {"received"}  # the pull answers nothing
        assert session.scalar(select(SyncWatermark.watermark)) is not None

    # Intake has no pull: it runs with no FHIR Connection at all; the unreadable referral
    # is held for the team and the run succeeds.
    output += _succeeded(dags_test(home, care_url, "referral_intake"))
    with Session(engine) as session:
        referrals = session.scalars(select(Referral)).all()
        assert len(referrals) == 8
        held = next(r for r in referrals if r.identifier_value == UNREADABLE.number)
        assert (held.status, held.status_reason) == ("on-hold", ON_HOLD_FAULT)
        others = [r for r in referrals if r.id != held.id]
        assert all(r.status in ("accepted", "on-hold", "rejected") for r in others)
        accepted = [r for r in referrals if r.status == "accepted"]
        visits = session.scalars(select(Visit).where(Visit.service_type == "first_assessment"))
        assert len(visits.all()) == len(accepted) >= 5
        assert session.scalars(select(OperationalAlert.kind)).all() == ["intake_fault"]

    with receiving_endpoint("/tasks") as (alive, received):
        urls = {LIVE.hospital_code: alive, DEAD.hospital_code: closed_port_url("/tasks")}
        with Session(engine) as session, session.begin():
            for code, url in urls.items():
                session.execute(
                    update(Organisation).where(Organisation.code == code).values(callback_url=url)
                )
        output += _succeeded(dags_test(home, care_url, "hospital_callbacks"))
    with Session(engine) as session:
        events = session.execute(
            select(Organisation.code, ReferralStatusEvent)
            .join(Referral, Referral.id == ReferralStatusEvent.referral_id)
            .join(Organisation, Organisation.id == Referral.hospital_id)
            .where(Organisation.code.in_(list(urls)))
        ).all()
    live = [e for code, e in events if code == LIVE.hospital_code]
    dead = [e for code, e in events if code == DEAD.hospital_code]
    assert len(received) == len(live) >= 2
    assert all(e.callback_delivered_at is not None for e in live)
    # The closed port: its first version tried once and waiting out its backoff; the
    # later versions of the same Task wait behind it.
    assert all(e.callback_delivered_at is None for e in dead)
    first = min(dead, key=lambda e: e.version)
    assert first.callback_attempts == 1 and first.callback_next_at is not None
    assert all(e.callback_attempts == 0 for e in dead if e is not first)
    for spec in PUSHED:
        assert spec.person.name not in output
    # the grep: no personal value in clear in the database, XCom, logs or files
    needles = hostile_needles(HOSTILE) + county_needles(build_county())
    for spec in PUSHED:
        if spec is not HOSTILE:
            needles += [
                spec.person.address,
                *(v for v in (spec.person.phone, spec.person.rrn) if v),
            ]
    tables = dump_database(engine)
    engine.dispose()
    coordinates = coordinate_needles(exact_coordinates(build_county()))
    leaks = find_leaks(stores(home, home / "care.db", tables, output), needles, coordinates)
    assert leaks == []
