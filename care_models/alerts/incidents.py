"""Alerts merged per person: one open incident per client, whatever device raised them.

On-call tools deduplicate per source (one alert group per device or check); a town
desk needs the opposite: an older person whose plug shows no use at 08:00, who
misses the AI check-in call at 10:00 and whose gateway sees no movement at 11:00 is
one person to reach, not three calls to make. The rule, in order, for each stored
alert that has not been merged yet (oldest first):

1. **Device health is no incident.** ``heartbeat_missing``, ``low_battery`` and
   ``device_offline`` say something about the device, not the person: they stay on
   the alert list for the device-health view, marked ``resolved`` (read), and open
   nothing (:data:`DEVICE_HEALTH_KINDS`).
2. **Suppressed, kept.** An alert raised while the client is recorded as away
   (``client_absences``: in hospital, travelling) or while its device is under
   maintenance (``devices.maintenance_until``) is kept with ``suppressed`` and the
   reason, and opens nothing: nobody is missing.
3. **Join the open incident.** If the client has an open incident, the alert joins
   it (``alerts.incident_id``), whatever its vendor, device or kind, and however
   long the incident has been open: an incident stays open until a person closes it
   (the person was reached, their whereabouts are known, a false alarm, found by
   the police), because only a person can say the silence is over.
4. **Otherwise open one.** A new incident starts only when none is open; it opens at
   the alert's time (the protocol's clock starts then, not when the sync ran) and
   takes the alert's kind. At most one open incident per client is enforced by the
   database (a partial unique index), so two syncs racing for the same person end
   with one incident: the loser's insert fails and it joins the winner's.
5. **Critical kinds** (SOS word, fire, gas, emergency button) mark the incident
   critical, whether they open it or join it; fire and gas carry ``passed_to_119``
   from the vendor (the vendor has already called 119).

Merging is idempotent: a merged alert is never merged again, and a corrected alert
(a new revision) keeps its incident.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from care_models import vocab
from care_models.schema import Alert, ClientAbsence, Device, Incident

DEVICE_HEALTH_KINDS = frozenset({"heartbeat_missing", "low_battery", "device_offline"})


@dataclass
class MergeResult:
    """What one merge did: counts and incident ids only (no personal data)."""

    merged: int = 0
    suppressed: int = 0
    device_health: int = 0
    opened: list[int] = field(default_factory=list)
    joined: list[int] = field(default_factory=list)
    critical: list[int] = field(default_factory=list)

    def incidents_opened(self) -> list[int]:
        return sorted(set(self.opened))

    def as_dict(self) -> dict[str, object]:
        return {
            "merged": self.merged,
            "suppressed": self.suppressed,
            "device_health": self.device_health,
            "incidents_opened": sorted(set(self.opened)),
            "incidents_joined": sorted(set(self.joined)),
            "critical_incidents": sorted(set(self.critical)),
        }


def _aware(stamp: dt.datetime) -> dt.datetime:
    """SQLite hands back naive UTC; PostgreSQL aware: compare them alike."""
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def unmerged_alerts(session: Session, alert_ids: Iterable[int] | None = None) -> list[Alert]:
    """Alerts still ``open`` (not merged, suppressed or read as device health), oldest first."""
    query = select(Alert).where(Alert.status == "open", Alert.incident_id.is_(None))
    if alert_ids is not None:
        ids = sorted(set(alert_ids))
        if not ids:
            return []
        query = query.where(Alert.id.in_(ids))
    return list(session.scalars(query.order_by(Alert.occurred_at, Alert.id)))


def suppression_reason(session: Session, alert: Alert) -> str | None:
    """Why ``alert`` must not open or join an incident, or None."""
    occurred = _aware(alert.occurred_at)
    absent = session.scalar(
        select(ClientAbsence.reason).where(
            ClientAbsence.client_id == alert.client_id,
            ClientAbsence.starts_at <= occurred,
            ClientAbsence.until > occurred,
        )
    )
    if absent is not None:
        return f"client_{absent}"
    if alert.device_id is not None:
        device = session.get(Device, alert.device_id)
        until = device.maintenance_until if device is not None else None
        if until is not None and _aware(until) > occurred:
            return "device_maintenance"
    return None


def open_incident(session: Session, client_id: int) -> Incident | None:
    return session.scalar(
        select(Incident).where(Incident.client_id == client_id, Incident.status == "open")
    )


def _open_or_join(session: Session, alert: Alert) -> tuple[Incident, bool]:
    """The client's open incident, opened from ``alert`` if there is none (race-safe)."""
    incident = open_incident(session, alert.client_id)
    if incident is not None:
        return incident, False
    try:
        with session.begin_nested():
            incident = Incident(
                client_id=alert.client_id,
                kind=alert.kind,
                critical=alert.kind in vocab.CRITICAL_ALERT_KINDS,
                status="open",
                opened_at=_aware(alert.occurred_at),
            )
            session.add(incident)
            session.flush()
        return incident, True
    except IntegrityError:  # another sync opened it first: join theirs
        incident = open_incident(session, alert.client_id)
        if incident is None:
            raise
        return incident, False


