"""Who is invited to a conference, and the iCalendar invitation they receive (RFC 5546).

**Participants.** A conference seats its tier's standing roster (``conference_members``
of the tier, and of the town for tier 1): one participant per member, with the
member's discipline, role and work address. A member without a known discipline or
with an address that is not a plain ``local@domain`` is refused with the record's
number and the rule; nothing is seated for that conference.

**The invitation.** One VEVENT per conference, its UID stable for life
(``conferences.uid``), ``METHOD:REQUEST`` with ``SEQUENCE`` the conference's sequence
(raised by every move), one ATTENDEE per participant with ``ROLE`` (CHAIR,
REQ-PARTICIPANT, OPT-PARTICIPANT), ``RSVP=TRUE`` and ``PARTSTAT=NEEDS-ACTION``; a
cancelled conference is ``METHOD:CANCEL`` with ``STATUS:CANCELLED`` and the next
sequence. Calendar programs then update or remove the one event they hold.

**Sending.** :func:`send_invitations` mails each participant whose invitation is not
at the conference's current sequence (new, moved or cancelled): one message each,
through the mail hook, recorded per participant (``invited_sequence``), so a re-run
sends nothing twice and a failed send is retried at the next run. Invitations carry
the conference's codes, times and place, never a client's data; the agenda follows
with the frozen agenda's external copy.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models import vocab
from care_models.errors import ExternalServiceError, ValidationError
from care_models.rendering.ics import SEOUL_ZONE
from care_models.schema import Conference, ConferenceMember, ConferenceParticipant, Town

PRODID = "-//integrated-care//conferences//KO"
ORGANIZER = "care-team@jincheon.example.org"
DURATION = {1: dt.timedelta(minutes=90), 2: dt.timedelta(hours=2)}
ROLES = {"chair": "CHAIR", "required": "REQ-PARTICIPANT", "optional": "OPT-PARTICIPANT"}
# A work address: local@domain, ASCII, no spaces, quotes or line breaks (a header
# injection would need one); not the whole of RFC 5322, on purpose.
ADDRESS = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+")
DISCIPLINE_LABELS = {
    "health_medical": "보건의료",
    "care_ltc": "돌봄·장기요양",
    "housing": "주거",
    "daily_living": "일상생활",
    "safety_other": "안전·기타",
    "integrated_care": "통합돌봄팀",
    "provider": "제공기관",
}


class Mailer(Protocol):
    """What the domain needs of a mail channel (``care_hooks.mail.MailHook``)."""

    def send(
        self, to: str, subject: str, text: str, attachments: Sequence[tuple[str, str, bytes]]
    ) -> str: ...


def valid_address(address: str | None) -> bool:
    return bool(address) and ADDRESS.fullmatch(address or "") is not None


def seat_participants(session: Session, conference_id: int) -> list[ConferenceParticipant]:
    """Seat the tier's roster at the conference (once per member); see the module."""
    conference = session.get(Conference, conference_id)
    if conference is None:
        raise ValidationError("conference", f"conference {conference_id} does not exist")
    query = select(ConferenceMember).where(
        ConferenceMember.tier == conference.tier, ConferenceMember.active
    )
    if conference.tier == 1:
        query = query.where(ConferenceMember.town_id == conference.town_id)
    members = list(session.scalars(query.order_by(ConferenceMember.id)))
    if conference.tier == 1 and not members:
        raise ValidationError(
            f"conference {conference.id}",
            "its town has no conference roster (rule: tier 1 seats the town's roster)",
        )
    for member in members:
        if member.discipline not in vocab.CONFERENCE_DISCIPLINES:
            raise ValidationError(
                f"conference member {member.id}", "discipline: must be a known discipline"
            )
        if not valid_address(member.email):
            raise ValidationError(f"conference member {member.id}", "email: not a valid address")
    seated = {
        (p.staff_id, p.organisation_id): p
        for p in session.scalars(
            select(ConferenceParticipant).where(
                ConferenceParticipant.conference_id == conference_id
            )
        )
    }
    for member in members:
        if (member.staff_id, member.organisation_id) in seated:
            continue
        participant = ConferenceParticipant(
            conference_id=conference_id,
            staff_id=member.staff_id,
            organisation_id=member.organisation_id,
            discipline=member.discipline,
            email=member.email,
            role=member.role,
        )
        session.add(participant)
        seated[(member.staff_id, member.organisation_id)] = participant
    session.flush()
    return list(seated.values())


def _title(conference: Conference, town: str | None) -> str:
    if conference.tier == 1:
        return f"통합돌봄 1단계 사례회의 ({town})"
    return "통합돌봄 2단계 통합사례회의 (군)"


