"""The ingest steps of ``device_alert_sync``: each one call into :mod:`care_models.alerts`.

:func:`pull_vendor_alerts` pulls every polled vendor that has a Connection
``vendor_<code>`` (``care_hooks.vendor.VendorHook``), each on its own, from its
watermark, as of the DAG run's time (:func:`run_time`). It returns counts per vendor
and the ids of the alerts it inserted or changed, for the merge step (XCom: codes,
counts and ids only; past :data:`MAX_XCOM_IDS` ids the list is cut and
``alert_ids_complete`` is false: the merge step then takes every alert without an
incident, which it must handle anyway for pushed alerts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from care_models.alerts.ingest import PageSource, pull_all_vendors
from care_models.alerts.mapping import load_rules
from care_models.schema import Organisation
from care_models.workdays import SEOUL
from care_tasks.common import care_context
from care_tasks.outcomes import care_task

MAX_XCOM_IDS = 5_000


def run_time(context: Mapping[str, Any] | None = None) -> dt.datetime:
    """When the DAG run of ``context`` (the current task's by default) was due, aware.

    The time the gate judges "not in the future" against and the store records: the
    run's ``run_after`` (or logical date), so a re-run judges as the run did. Outside
    Airflow (tests, the command line) the wall clock.
    """
    if context is None:
        try:
            from airflow.sdk import get_current_context

            context = get_current_context()
        except Exception:  # not inside a running task
            return dt.datetime.now(dt.UTC)
    dag_run = context.get("dag_run")
    stamp = getattr(dag_run, "run_after", None) or context.get("logical_date")
    if stamp is None:
        return dt.datetime.now(dt.UTC)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def vendor_hooks(factory: sessionmaker[Session], **options: Any) -> dict[str, Any]:
    """A hook per polled vendor whose Connection names a host (pushing vendors have none)."""
    from care_hooks.vendor import VendorHook

    with factory() as session:
        vendors = session.execute(
            select(Organisation.code, Organisation.device_type)
            .where(Organisation.kind == "vendor", Organisation.device_type.is_not(None))
            .order_by(Organisation.code)
        ).all()
    hooks: dict[str, Any] = {}
    for code, device_type in vendors:
        if load_rules(str(device_type)).paging is None:
            continue
        hook = VendorHook(code, vendor_type=str(device_type), **options)
        if hook.pulls():
            hooks[code] = hook
    return hooks


@care_task
def pull_vendor_alerts(run_at: str | None = None) -> dict[str, Any]:
    """Pull each polled vendor since its watermark; counts and new or changed alert ids."""
    now = dt.datetime.fromisoformat(run_at) if run_at else run_time()
    with care_context(now.astimezone(SEOUL).date()) as ctx:
        hooks = vendor_hooks(ctx.factory)
        try:
            sources: dict[str, PageSource] = dict(hooks)
            outcomes = pull_all_vendors(ctx.factory, sources, now)
        finally:
            for hook in hooks.values():
                hook.close()
    ids = sorted({i for o in outcomes.values() for i in o.get("alert_ids", ())})
    return {
        "run_at": now.isoformat(),
        "vendors": {
            code: {k: v for k, v in outcome.items() if k != "alert_ids"}
            for code, outcome in outcomes.items()
        },
        "failed_vendors": sum(1 for o in outcomes.values() if o["status"] == "failed"),
        "alert_ids": ids[:MAX_XCOM_IDS],
        "alert_ids_complete": len(ids) <= MAX_XCOM_IDS,
    }
