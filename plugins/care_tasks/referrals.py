"""Steps of the ``referral_intake`` DAG. Each returns counts and ids only (XCom-safe)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from care_models.errors import CareError
from care_models.referrals.callbacks import deliver_callbacks
from care_models.referrals.intake import gate_rows, pending_referral_ids, run_intake
from care_models.schema import Organisation
from care_tasks.common import care_context
from care_tasks.outcomes import care_task

log = logging.getLogger(__name__)
INTAKE_SUITE = "intake.referrals"


def connection_id(hospital_code: str) -> str:
    return "fhir_" + hospital_code.lower().replace("-", "_")


def _pull_base_url(hospital_code: str) -> str | None:
    """The hospital's FHIR base URL from its Airflow Connection; None for push hospitals.

    The Connection's host is either the whole base URL (``http://host:port/fhir``) or a
    host name, with port and schema (the path, default ``fhir``) in their own fields.
    """
    from airflow.sdk import BaseHook

    try:
        connection = BaseHook.get_connection(connection_id(hospital_code))
    except Exception:  # no such connection: the hospital pushes to our API
        return None
    host = (connection.host or "").rstrip("/")
    if "://" in host:
        return host
    scheme = "https" if connection.conn_type == "https" else "http"
    port = f":{connection.port}" if connection.port else ""
    return f"{scheme}://{host}{port}/{(connection.schema or 'fhir').strip('/')}"


@care_task
def pull_all_hospitals() -> dict[str, int]:
    from hooks.fhir_pull import pull_hospital

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
            base_url = _pull_base_url(hospital.code)
            if base_url is None:
                continue
            try:
                result = pull_hospital(ctx.factory, ctx.vault, hospital, base_url, today=ctx.today)
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
    with care_context() as ctx:
        summary = deliver_callbacks(ctx.factory)
    return {"delivered": summary.delivered, "failed": summary.failed, "skipped": summary.skipped}
