"""Intake: gate, match, triage, case and needs, first visit, Task answered; idempotent."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from care_hooks.callback import HospitalCallbacks
from care_hooks.http import RetryPolicy
from care_models.db import session_factory
from care_models.privacy import PersonalFields, Vault
from care_models.referrals.callbacks import deliver_callbacks
from care_models.referrals.intake import OUTSIDE_COUNTY
from care_models.referrals.store import submit_referral
from care_models.schema import Case, MatchReview, Need, Organisation, Referral, Visit
from care_models.synthetic import referrals as sr
from care_models.synthetic.county import build_county
from care_models.workdays import add_business_days, is_business_day, seoul_today
from tests.support.referrals import (
    INTAKE_TABLES,
    bundle_bytes,
    dump_database,
    intake,
    resource,
    row_counts,
    specs,
)

COUNTED = INTAKE_TABLES


def _hospitals(factory: sessionmaker[Session]) -> dict[str, Organisation]:
    with factory() as session:
        return {
            o.code: o
            for o in session.scalars(select(Organisation).where(Organisation.kind == "hospital"))
        }


def submit(engine: Engine, vault: Vault, bodies: list[tuple[str, bytes]]) -> None:
    factory = session_factory(engine)
    hospitals = _hospitals(factory)
    for code, body in bodies:
        submit_referral(factory, vault, hospitals[code], body, today=seoul_today())


def test_valid_referrals_become_cases_with_a_first_visit(
    county_engine: Engine, vault: Vault
) -> None:
    batch = specs(24)
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in batch])
    summary = intake(county_engine, vault)
    assert summary.count("accepted") + summary.count("on-hold") == 24
    with Session(county_engine) as session:
        referrals = session.scalars(select(Referral)).all()
        for referral in referrals:
            if referral.status != "accepted":
                continue
            case = session.scalars(select(Case).where(Case.referral_id == referral.id)).one()
            visit = session.scalars(
                select(Visit).where(Visit.natural_key == f"referral:{referral.id}:first_assessment")
            ).one()
            assert visit.case_id == case.id and visit.status == "booked"
            assert is_business_day(visit.visit_date)
            assert visit.visit_date > seoul_today()
            if referral.discharge_date and referral.discharge_date >= seoul_today():
                assert visit.visit_date <= add_business_days(referral.discharge_date, 2)
            assert referral.priority in (1, 2, 3) and referral.triage_reason
            assert f"초기 방문 {visit.visit_date.isoformat()}" in (referral.status_reason or "")
            needs = session.scalars(select(Need).where(Need.case_id == case.id)).all()
            assert needs and all(n.category for n in needs)


def test_running_intake_again_adds_nothing(county_engine: Engine, vault: Vault) -> None:
    batch = specs(12)
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in batch])
    intake(county_engine, vault)
    before = row_counts(county_engine, COUNTED)
    again = intake(county_engine, vault)
    assert again.outcomes == []
    assert row_counts(county_engine, COUNTED) == before


def test_outside_county_address_is_rejected_with_a_reason(
    county_engine: Engine, vault: Vault
) -> None:
    spec = specs(30)[29]

    def move_away(bundle: dict[str, Any]) -> None:
        resource(bundle, "Patient")["address"][0]["text"] = "충청북도 청주시 상당구 용암동 1"
        resource(bundle, "Patient").pop("identifier", None)
        resource(bundle, "Patient")["name"][0]["text"] = "외지인"

    submit(county_engine, vault, [(spec.hospital_code, bundle_bytes(spec, move_away))])
    summary = intake(county_engine, vault)
    assert [(o.status, o.reason) for o in summary.outcomes] == [("rejected", OUTSIDE_COUNTY)]


def test_uncertain_identity_waits_for_review_and_is_never_merged(
    county_engine: Engine, vault: Vault
) -> None:
    known = build_county().clients[5].person
    spec = specs(1)[0]
    changed_phone = PersonalFields(
        known.name, known.birth_date, known.address, "010-0000-0000", None
    )
    spec = sr.ReferralSpec(**{**spec.__dict__, "person": changed_phone})
    submit(county_engine, vault, [(spec.hospital_code, bundle_bytes(spec))])
    summary = intake(county_engine, vault)
    assert [o.status for o in summary.outcomes] == ["on-hold"]
    with Session(county_engine) as session:
        review = session.scalars(select(MatchReview)).one()
        assert review.status == "pending" and len(review.candidate_client_ids) == 1
        assert session.scalars(select(Case)).all() == [] or all(
            c.referral_id is None for c in session.scalars(select(Case))
        )


def test_a_known_client_is_matched_not_duplicated(county_engine: Engine, vault: Vault) -> None:
    client = build_county().clients[9]
    spec = sr.ReferralSpec(**{**specs(1)[0].__dict__, "person": client.person})
    before = row_counts(county_engine, ("clients",))
    submit(county_engine, vault, [(spec.hospital_code, bundle_bytes(spec))])
    summary = intake(county_engine, vault)
    assert [o.status for o in summary.outcomes] == ["accepted"]
    assert not summary.outcomes[0].new_client
    assert row_counts(county_engine, ("clients",)) == before


def test_no_personal_value_in_clear_anywhere_after_intake(
    county_engine: Engine, vault: Vault
) -> None:
    batch = specs(10, seed=3)
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in batch])
    intake(county_engine, vault)
    dump = dump_database(county_engine)
    for spec in batch:
        person = spec.person
        for value in (
            person.name,
            person.address,
            person.phone,
            person.rrn,
            (person.rrn or "").replace("-", "") or None,
        ):
            if value:
                assert value not in dump


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []  # noqa: RUF012
    fail_first: list[int] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.fail_first:
            self.fail_first.pop()
            self.send_response(503)
        else:
            type(self).received.append(body)
            self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received, _Receiver.fail_first = [], [1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/task-updates"
    server.shutdown()


def test_the_callback_receives_each_status_change_once(
    county_engine: Engine, vault: Vault, receiver: str
) -> None:
    spec = specs(1)[0]
    with Session(county_engine) as session, session.begin():
        session.execute(
            update(Organisation)
            .where(Organisation.code == spec.hospital_code)
            .values(callback_url=receiver)
        )
    submit(county_engine, vault, [(spec.hospital_code, bundle_bytes(spec))])
    intake(county_engine, vault)
    factory = session_factory(county_engine)
    with closing(HospitalCallbacks(RetryPolicy(backoff_seconds=0.01))) as send:
        first = deliver_callbacks(factory, send)
        second = deliver_callbacks(factory, send)
    assert (first.delivered, second.delivered) == (2, 0)
    versions = [(t["meta"]["versionId"], t["status"]) for t in _Receiver.received]
    assert versions in (
        [("1", "received"), ("2", "accepted")],
        [("1", "received"), ("2", "on-hold")],
    )
    assert all(t["identifier"][0]["value"] == spec.number for t in _Receiver.received)


def test_received_day_is_the_reference_for_stored_dates(
    county_engine: Engine, vault: Vault
) -> None:
    spec = specs(1)[0]
    spec = sr.ReferralSpec(**{**spec.__dict__, "discharge": seoul_today() + dt.timedelta(days=29)})
    submit(county_engine, vault, [(spec.hospital_code, bundle_bytes(spec))])
    assert [o.status for o in intake(county_engine, vault).outcomes] in (["accepted"], ["on-hold"])
