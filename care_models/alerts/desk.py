"""The town desk's view of the protocol: open incidents and what is due next.

``python -m care_models incidents`` lists them, as does the town desk's page in the
care API (``/staff/incidents``, with its CSV) (client code, town, kind, since when,
the next step and when it is due: no name, phone or address); ``incidents outcome``
records what a step found and ``incidents close`` closes one, as
:mod:`care_models.alerts.protocol` defines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.rendering.labels import ALERT_KIND_LABELS, ESCALATION_STEP_LABELS
from care_models.rendering.tables import excel_csv
from care_models.schema import Alert, Client, EscalationStep, Incident, Town
from care_models.workdays import SEOUL


@dataclass(frozen=True)
class OpenIncident:
    incident_id: int
    client_code: str
    town_code: str
    town: str
    kind: str
    critical: bool
    opened_at: str  # Asia/Seoul, minutes
    alerts: int
    next_step: str | None
    next_due: str | None
    overdue: bool = False
    police_report: bool = False  # the day-2 visit found nobody: the report can be printed

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _seoul(stamp: dt.datetime | None) -> str | None:
    if stamp is None:
        return None
    aware = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    return aware.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M")


def open_incidents(
    session: Session, town_code: str | None = None, now: dt.datetime | None = None
) -> list[OpenIncident]:
    """Open incidents (of one town if given), critical first, then oldest first; a step
    is overdue when its due time is before ``now``."""
    query = (
        select(Incident, Client.code, Town.code, Town.name)
        .join(Client, Client.id == Incident.client_id)
        .join(Town, Town.id == Client.town_id)
        .where(Incident.status == "open")
        .order_by(Incident.critical.desc(), Incident.opened_at, Incident.id)
    )
    if town_code is not None:
        query = query.where(Town.code == town_code)
    result = []
    for incident, client_code, code, town in session.execute(query).all():
        steps = session.scalars(
            select(EscalationStep)
            .where(EscalationStep.incident_id == incident.id)
            .order_by(EscalationStep.due_at, EscalationStep.id)
        ).all()
        due = next((s for s in steps if s.status == "due"), None)
        alerts = session.scalars(select(Alert.id).where(Alert.incident_id == incident.id)).all()
        result.append(
            OpenIncident(
                incident_id=incident.id,
                client_code=client_code,
                town_code=code,
                town=town,
                kind=incident.kind,
                critical=incident.critical,
                opened_at=_seoul(incident.opened_at) or "",
                alerts=len(alerts),
                next_step=due.step if due else None,
                next_due=_seoul(due.due_at) if due else None,
                overdue=bool(due and now and _utc(due.due_at) < now),
                police_report=any(s.step == "day2_police_report" for s in steps),
            )
        )
    return result


def _utc(stamp: dt.datetime) -> dt.datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


CSV_COLUMNS = (
    "사건번호",
    "긴급",
    "사례번호",
    "읍·면 코드",
    "읍·면",
    "종류",
    "시작 (KST)",
    "알림 수",
    "다음 단계",
    "기한 (KST)",
    "기한 지남",
)


def incidents_csv(rows: list[OpenIncident]) -> bytes:
    """The open incidents as a CSV for Excel (codes and times only: no personal data)."""
    return excel_csv(
        CSV_COLUMNS,
        (
            (
                r.incident_id,
                "예" if r.critical else "",
                r.client_code,
                r.town_code,
                r.town,
                ALERT_KIND_LABELS.get(r.kind, r.kind),
                r.opened_at,
                r.alerts,
                ESCALATION_STEP_LABELS.get(r.next_step or "", r.next_step or ""),
                r.next_due or "",
                "예" if r.overdue else "",
            )
            for r in rows
        ),
    )
