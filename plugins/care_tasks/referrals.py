"""Steps of the ``referral_intake`` DAG. Each task returns counts and ids only (XCom-safe).

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
from care_models.referrals.callbacks import deliver_callbacks
from care_models.referrals.intake import (
    IntakeSummary,
    gate_rows,
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


@dataclass(frozen=True)
class GatedBatch:
    """The received referrals the gate saw, and the rules each quarantined one broke."""

    referral_ids: list[int]
    rejected: dict[int, list[str]] = field(default_factory=dict)

    def as_xcom(self) -> dict[str, object]:
        return {
            "referral_ids": self.referral_ids,
            "rejected": {str(k): v for k, v in self.rejected.items()},
        }

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> GatedBatch:
        return cls(
            [int(i) for i in value["referral_ids"]],
            {int(k): list(v) for k, v in value["rejected"].items()},
        )


def gate_referrals(
    engine: Engine,
    factory: sessionmaker[Session],
    vault: Vault,
    today: dt.date,
    *,
    run_key: str | None = None,
) -> GatedBatch:
    """Run the intake gate on the received referrals; a failing batch raises GateFailure.

    Unparsable Bundles and rows the gate quarantines are rejected, with their rules.
    """
    import pandas as pd

    from gates import run_gate_on_rows

    with factory() as session:
        ids = pending_referral_ids(session)
        rows, unparsable = gate_rows(session, vault, ids, today)
    rejected = {k: [v] for k, v in unparsable.items()}
    if rows:
        outcome = run_gate_on_rows(engine, INTAKE_SUITE, pd.DataFrame(rows), run_key=run_key)
        for key, rules in outcome.quarantined.items():
            rejected.setdefault(int(key), []).extend(rules)
    return GatedBatch(ids, rejected)


def intake_gated(
    factory: sessionmaker[Session], vault: Vault, gated: GatedBatch, today: dt.date
) -> IntakeSummary:
    """Intake of a gated batch: cases, first visits and Task answers (idempotent)."""
    return run_intake(factory, vault, gated.referral_ids, gated.rejected, today)


def gate_then_intake(
    engine: Engine, vault: Vault, today: dt.date, *, run_key: str | None = None
) -> IntakeSummary:
    """What the ``referral_intake`` DAG does between pull and notify, in one call."""
    factory = session_factory(engine)
    gated = gate_referrals(engine, factory, vault, today, run_key=run_key)
    return intake_gated(factory, vault, gated, today)


@care_task
def gate_pending_referrals(run_key: str | None = None) -> dict[str, object]:
    """DAG task: :func:`gate_referrals`; a failing batch fails the task (no retry)."""
    with care_context() as ctx:
        gated = gate_referrals(ctx.engine, ctx.factory, ctx.vault, ctx.today, run_key=run_key)
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
def notify_hospitals() -> dict[str, int]:
    from care_hooks.callback import HospitalCallbacks

    with care_context() as ctx, closing(HospitalCallbacks()) as send:
        summary = deliver_callbacks(ctx.factory, send)
    return {"delivered": summary.delivered, "failed": summary.failed, "skipped": summary.skipped}
