"""The merge and escalation steps of ``device_alert_sync``, each one domain call.

Every alert still open is merged, not only those the pull step returned: alerts
pushed to the care API between two syncs have no ids in XCom, and the merge is
idempotent, so a re-run merges nothing twice. The run's time bounds what is merged
(an alert from after the run is left for the next one). XCom: counts and ids only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from care_models.alerts.health import check_devices
from care_models.alerts.incidents import merge_alerts
from care_models.alerts.protocol import run_escalation, send_texts
from care_models.notify import collect_receipts
from care_models.workdays import SEOUL
from care_tasks.alerts_ingest import run_time
from care_tasks.common import care_context
from care_tasks.outcomes import care_task


@care_task
def check_device_health(run_at: str | None = None) -> dict[str, Any]:
    """Maintenance tasks for device problems; silent-device alerts for high-risk clients."""
    now = dt.datetime.fromisoformat(run_at) if run_at else run_time()
    with care_context(now.astimezone(SEOUL).date()) as ctx, ctx.factory.begin() as session:
        result = check_devices(session, now)
    return {"run_at": now.isoformat(), **result.as_dict()}


@care_task
def merge_into_incidents(run_at: str | None = None) -> dict[str, Any]:
    """Merge the open alerts into their clients' incidents; what was opened or joined."""
    now = dt.datetime.fromisoformat(run_at) if run_at else run_time()
    with care_context(now.astimezone(SEOUL).date()) as ctx, ctx.factory.begin() as session:
        result = merge_alerts(session, None, now=now)
    return {"run_at": now.isoformat(), **result.as_dict()}


@care_task
def escalate(run_at: str | None = None) -> dict[str, Any]:
    """Every protocol step due by the run's time, once; whether day-2 visits were booked."""
    now = dt.datetime.fromisoformat(run_at) if run_at else run_time()
    with care_context(now.astimezone(SEOUL).date()) as ctx, ctx.factory.begin() as session:
        result = run_escalation(session, now)
    return {"run_at": now.isoformat(), **result.as_dict()}


@care_task
def send_sms(run_at: str | None = None) -> dict[str, Any]:
    """Hand every due text to the SMS gateway (Connection ``sms_gateway``), each alone."""
    from care_hooks.sms import SmsGatewayHook

    now = dt.datetime.fromisoformat(run_at) if run_at else run_time()
    hook = SmsGatewayHook()
    if hook.base_url() is None:  # texts stay queued: the desk list shows the step as due
        return {"run_at": now.isoformat(), "gateway": "no Connection sms_gateway", "sent": 0}
    try:
        with care_context(now.astimezone(SEOUL).date()) as ctx, ctx.factory.begin() as session:
            result = send_texts(
                session,
                hook,
                ctx.vault,
                now,
                max_attempts=ctx.settings.sms_max_attempts,
                backoff=dt.timedelta(minutes=ctx.settings.sms_backoff_minutes),
            )
    finally:
        hook.close()
    return {"run_at": now.isoformat(), **result.as_dict()}


@care_task
def collect_sms_receipts(run_at: str | None = None) -> dict[str, Any]:
    """Delivery receipts since the cursor: texts marked delivered or failed."""
    from care_hooks.sms import SmsGatewayHook

    now = dt.datetime.fromisoformat(run_at) if run_at else run_time()
    hook = SmsGatewayHook()
    if hook.base_url() is None:
        return {"gateway": "no Connection sms_gateway"}
    try:
        with care_context(now.astimezone(SEOUL).date()) as ctx, ctx.factory.begin() as session:
            return collect_receipts(session, hook, now)
    finally:
        hook.close()
