"""The town desk's view of the protocol: open incidents and what is due next.

``python -m care_models incidents`` lists them (client code, town, kind, since when,
the next step and when it is due: no name, phone or address); ``incidents outcome``
records what a step found and ``incidents close`` closes one, as
:mod:`care_models.alerts.protocol` defines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.schema import Alert, Client, EscalationStep, Incident, Town
from care_models.workdays import SEOUL


@dataclass(frozen=True)
class OpenIncident:
    incident_id: int
    client_code: str
    town: str
    kind: str
    critical: bool
    opened_at: str  # Asia/Seoul, minutes
    alerts: int
    next_step: str | None
    next_due: str | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _seoul(stamp: dt.datetime | None) -> str | None:
    if stamp is None:
        return None
    aware = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    return aware.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M")


def open_incidents(session: Session) -> list[OpenIncident]:
    """Open incidents, critical first, then oldest first."""
    rows = session.execute(
        select(Incident, Client.code, Town.name)
        .join(Client, Client.id == Incident.client_id)
        .join(Town, Town.id == Client.town_id)
        .where(Incident.status == "open")
        .order_by(Incident.critical.desc(), Incident.opened_at, Incident.id)
    ).all()
    result = []
    for incident, client_code, town in rows:
        due = session.scalars(
            select(EscalationStep)
            .where(EscalationStep.incident_id == incident.id, EscalationStep.status == "due")
            .order_by(EscalationStep.due_at)
        ).first()
        alerts = session.scalars(select(Alert.id).where(Alert.incident_id == incident.id)).all()
        result.append(
            OpenIncident(
                incident_id=incident.id,
                client_code=client_code,
                town=town,
                kind=incident.kind,
                critical=incident.critical,
                opened_at=_seoul(incident.opened_at) or "",
                alerts=len(alerts),
                next_step=due.step if due else None,
                next_due=_seoul(due.due_at) if due else None,
            )
        )
    return result