def invitation_ics(
    conference: Conference,
    participants: Sequence[ConferenceParticipant],
    town: str | None,
    now: dt.datetime,
) -> bytes:
    """The conference's invitation (REQUEST) or cancellation (CANCEL), RFC 5546."""
    cancelled = conference.status == "cancelled"
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", conference.uid)
    event.add("sequence", conference.sequence)
    event.add("dtstamp", now.astimezone(dt.UTC))
    start = conference.starts_at
    if start is None:
        raise ValidationError(
            f"conference {conference.id}", "starts_at: a conference needs its time"
        )
    start = (start if start.tzinfo else start.replace(tzinfo=dt.UTC)).astimezone(SEOUL_ZONE)
    event.add("dtstart", start)
    event.add("dtend", start + DURATION[conference.tier])
    event.add("summary", _title(conference, town))
    event.add(
        "location", "화상회의" if conference.form == "video" else f"{town or '진천군'} 행정복지센터"
    )
    if conference.move_reason:
        event.add("comment", f"일정 변경: {conference.move_reason}")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{ORGANIZER}")
    organizer.params["cn"] = vText("진천군 통합돌봄팀")
    event["organizer"] = organizer
    for participant in participants:
        attendee = vCalAddress(f"mailto:{participant.email}")
        attendee.params["cn"] = vText(
            DISCIPLINE_LABELS.get(participant.discipline, participant.discipline)
        )
        attendee.params["role"] = vText(ROLES.get(participant.role, "REQ-PARTICIPANT"))
        attendee.params["partstat"] = vText("NEEDS-ACTION")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    return bytes(calendar.to_ical())


@dataclass
class InvitationResult:
    sent: int = 0
    cancellations: int = 0
    failed: list[str] = field(default_factory=list)  # "conference <id>[ participant <id>]"

    def as_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "cancellations": self.cancellations, "failed": self.failed}


def _town_name(session: Session, conference: Conference) -> str | None:
    if conference.town_id is None:
        return None
    town = session.get(Town, conference.town_id)
    return town.name if town else None


def send_invitations(
    session: Session,
    mailer: Mailer,
    now: dt.datetime,
    conference_ids: Sequence[int] | None = None,
    agenda: dict[int, tuple[str, bytes]] | None = None,
) -> InvitationResult:
    """Mail every participant not yet invited at the current sequence (see the module).

    ``agenda`` maps a conference to its external agenda (file name, bytes), attached
    when given. A participant whose send fails stays due and is named in the result.
    """
    query = select(Conference).where(Conference.scheduled_on >= now.astimezone(SEOUL_ZONE).date())
    if conference_ids is not None:
        query = query.where(Conference.id.in_(conference_ids))
    result = InvitationResult()
    for conference in session.scalars(query.order_by(Conference.scheduled_on, Conference.id)):
        if conference.status == "held":
            continue
        if conference.status == "scheduled":
            try:
                with session.begin_nested():  # a bad roster entry stops this conference only
                    seat_participants(session, conference.id)
            except ValidationError as error:
                result.failed.append(f"conference {conference.id}: {error}")
                continue
        participants = list(
            session.scalars(
                select(ConferenceParticipant)
                .where(ConferenceParticipant.conference_id == conference.id)
                .order_by(ConferenceParticipant.id)
            )
        )
        due = [p for p in participants if p.invited_sequence != conference.sequence]
        if conference.status == "cancelled":
            due = [p for p in due if p.invited_sequence is not None]  # only who was invited
        if not due:
            continue
        town = _town_name(session, conference)
        ics = invitation_ics(conference, participants, town, now)
        method = "CANCEL" if conference.status == "cancelled" else "REQUEST"
        subject = ("[취소] " if method == "CANCEL" else "") + _title(conference, town)
        text = (
            f"{_title(conference, town)}\n일시: {conference.scheduled_on} "
            f"(변경 {conference.sequence}회)\n"
            + ("회의가 취소되었습니다.\n" if method == "CANCEL" else "")
        )
        attachments = [("invite.ics", f"text/calendar; method={method}; charset=utf-8", ics)]
        if agenda and conference.id in agenda and method == "REQUEST":
            name, content = agenda[conference.id]
            attachments.append((name, "text/html; charset=utf-8", content))
        for participant in due:
            assert participant.email is not None
            try:
                mailer.send(participant.email, subject, text, attachments)
            except ExternalServiceError:
                result.failed.append(f"conference {conference.id} participant {participant.id}")
                continue
            participant.invited_sequence, participant.invited_at = conference.sequence, now
            if method == "CANCEL":
                result.cancellations += 1
            else:
                result.sent += 1
    session.flush()
    return result


__all__ = [
    "InvitationResult",
    "Mailer",
    "invitation_ics",
    "seat_participants",
    "send_invitations",
    "valid_address",
]
