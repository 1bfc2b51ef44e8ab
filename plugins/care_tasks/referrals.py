"""Steps of the referral DAGs (``referral_pull``, ``referral_intake``, ``hospital_callbacks``).

Each task returns counts and ids only (XCom-safe).

:func:`gate_then_intake` is the gate and intake the DAG runs, as one call: the tests
and ``bench/intake.py`` call it (or its two halves), never a copy.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from care_models.db import session_factory
from care_models.privacy import Vault
from care_models.referrals.callbacks import CallbackRules, deliver_callbacks
from care_models.referrals.intake import (
    IntakeSummary,
    audit_gate_reads,
    gate_rows,
    held_for_retry,
    pending_referral_ids,
    run_intake,
)
from care_tasks.common import care_context
from care_tasks.outcomes import care_task

log = logging.getLogger(__name__)
INTAKE_SUITE = "intake.referrals"


@care_task
def pull_all_hospitals() -> dict[str, int]:
    """DAG task: :func:`care_hooks.fhir.pull_all`; each hospital's failure stays its own."""
    from care_hooks.fhir import pull_all

    with care_context() as ctx:
        summary = pull_all(ctx.factory, ctx.vault, today=ctx.today)
    return summary.as_xcom()


def _keyed(value: Mapping[str, Any]) -> dict[int, Any]:
    return {int(k): v for k, v in value.items()}


@dataclass(frozen=True)
class GatedBatch:
    """The referrals the gate saw, and what it decided for some (ids and rules only).

    ``rejected``: the rules each quarantined referral broke. ``faults``: referrals
    that could not be read (held for the team). ``reviews``: a referral whose person
    another hospital referred earlier in the batch, with that referral (identity
    review). ``retried``: held referrals re-tried on request.
    """

    referral_ids: list[int]
    rejected: dict[int, list[str]] = field(default_factory=dict)
    faults: dict[int, str] = field(default_factory=dict)
    reviews: dict[int, int] = field(default_factory=dict)
    retried: list[int] = field(default_factory=list)

    def as_xcom(self) -> dict[str, object]:
        return {
            "referral_ids": self.referral_ids,
            "rejected": {str(k): v for k, v in self.rejected.items()},
            "faults": {str(k): v for k, v in self.faults.items()},
            "reviews": {str(k): v for k, v in self.reviews.items()},
            "retried": self.retried,
        }

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> GatedBatch:
        return cls(
            [int(i) for i in value["referral_ids"]],
            {k: list(v) for k, v in _keyed(value["rejected"]).items()},
            {k: str(v) for k, v in _keyed(value.get("faults", {})).items()},
            {k: int(v) for k, v in _keyed(value.get("reviews", {})).items()},
            [int(i) for i in value.get("retried", [])],
        )


def gate_referrals(
    engine: Engine,
    factory: sessionmaker[Session],
    vault: Vault,
    today: dt.date,
    *,
    run_key: str | None = None,
    retry_held: bool = False,
) -> GatedBatch:
    """Run the intake gate on the received referrals; a failing batch raises GateFailure.

    Unparsable Bundles and rows the gate quarantines are rejected, with their rules.
    With ``retry_held``, referrals held for lack of capacity or a fault go through
    the gate and intake again. Each Bundle read is audited (committed before the gate).
    """
    import pandas as pd

    from gates import run_gate_on_rows

    with factory() as session:
        retried = held_for_retry(session) if retry_held else []
        ids = sorted({*pending_referral_ids(session), *retried})
    audit_gate_reads(factory, ids)
    with factory() as session:
        found = gate_rows(session, vault, ids, today)
    rejected = {k: [v] for k, v in found.unparsable.items()}
    if found.rows:
        outcome = run_gate_on_rows(engine, INTAKE_SUITE, pd.DataFrame(found.rows), run_key=run_key)
        for key, rules in outcome.quarantined.items():
            rejected.setdefault(int(key), []).extend(rules)
    # A review needs the earlier referral to stand: when the gate rejected it, the later
    # one is answered on its own merits.
    reviews = {k: v for k, v in found.reviews.items() if k not in rejected and v not in rejected}
    return GatedBatch(ids, rejected, found.faults, reviews, retried)


def intake_gated(
    factory: sessionmaker[Session], vault: Vault, gated: GatedBatch, today: dt.date
) -> IntakeSummary:
    """Intake of a gated batch: cases, first visits and Task answers (idempotent)."""
    return run_intake(
        factory,
        vault,
        gated.referral_ids,
        gated.rejected,
        today,
        faults=gated.faults,
        reviews=gated.reviews,
        retried=frozenset(gated.retried),
    )


def gate_then_intake(
    engine: Engine,
    vault: Vault,
    today: dt.date,
    *,
    run_key: str | None = None,
    retry_held: bool = False,
) -> IntakeSummary:
    """What the ``referral_intake`` DAG does, gate and intake, in one call."""
    factory = session_factory(engine)
    gated = gate_referrals(engine, factory, vault, today, run_key=run_key, retry_held=retry_held)
    return intake_gated(factory, vault, gated, today)


@care_task
def gate_pending_referrals(
    run_key: str | None = None, retry_held: bool = False
) -> dict[str, object]:
    """DAG task: :func:`gate_referrals`; a failing batch fails the task (no retry)."""
    with care_context() as ctx:
        gated = gate_referrals(
            ctx.engine, ctx.factory, ctx.vault, ctx.today, run_key=run_key, retry_held=retry_held
        )
    return gated.as_xcom()


@care_task
def run_pending_intake(gated: dict[str, object]) -> dict[str, object]:
    """DAG task: :func:`intake_gated` on what the gate task returned."""
    with care_context() as ctx:
        summary = intake_gated(ctx.factory, ctx.vault, GatedBatch.from_xcom(gated), ctx.today)
    result = summary.as_dict()
    log.info("intake: %s", {k: v for k, v in result.items() if k != "first_visits"})
    return result


@care_task
def changed_or_skip(count: object, what: str) -> int:
    """``count`` when positive; else skip the task, so that its Asset event is not emitted.

    A skipped task emits no Asset event: the DAG downstream does not run for nothing.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    if not isinstance(count, int) or count <= 0:
        raise AirflowSkipException(f"no {what}")
    return count


@care_task
def deliver_hospital_callbacks() -> dict[str, object]:
    """DAG task of ``hospital_callbacks``: each due Task version to its hospital, once.

    The breaker, attempts and backoff come from the ``CARE_CALLBACK_*`` settings.
    """
    from care_hooks.callback import HospitalCallbacks

    with care_context() as ctx:
        settings = ctx.settings
        rules = CallbackRules(
            breaker_failures=settings.callback_breaker_failures,
            max_attempts=settings.callback_max_attempts,
            backoff=dt.timedelta(minutes=settings.callback_backoff_minutes),
        )
        sender = HospitalCallbacks(
            timeout_seconds=settings.callback_timeout_seconds,
            connect_seconds=settings.callback_connect_timeout_seconds,
        )
        with closing(sender) as send:
            summary = deliver_callbacks(ctx.factory, send, rules)
    return summary.as_dict()
