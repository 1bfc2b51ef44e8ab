"""Steps of the ``referral_intake`` DAG. Each returns counts and ids only (XCom-safe)."""

from __future__ import annotations

import logging
from contextlib import closing

from sqlalchemy import select

from care_models.errors import CareError
from care_models.referrals.callbacks import deliver_callbacks
from care_models.referrals.intake import gate_rows, pending_referral_ids, run_intake
from care_models.schema import Organisation
from care_tasks.common import care_context
from care_tasks.outcomes import care_task

log = logging.getLogger(__name__)
INTAKE_SUITE = "intake.referrals"


@care_task
def pull_all_hospitals() -> dict[str, int]:
    from care_hooks.fhir import FhirServerHook

    totals = {"hospitals": 0, "created": 0, "existing": 0, "rejected": 0}
    with care_context() as ctx:
        with ctx.factory() as session:
            hospitals = list(
                session.scalars(
                    select(Organisation)
                    .where(Organisation.kind == "hospital")
                    .order_by(Organisation.code)
                )
            )
        failures = []
        for hospital in hospitals:
            hook = FhirServerHook(hospital.code)
            if not hook.pulls():  # no Connection: the hospital pushes to our API
                continue
            try:
                result = hook.pull(ctx.factory, ctx.vault, hospital, today=ctx.today)
            except CareError as error:  # one hospital down must not stop the others
                failures.append(hospital.code)
                log.error("pull from %s failed: %s", hospital.code, error)
                continue
            totals["hospitals"] += 1
            totals["created"] += result.created
            totals["existing"] += result.existing
            totals["rejected"] += result.rejected
    totals["failed_hospitals"] = len(failures)
    return totals


@care_task
def gate_pending_referrals(run_key: str | None = None) -> dict[str, object]:
    """Run the intake gate on received referrals; a failing batch fails the task."""
    import pandas as pd

    from gates import run_gate_on_rows

    with care_context() as ctx:
        with ctx.factory() as session:
            ids = pending_referral_ids(session)
            rows, unparsable = gate_rows(session, ctx.vault, ids, ctx.today)
        rejected: dict[str, list[str]] = {str(k): [v] for k, v in unparsable.items()}
        if rows:
            outcome = run_gate_on_rows(
                ctx.engine, INTAKE_SUITE, pd.DataFrame(rows), run_key=run_key
            )
            for key, rules in outcome.quarantined.items():
                rejected.setdefault(key, []).extend(rules)
    return {"referral_ids": ids, "rejected": rejected}


@care_task
def run_pending_intake(gated: dict[str, object]) -> dict[str, object]:
    ids = [int(i) for i in gated["referral_ids"]]  # type: ignore[attr-defined]
    rejected = {int(k): list(v) for k, v in gated["rejected"].items()}  # type: ignore[attr-defined]
    with care_context() as ctx:
        summary = run_intake(ctx.factory, ctx.vault, ids, rejected, ctx.today)
    result = summary.as_dict()
    log.info("intake: %s", {k: v for k, v in result.items() if k != "first_visits"})
    return result


@care_task
def notify_hospitals() -> dict[str, int]:
    from care_hooks.callback import HospitalCallbacks

    with care_context() as ctx, closing(HospitalCallbacks()) as send:
        summary = deliver_callbacks(ctx.factory, send)
    return {"delivered": summary.delivered, "failed": summary.failed, "skipped": summary.skipped}
