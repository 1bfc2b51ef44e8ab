"""Vendor pushes: ``POST /vendors/{vendor}/alerts``, signed, stored before answering.

A vendor that pushes (the AI speakers' SOS) sends its own JSON body with the
headers of :mod:`care_models.alerts.signing`: ``X-Care-Timestamp`` (Unix seconds)
and ``X-Care-Signature`` (``v1=`` HMAC-SHA256 of ``timestamp.body`` under the
vendor's secret). The request is answered:

- 401 when a header is missing or malformed, the timestamp is outside the window
  (a replay), or no live secret of that vendor signed it (an unknown vendor is
  answered the same, so the answer tells nobody which vendors exist); failures
  count against the address like failed logins (429 when over);
- 413 over :data:`MAX_PUSH_BYTES`; 400 when the body is not JSON of the vendor's shape;
- 422 when every record was quarantined by the gate (the rules, never values);
- 201 once the new or corrected alerts are committed (the same gate and store as a
  pull: :func:`care_models.alerts.ingest.ingest_records`), 200 when all were already
  stored (a replay within the window changes nothing).

After a 201 the ``care://alerts/pushed`` Asset gets an event (inside Airflow: the
app's ``state.on_alerts_pushed``, set by the care plugin), so ``device_alert_sync``
runs at once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from care_api.app import (
    ApiError,
    CareState,
    client_address,
    count_failed_login,
    read_limited_body,
    refuse_blocked_address,
    state_of,
)
from care_models.alerts.gate import vendor_of
from care_models.alerts.ingest import ingest_records
from care_models.alerts.mapping import get_path, load_rules
from care_models.alerts.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureRejected,
    live_secrets,
    verify,
)
from care_models.errors import NotFoundError
from care_models.tokens import utcnow

router = APIRouter()
log = logging.getLogger(__name__)

VENDOR_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,39}")
MAX_PUSH_BYTES = 64 * 1024
MAX_PUSH_RECORDS = 100


@dataclass(frozen=True)
class Received:
    new: int
    changed: int
    unchanged: int
    quarantined: int
    rules: list[str]
    alert_ids: list[int]


def _unauthorised(rule: str, header: str = SIGNATURE_HEADER) -> ApiError:
    return ApiError(401, "login", header, rule, {"WWW-Authenticate": "HMAC-SHA256"})


@router.post("/vendors/{vendor}/alerts", status_code=201)
async def push_alerts(vendor: str, request: Request) -> JSONResponse:
    care = state_of(request)
    address = client_address(request)
    refuse_blocked_address(care, address, SIGNATURE_HEADER)
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    signature = request.headers.get(SIGNATURE_HEADER)
    if not timestamp or not signature:
        count_failed_login(care, address)
        raise _unauthorised(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
    body = await read_limited_body(request, MAX_PUSH_BYTES)
    now = utcnow()
    try:
        received = await run_in_threadpool(_receive, care, vendor, body, timestamp, signature, now)
    except SignatureRejected as rejected:
        count_failed_login(care, address)
        raise _unauthorised(rejected.rule, rejected.field) from None
    if received.new + received.changed + received.unchanged == 0:
        raise ApiError(422, "business-rule", "alerts", "; ".join(received.rules[:5]))
    if received.new or received.changed:
        await _signal(request, vendor, received.alert_ids)
    status = 201 if received.new or received.changed else 200
    answer = {
        "stored": received.new + received.changed,
        "already_stored": received.unchanged,
        "quarantined": received.quarantined,
        "rules": received.rules,
    }
    return JSONResponse(answer, status_code=status)


def _receive(
    care: CareState, vendor: str, body: bytes, timestamp: str, signature: str, now: dt.datetime
) -> Received:
    """Check the signature, then gate and store in one transaction (a worker thread)."""
    if not VENDOR_CODE.fullmatch(vendor):
        raise SignatureRejected(SIGNATURE_HEADER, "does not match the vendor's secret")
    factory = care.factory()
    with factory() as session:
        secrets_ = live_secrets(session, care.keys(), vendor, now)
    verify(secrets_, timestamp, signature, body, now)  # no secret: refused the same way
    records = _records(care, vendor, body)
    with factory() as session, session.begin():
        result = ingest_records(session, vendor, records, now)
    stored = result.stored
    log.info(
        "vendor push %s: %d records, %d new, %d changed, %d quarantined",
        vendor,
        result.received,
        len(stored.new_ids),
        len(stored.changed_ids),
        result.quarantined,
    )
    return Received(
        len(stored.new_ids),
        len(stored.changed_ids),
        stored.unchanged + stored.stale,
        result.quarantined,
        result.rules,
        stored.ids,
    )


def _records(care: CareState, vendor: str, body: bytes) -> list[Any]:
    """The pushed records, where the vendor's rules say they are."""
    with care.factory()() as session:
        try:
            device_type = str(vendor_of(session, vendor).device_type)
        except NotFoundError:
            raise ApiError(404, "not-found", "vendor", "no such vendor") from None
    rules = load_rules(device_type)
    if rules.push is None:
        raise ApiError(400, "not-supported", "vendor", "this vendor is polled, not pushed")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid", "body", "must be JSON") from None
    records = [document] if rules.push.records is None else get_path(document, rules.push.records)
    if not isinstance(records, list) or not records:
        raise ApiError(400, "invalid", "body", "holds no records where the vendor's rules say")
    if len(records) > MAX_PUSH_RECORDS:
        raise ApiError(413, "too-costly", "body", f"more than {MAX_PUSH_RECORDS} records")
    return records


async def _signal(request: Request, vendor: str, alert_ids: list[int]) -> None:
    """The Asset event that wakes ``device_alert_sync`` (none when the API runs alone)."""
    notify: Callable[[str, list[int]], None] | None = getattr(
        request.app.state, "on_alerts_pushed", None
    )
    if notify is None:
        return
    try:
        await run_in_threadpool(notify, vendor, alert_ids)
    except Exception as error:  # stored already: the 10-minute schedule picks it up anyway
        log.warning("vendor push %s: no asset event (%s)", vendor, type(error).__name__)
