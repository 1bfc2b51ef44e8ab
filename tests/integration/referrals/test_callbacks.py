"""Callbacks against real dead endpoints on 127.0.0.1: a closed port and a server that
accepts and never answers. Other hospitals are still told, each dead hospital costs at
most the breaker's few attempts a run, and an event is dead-lettered after the last."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from care_hooks.callback import HospitalCallbacks
from care_models.db import session_factory
from care_models.privacy import Vault
from care_models.referrals.callbacks import DEAD_LETTER, CallbackRules, deliver_callbacks
from care_models.schema import OperationalAlert, Organisation, Referral, ReferralStatusEvent
from care_models.synthetic.county import HOSPITALS
from tests.integration.referrals.test_intake import submit
from tests.support.callbacks import closed_port_url, receiving_endpoint
from tests.support.referrals import bundle_bytes, specs

HANGING, CLOSED, ALIVE = (code for code, *_ in HOSPITALS[:3])


class _Silent:
    """Accepts connections and never answers (a hung endpoint); counts them."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/task-updates"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def endpoints() -> Iterator[dict[str, Any]]:
    silent = _Silent()
    with receiving_endpoint() as (alive, received):
        yield {
            "silent": silent,
            "received": received,
            HANGING: silent.url,
            CLOSED: closed_port_url(),
            ALIVE: alive,
        }
    silent.close()


def _events(engine: Engine, code: str) -> list[ReferralStatusEvent]:
    with Session(engine) as session:
        rows = list(
            session.scalars(
                select(ReferralStatusEvent)
                .join(Referral, Referral.id == ReferralStatusEvent.referral_id)
                .join(Organisation, Organisation.id == Referral.hospital_id)
                .where(Organisation.code == code)
                .order_by(ReferralStatusEvent.id)
            )
        )
        session.expunge_all()
        return rows


def test_dead_endpoints_cost_a_bounded_few_attempts_and_end_in_a_dead_letter(
    county_engine: Engine, vault: Vault, endpoints: dict[str, Any]
) -> None:
    with Session(county_engine) as session, session.begin():
        for code in (HANGING, CLOSED, ALIVE):
            session.execute(
                update(Organisation)
                .where(Organisation.code == code)
                .values(callback_url=endpoints[code])
            )
    batch = [s for s in specs(24) if s.hospital_code in (HANGING, CLOSED, ALIVE)]
    submit(county_engine, vault, [(s.hospital_code, bundle_bytes(s)) for s in batch])
    factory = session_factory(county_engine)
    rules = CallbackRules(breaker_failures=2, max_attempts=2, backoff=dt.timedelta(minutes=5))
    silent: _Silent = endpoints["silent"]
    now = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)

    with closing(HospitalCallbacks(timeout_seconds=0.5, connect_seconds=0.5)) as send:
        first = deliver_callbacks(factory, send, rules, now=now)
        # The live hospital is told at once; each dead one trips its breaker after two
        # failures, and its third event waits for the next run.
        assert len(endpoints["received"]) == 3 and first.delivered == 3
        assert len(silent.connections) == 2
        assert (first.failed, first.skipped) == (4, 2)
        assert sorted(first.tripped) == sorted([HANGING, CLOSED])
        assert [e.callback_attempts for e in _events(county_engine, HANGING)] == [1, 1, 0]

        # Before its backoff has passed, a failed event is not tried again.
        again = deliver_callbacks(factory, send, rules, now=now + dt.timedelta(minutes=1))
        assert [e.callback_attempts for e in _events(county_engine, CLOSED)] == [1, 1, 1]
        assert again.delivered == 0

        for day in range(1, 6):
            deliver_callbacks(factory, send, rules, now=now + dt.timedelta(days=day))
        for code in (HANGING, CLOSED):
            events = _events(county_engine, code)
            assert [e.callback_attempts for e in events] == [2, 2, 2]
            assert all(e.callback_dead_at and e.callback_delivered_at is None for e in events)
        assert len(silent.connections) == 6  # three events, two attempts each, no more

        idle = deliver_callbacks(factory, send, rules, now=now + dt.timedelta(days=30))
    assert (idle.delivered, idle.failed, idle.skipped) == (0, 0, 0)
    assert len(silent.connections) == 6 and len(endpoints["received"]) == 3
    with Session(county_engine) as session:
        alerts = session.scalars(
            select(OperationalAlert).where(OperationalAlert.kind == DEAD_LETTER)
        ).all()
    dead = {str(e.id) for code in (HANGING, CLOSED) for e in _events(county_engine, code)}
    assert {a.entity_id for a in alerts} == dead
    assert all(a.entity == "referral_status_event" and a.resolved_at is None for a in alerts)
