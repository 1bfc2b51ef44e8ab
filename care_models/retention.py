"""Retention: personal data is kept as long as its purpose needs, then removed.

Run daily (the ``retention`` task of ``care_data_quality``), dated by its DAG run:

- **raw Bundles**: a referral's Bundle as the hospital sent it (encrypted, resident
  registration number included) is what intake reads. Once the referral has a decided
  status (:data:`DECIDED_STATUSES`: intake never reads it again; ``received`` and
  ``on-hold`` still need it), it is emptied ``CARE_RETENTION_RAW_BUNDLE_DAYS`` after
  that status was set. The referral's coded rows, its hash and its Task versions stay.
- **published sheets**: a horizon's folder ``CARE_OUTPUT_DIR/visits/<Monday>/`` (day
  sheets, calendars, CSVs, team overview) is removed ``CARE_RETENTION_PUBLISHED_DAYS``
  after the horizon ends (the recorded plan's end; without one, the longest horizon).
- **audit log**: rows older than ``CARE_RETENTION_AUDIT_DAYS`` (at least two years,
  enforced by the settings) are deleted.

Each purge writes one audit row with counts only. Plain functions: the session is
passed in and the day is the run's, never the wall clock, so a re-run purges the same.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from care_models.config import Settings
from care_models.privacy import audit
from care_models.schema import AuditLog, Referral, VisitPlan
from care_models.workdays import SEOUL

log = logging.getLogger(__name__)

ACTOR = "retention"
DECIDED_STATUSES = ("accepted", "rejected", "in-progress", "completed", "cancelled")
LONGEST_HORIZON_DAYS = 31  # home_visit_planning's horizon_days maximum


@dataclass(frozen=True)
class Periods:
    raw_bundle_days: int
    published_days: int
    audit_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Periods:
        return cls(
            settings.retention_raw_bundle_days,
            settings.retention_published_days,
            settings.retention_audit_days,
        )


@dataclass(frozen=True)
class Purged:
    raw_bundles: int = 0
    published_horizons: int = 0
    published_files: int = 0
    audit_rows: int = 0


def start_of(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in Seoul, in UTC (how the care database stores moments)."""
    return dt.datetime.combine(day, dt.time(0), SEOUL).astimezone(dt.UTC)


def purge_raw_bundles(session: Session, today: dt.date, days: int) -> int:
    """Empty the raw Bundles (and their parsed records) of referrals decided more than
    ``days`` days before ``today``."""
    cutoff = start_of(today - dt.timedelta(days=days))
    result = session.execute(
        update(Referral)
        .where(
            Referral.status.in_(DECIDED_STATUSES),
            Referral.last_updated < cutoff,
            Referral.raw_purged_at.is_(None),
        )
        .values(raw_payload_enc="", record_enc=None, raw_purged_at=start_of(today))
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    audit(
        session,
        actor=ACTOR,
        action="purge",
        entity="referral_bundle",
        entity_id=None,
        purpose=f"{count} raw Bundles emptied, decided over {days} days ago",
    )
    return count


def _horizon_end(session: Session, start: dt.date) -> dt.date:
    end = session.scalar(
        select(func.max(VisitPlan.horizon_end)).where(VisitPlan.horizon_start == start)
    )
    return end if end is not None else start + dt.timedelta(days=LONGEST_HORIZON_DAYS - 1)


def _horizon_folders(output_dir: Path) -> list[tuple[dt.date, Path]]:
    root = Path(output_dir) / "visits"
    if not root.is_dir():
        return []
    folders = []
    for path in sorted(root.iterdir()):
        try:
            start = dt.date.fromisoformat(path.name)
        except ValueError:
            continue  # a staging folder or anything else that is not a horizon
        if path.is_dir():
            folders.append((start, path))
    return folders


def purge_published(
    session: Session, output_dir: Path, today: dt.date, days: int
) -> tuple[int, int]:
    """Remove the published folders of horizons that ended more than ``days`` days ago."""
    horizons = files = 0
    for start, path in _horizon_folders(output_dir):
        if _horizon_end(session, start) + dt.timedelta(days=days) >= today:
            continue
        files += sum(1 for p in path.rglob("*") if p.is_file())
        shutil.rmtree(path)
        horizons += 1
    audit(
        session,
        actor=ACTOR,
        action="purge",
        entity="published_sheets",
        entity_id=None,
        purpose=f"{horizons} horizons ({files} files) removed, ended over {days} days ago",
    )
    return horizons, files


def purge_audit_log(session: Session, today: dt.date, days: int) -> int:
    """Delete audit rows older than ``days`` days (the settings keep it at least two years)."""
    cutoff = start_of(today - dt.timedelta(days=days))
    result = session.execute(
        delete(AuditLog).where(AuditLog.at < cutoff).execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    audit(
        session,
        actor=ACTOR,
        action="purge",
        entity="audit_log",
        entity_id=None,
        purpose=f"{count} audit rows deleted, older than {days} days",
    )
    return count


def run_retention(session: Session, output_dir: Path, today: dt.date, periods: Periods) -> Purged:
    """Every purge of the day, in the caller's transaction; counts only."""
    audit_rows = purge_audit_log(session, today, periods.audit_days)
    raw = purge_raw_bundles(session, today, periods.raw_bundle_days)
    horizons, files = purge_published(session, output_dir, today, periods.published_days)
    log.info(
        "retention %s: %d raw Bundles, %d horizons (%d files), %d audit rows",
        today,
        raw,
        horizons,
        files,
        audit_rows,
    )
    return Purged(raw, horizons, files, audit_rows)
