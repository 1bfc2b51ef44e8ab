"""Vendor alerts into the care database: gate, store, device health; pulls per vendor.

:func:`ingest_records` is the one door for a vendor's records, pulled or pushed:
the gate (:mod:`care_models.alerts.gate`), the quarantine of what fails it, the
upsert (:mod:`care_models.alerts.store`) and the device health, all in the caller's
transaction.

:func:`pull_vendor` reads one polled vendor from its watermark (``sync_watermarks``,
source ``vendor:<code>``: the vendor's opaque cursor), page by page through a
:class:`PageSource` (the Airflow side's ``care_hooks.vendor.VendorHook``). Each page
is stored **in one transaction with the watermark moved to that page's next
cursor**, so the watermark never covers an alert that is not committed, and a run
that fails on page k keeps pages 1..k-1 and resumes at page k. Overlapping and
duplicate pages are harmless (the upsert is keyed on the vendor's alert id); a
cursor that goes back (the vendor reset its cursors and answers from the start) is
logged and followed, for the same reason. Paging that does not advance is stopped
(:data:`MAX_SAME_CURSOR`, :data:`MAX_PAGES`) as an ExternalServiceError.

:func:`pull_all_vendors` pulls each vendor on its own: whatever one vendor's pull
raises is logged with the vendor's code and the error's class and becomes that
vendor's outcome (and an operational alert ``vendor_pull_failed`` for the team); the
next vendor is pulled. Only what would fail every vendor alike (the keys, a lost
care database) is raised at once. Outcomes hold codes and counts, no personal data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from care_models.alerts.gate import (
    GateBatch,
    gate_alert,
    gate_records,
    quarantine,
    vendor_gate_failures,
    vendor_of,
)
from care_models.alerts.mapping import load_rules
from care_models.alerts.store import StoreResult, store_alerts, update_device_health
from care_models.errors import CareError, ExternalServiceError, PrivacyError
from care_models.operations import raise_alert, resolve_alerts
from care_models.schema import SyncWatermark

__all__ = [
    "IngestResult",
    "PageSource",
    "PullOutcome",
    "VendorPage",
    "gate_alert",
    "ingest_records",
    "pull_all_vendors",
    "pull_vendor",
    "store_alerts",
    "vendor_gate_failures",
]

log = logging.getLogger(__name__)

WATERMARK_PREFIX = "vendor:"
MAX_PAGES = 10_000
MAX_SAME_CURSOR = 3  # the same cursor answered more often than this: paging does not advance
PULL_FAILED = "vendor_pull_failed"


@dataclass(frozen=True)
class VendorPage:
    """One page of a polled vendor: its records (as served), the next cursor, and more?"""

    records: list[Any]
    next_cursor: str
    more: bool


class PageSource(Protocol):
    """What a pull reads pages from (the vendor hook; a fake in tests)."""

    def fetch_page(self, cursor: str) -> VendorPage: ...


@dataclass
class IngestResult:
    received: int = 0
    quarantined: int = 0
    health_updates: int = 0
    stored: StoreResult = field(default_factory=StoreResult)
    rules: list[str] = field(default_factory=list)  # the rules quarantined records broke


def ingest_records(
    session: Session, vendor_code: str, records: Sequence[Any], now: dt.datetime
) -> IngestResult:
    """Gate, quarantine, store and apply the device health of one vendor's records."""
    vendor = vendor_of(session, vendor_code)
    rules = load_rules(str(vendor.device_type))
    batch: GateBatch = gate_records(session, vendor, rules, records, now)
    quarantine(session, vendor_code, batch)
    stored = store_alerts(session, vendor_code, batch.passed, now)
    health = update_device_health(session, batch.passed)
    if batch.quarantined:
        log.warning(
            "vendor %s: %d of %d records quarantined (%s)",
            vendor_code,
            len(batch.quarantined),
            batch.evaluated,
            ", ".join(sorted({q.rule for q in batch.quarantined})),  # rules, never values
        )
    rules_broken = sorted({q.rule for q in batch.quarantined})
    return IngestResult(len(records), len(batch.quarantined), health, stored, rules_broken)


# -- pulls ---------------------------------------------------------------------------------


@dataclass
class PullOutcome:
    """What one vendor's pull did: counts and the ids of new or changed alerts."""

    vendor_code: str
    cursor_before: str
    cursor_after: str = ""
    pages: int = 0
    received: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    quarantined: int = 0
    health_updates: int = 0
    cursor_resets: int = 0
    alert_ids: list[int] = field(default_factory=list)

    def add(self, result: IngestResult) -> None:
        self.received += result.received
        self.quarantined += result.quarantined
        self.health_updates += result.health_updates
        self.new += len(result.stored.new_ids)
        self.changed += len(result.stored.changed_ids)
        self.unchanged += result.stored.unchanged + result.stored.stale
        self.alert_ids.extend(result.stored.ids)

    def counts(self) -> dict[str, int]:
        return {
            "pages": self.pages,
            "received": self.received,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
            "health_updates": self.health_updates,
            "cursor_resets": self.cursor_resets,
        }