@dataclass
class _Context:
    """What the merge reads about a batch's clients and devices, loaded once."""

    absences: dict[int, list[tuple[dt.datetime, dt.datetime, str]]]
    maintenance: dict[int, dt.datetime]
    open_incidents: dict[int, Incident]

    @classmethod
    def load(cls, session: Session, alerts: list[Alert]) -> _Context:
        clients = sorted({a.client_id for a in alerts})
        devices = sorted({a.device_id for a in alerts if a.device_id is not None})
        absences: dict[int, list[tuple[dt.datetime, dt.datetime, str]]] = {}
        maintenance: dict[int, dt.datetime] = {}
        incidents: dict[int, Incident] = {}
        for start in range(0, max(len(clients), len(devices)), 500):
            chunk, device_chunk = clients[start : start + 500], devices[start : start + 500]
            for row in session.scalars(
                select(ClientAbsence).where(ClientAbsence.client_id.in_(chunk))
            ):
                absences.setdefault(row.client_id, []).append(
                    (_aware(row.starts_at), _aware(row.until), row.reason)
                )
            for device_id, until in session.execute(
                select(Device.id, Device.maintenance_until).where(
                    Device.id.in_(device_chunk), Device.maintenance_until.is_not(None)
                )
            ):
                if until is not None:
                    maintenance[device_id] = _aware(until)
            for incident in session.scalars(
                select(Incident).where(Incident.client_id.in_(chunk), Incident.status == "open")
            ):
                incidents[incident.client_id] = incident
        return cls(absences, maintenance, incidents)

    def suppression(self, alert: Alert) -> str | None:
        occurred = _aware(alert.occurred_at)
        for starts, until, reason in self.absences.get(alert.client_id, ()):
            if starts <= occurred < until:
                return f"client_{reason}"
        serviced = self.maintenance.get(alert.device_id) if alert.device_id is not None else None
        if serviced is not None and serviced > occurred:
            return "device_maintenance"
        return None


def merge_alerts(
    session: Session, alert_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> MergeResult:
    """Merge the given (or every unmerged) alert into its client's open incident.

    ``now`` is the run's time; alerts that occurred after it are left for a later run
    (a re-run of an earlier sync must not act on what it could not have seen). The
    batch's absences, maintenance windows and open incidents are read once.
    """
    result = MergeResult()
    alerts = [
        a
        for a in unmerged_alerts(session, alert_ids)
        if now is None or _aware(a.occurred_at) <= _aware(now)
    ]
    if not alerts:
        return result
    context = _Context.load(session, alerts)
    with session.no_autoflush:
        for alert in alerts:
            if alert.kind in DEVICE_HEALTH_KINDS:
                alert.status = "resolved"  # read: it feeds device health, not the protocol
                result.device_health += 1
                continue
            reason = context.suppression(alert)
            if reason is not None:
                alert.suppressed, alert.suppression_reason = True, reason
                alert.status = "resolved"
                result.suppressed += 1
                continue
            incident = context.open_incidents.get(alert.client_id)
            opened = incident is None
            if incident is None:
                incident, opened = _open_or_join(session, alert)
                context.open_incidents[alert.client_id] = incident
            alert.incident_id = incident.id
            alert.status = "merged"
            if alert.kind in vocab.CRITICAL_ALERT_KINDS:
                incident.critical = True
                result.critical.append(incident.id)
            (result.opened if opened else result.joined).append(incident.id)
            result.merged += 1
    session.flush()
    return result


def incident_alerts(session: Session, incident_id: int) -> list[Alert]:
    """Every alert that contributed to an incident, in the order they occurred."""
    return list(
        session.scalars(
            select(Alert)
            .where(Alert.incident_id == incident_id)
            .order_by(Alert.occurred_at, Alert.id)
        )
    )


__all__ = [
    "DEVICE_HEALTH_KINDS",
    "MergeResult",
    "incident_alerts",
    "merge_alerts",
    "open_incident",
    "suppression_reason",
    "unmerged_alerts",
]
