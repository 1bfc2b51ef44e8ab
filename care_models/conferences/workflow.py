"""The conference workflow's steps, as the DAGs run them (each one call from a task).

Daily (``care_conferences``, 07:00 Asia/Seoul): keep the schedule; seat the rosters
and build the agendas of the next two weeks, freezing each on its freeze day and
writing its external copy (HTML and PDF) to the output folder; send the invitations
that are due; apply the effects of the decisions recorded since. At each conference
(``care_conference_tier1``/``tier2``, on their timetables): mark the conferences
that start now as held.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models import operations
from care_models.conferences.agenda import build_agenda, conferences_due
from care_models.conferences.documents import (
    build_agenda_document,
    render_agenda_html,
    render_agenda_pdf,
)
from care_models.conferences.invitations import Mailer, seat_participants, send_invitations
from care_models.errors import CareError
from care_models.rendering.atomic import write_file
from care_models.schema import Conference

LOOKAHEAD = dt.timedelta(days=14)  # drafts visible to the team this far ahead


@dataclass
class AgendaRun:
    built: int = 0
    frozen: list[int] = field(default_factory=list)
    items: int = 0
    short_of: dict[int, list[str]] = field(default_factory=dict)  # conference -> disciplines
    files: list[str] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # conferences whose agenda was refused

    def as_dict(self) -> dict[str, object]:
        return {
            "agendas_built": self.built,
            "frozen": self.frozen,
            "items": self.items,
            "quorum_warnings": {str(k): v for k, v in sorted(self.short_of.items())},
            "files": self.files,
            "failed": self.failed,
        }


def agenda_folder(out_dir: Path, conference: Conference) -> Path:
    return (
        out_dir
        / "conferences"
        / f"{conference.scheduled_on.isoformat()}-{conference.slot_key.replace(':', '-')}"
    )


def prepare_agendas(session: Session, today: dt.date, out_dir: Path) -> AgendaRun:
    """Seat, build and (on their day) freeze the agendas of the next two weeks."""
    run = AgendaRun()
    due = set(conferences_due(session, today))
    upcoming = session.scalars(
        select(Conference)
        .where(
            Conference.status == "scheduled",
            Conference.scheduled_on >= today,
            Conference.scheduled_on <= today + LOOKAHEAD,
        )
        .order_by(Conference.scheduled_on, Conference.id)
    ).all()
    for conference in upcoming:
        was_frozen = conference.agenda_status == "frozen"
        try:
            with session.begin_nested():  # one conference's bad roster or gate stays its own
                seat_participants(session, conference.id)
                result = build_agenda(session, conference.id, today)
        except CareError as error:
            run.failed.append(conference.id)
            operations.raise_alert(
                session,
                workflow="care_conferences",
                kind="agenda_failed",
                entity="conference",
                entity_id=str(conference.id),
                detail=str(error),
            )
            continue
        run.built += 1
        run.items += sum(result.kinds.values())
        if result.frozen and not was_frozen:
            run.frozen.append(conference.id)
            agenda = build_agenda_document(session, conference.id)
            folder = agenda_folder(out_dir, conference)
            run.files.append(
                str(write_file(folder / "agenda.html", render_agenda_html(agenda).encode("utf-8")))
            )
            run.files.append(str(write_file(folder / "agenda.pdf", render_agenda_pdf(agenda))))
        if result.missing_disciplines and (conference.id in due or result.frozen):
            run.short_of[conference.id] = result.missing_disciplines
            operations.raise_alert(
                session,
                workflow="care_conferences",
                kind="conference_quorum",
                entity="conference",
                entity_id=str(conference.id),
                detail=f"no participant for {', '.join(result.missing_disciplines)}",
            )
    session.flush()
    return run


def external_agendas(session: Session, out_dir: Path) -> dict[int, tuple[str, bytes]]:
    """The frozen agendas' external copies already written, to attach to invitations."""
    found = {}
    for conference in session.scalars(
        select(Conference).where(
            Conference.agenda_status == "frozen", Conference.status == "scheduled"
        )
    ):
        path = agenda_folder(out_dir, conference) / "agenda.html"
        if path.is_file():
            found[conference.id] = ("agenda.html", path.read_bytes())
    return found


def invite(session: Session, mailer: Mailer, now: dt.datetime, out_dir: Path) -> dict[str, object]:
    """Send the invitations that are due, with the frozen agendas attached."""
    result = send_invitations(session, mailer, now, agenda=external_agendas(session, out_dir))
    return result.as_dict()


def hold_conferences(session: Session, now: dt.datetime) -> list[int]:
    """Mark the scheduled conferences that have started by ``now`` as held."""
    held = []
    for conference in session.scalars(select(Conference).where(Conference.status == "scheduled")):
        start = conference.starts_at
        if start is None:
            continue
        start = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
        if start <= now:
            conference.status = "held"
            held.append(conference.id)
    session.flush()
    return sorted(held)


__all__ = ["AgendaRun", "external_agendas", "hold_conferences", "invite", "prepare_agendas"]
