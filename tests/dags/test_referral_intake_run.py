"""A real Airflow run of referral_intake: pushed and pulled referrals answered, rerun idle.

One pushed referral carries hostile personal values (a formula for a name and a phone, an
RRN, an address); after the runs, nothing personal is found in clear anywhere they wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.db import make_engine, session_factory
from care_models.privacy import Vault
from care_models.referrals.store import submit_referral
from care_models.schema import Organisation, Referral, SyncWatermark, Visit
from care_models.synthetic.county import build_county
from care_models.workdays import seoul_today
from care_sim.fhir_server import FhirServerSimulator, synthetic_referral_bundles
from tests.conftest import TEST_KEYS
from tests.dags.airflow_runs import dags_test, prepare
from tests.support.leaks import (
    coordinate_needles,
    county_needles,
    exact_coordinates,
    find_leaks,
    hostile,
    hostile_needles,
    stores,
)
from tests.support.referrals import (
    INTAKE_TABLES,
    bundle_bytes,
    dump_database,
    row_counts,
    specs,
)

COUNTED = INTAKE_TABLES
SUBMITTED = [hostile(specs(6, seed=5)[0]), *specs(6, seed=5)[1:]]


@pytest.fixture(scope="module")
def home_with_referrals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    home = tmp_path_factory.mktemp("airflow-referrals")
    care_url = prepare(home)
    engine = make_engine(care_url)
    factory = session_factory(engine)
    vault = Vault.from_keys([TEST_KEYS["CARE_ENCRYPTION_KEYS"]], TEST_KEYS["CARE_MATCH_KEY"])
    with factory() as session:
        hospitals = {o.code: o for o in session.scalars(select(Organisation))}
    for spec in SUBMITTED:
        submit_referral(
            factory, vault, hospitals[spec.hospital_code], bundle_bytes(spec), today=seoul_today()
        )
    engine.dispose()
    yield home, care_url


def test_referral_intake_answers_pushed_and_pulled_referrals(
    home_with_referrals: tuple[Path, str],
) -> None:
    home, care_url = home_with_referrals
    pulled = synthetic_referral_bundles(2, today=seoul_today())
    with FhirServerSimulator(pulled) as server:
        connection = json.dumps({"conn_type": "http", "host": server.base_url})
        result = dags_test(home, care_url, "referral_intake", AIRFLOW_CONN_FHIR_H_CJ_UNI=connection)
        output = result.stdout + result.stderr
        assert result.returncode == 0 and "state=success" in output, output[-4000:]
        engine = make_engine(care_url)
        with Session(engine) as session:
            referrals = session.scalars(select(Referral)).all()
            assert len(referrals) == 8
            assert sum(r.source == "pull" for r in referrals) == 2
            assert all(r.status in ("accepted", "on-hold", "rejected") for r in referrals)
            accepted = [r for r in referrals if r.status == "accepted"]
            visits = session.scalars(
                select(Visit).where(Visit.service_type == "first_assessment")
            ).all()
            assert len(visits) == len(accepted) >= 6
            assert session.scalar(select(SyncWatermark.watermark)) is not None
        before = row_counts(engine, COUNTED)
        again = dags_test(home, care_url, "referral_intake", AIRFLOW_CONN_FHIR_H_CJ_UNI=connection)
        assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
        after = row_counts(engine, COUNTED)
        engine.dispose()
    assert {k: v for k, v in after.items() if k != "gate_results"} == {
        k: v for k, v in before.items() if k != "gate_results"
    }
    for spec in SUBMITTED:
        assert spec.person.name not in output
    # the grep: no personal value in clear in the database, XCom, logs or files
    needles = hostile_needles(SUBMITTED[0]) + county_needles(build_county())
    for spec in SUBMITTED[1:]:
        needles += [spec.person.address, *(v for v in (spec.person.phone, spec.person.rrn) if v)]
    engine = make_engine(care_url)
    tables = dump_database(engine)
    engine.dispose()
    care_db = home / "care.db"
    coordinates = coordinate_needles(exact_coordinates(build_county()))
    run_output = output + again.stdout + again.stderr
    leaks = find_leaks(stores(home, care_db, tables, run_output), needles, coordinates)
    assert leaks == []