def watermark_source(vendor_code: str) -> str:
    return f"{WATERMARK_PREFIX}{vendor_code}"


def read_cursor(session: Session, vendor_code: str) -> str:
    row = session.get(SyncWatermark, watermark_source(vendor_code))
    return row.watermark if row is not None else ""


def _move_watermark(session: Session, vendor_code: str, cursor: str) -> None:
    source = watermark_source(vendor_code)
    row = session.get(SyncWatermark, source, with_for_update=True)
    if row is None:
        session.add(SyncWatermark(source=source, watermark=cursor))
    else:
        row.watermark = cursor
    session.flush()


def _went_back(before: str, after: str) -> bool:
    """Whether a numeric cursor went back (the vendor reset its cursors)."""
    return before.isdigit() and after.isdigit() and int(after) < int(before)


def _checked_cursor(page: VendorPage, vendor_code: str) -> str:
    cursor = str(page.next_cursor)
    if not cursor or len(cursor) > 60:
        raise ExternalServiceError(f"vendor {vendor_code}: a page's next cursor is not usable")
    return cursor


def pull_vendor(
    session_factory: sessionmaker[Session],
    hook: PageSource,
    vendor_code: str,
    now: dt.datetime,
) -> PullOutcome:
    """Pull one vendor from its watermark to the last page (module docstring)."""
    with session_factory() as session:
        cursor = read_cursor(session, vendor_code)
    outcome = PullOutcome(vendor_code, cursor, cursor)
    asked: Counter[str] = Counter()
    while True:
        asked[cursor] += 1
        if asked[cursor] > MAX_SAME_CURSOR or outcome.pages >= MAX_PAGES:
            raise ExternalServiceError(f"vendor {vendor_code}: paging does not advance")
        page = hook.fetch_page(cursor)
        following = _checked_cursor(page, vendor_code)
        with session_factory() as session, session.begin():
            result = ingest_records(session, vendor_code, page.records, now)
            _move_watermark(session, vendor_code, following)
        outcome.pages += 1
        outcome.add(result)
        outcome.cursor_after = following
        if _went_back(cursor, following):
            outcome.cursor_resets += 1
            log.warning(
                "vendor %s: the cursor went back from %s to %s (a reset): reading again",
                vendor_code,
                cursor,
                following,
            )
        if not page.more:
            break
        cursor = following
    log.info(
        "vendor pull %s: %d pages, %d records, %d new, %d changed, %d quarantined, cursor %s -> %s",
        vendor_code,
        outcome.pages,
        outcome.received,
        outcome.new,
        outcome.changed,
        outcome.quarantined,
        outcome.cursor_before or "(start)",
        outcome.cursor_after,
    )
    return outcome


def pull_all_vendors(
    session_factory: sessionmaker[Session],
    hooks: Mapping[str, PageSource],
    now: dt.datetime,
) -> dict[str, dict[str, Any]]:
    """Pull every vendor of ``hooks`` (code to page source), each isolated.

    Returns, per vendor code, ``{"status": "ok", **counts, "alert_ids": [...]}`` or
    ``{"status": "failed", "error": "<error class>"}``.
    """
    outcomes: dict[str, dict[str, Any]] = {}
    for code in sorted(hooks):
        try:
            pulled = pull_vendor(session_factory, hooks[code], code, now)
        except (PrivacyError, OperationalError, InterfaceError):
            raise  # the keys or the care database: every vendor would fail alike
        except Exception as error:  # one vendor must never stop the others
            _log_failure(code, error)
            _record_outcome(session_factory, code, error)
            outcomes[code] = {"status": "failed", "error": type(error).__name__}
            continue
        _record_outcome(session_factory, code, None)
        outcomes[code] = {"status": "ok", **pulled.counts(), "alert_ids": pulled.alert_ids}
    return outcomes


def _log_failure(code: str, error: Exception) -> None:
    """Care errors' messages never hold a personal value; of others only the type."""
    if isinstance(error, CareError):
        log.error("vendor pull %s failed (%s): %s", code, type(error).__name__, error)
    else:
        log.error("vendor pull %s failed: unexpected %s", code, type(error).__name__)


def _record_outcome(
    session_factory: sessionmaker[Session], code: str, error: Exception | None
) -> None:
    with session_factory() as session, session.begin():
        if error is None:
            resolve_alerts(session, (PULL_FAILED,), "organisation", code)
            return
        detail = str(error) if isinstance(error, CareError) else "unexpected error"
        raise_alert(
            session,
            workflow="device_alert_sync",
            kind=PULL_FAILED,
            entity="organisation",
            entity_id=code,
            detail=f"{type(error).__name__}: {detail}",
        )
