"""Invitations: RFC 5546 over mail to a local SMTP server, once per sequence."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_hooks.http import RetriesExhausted, RetryPolicy
from care_hooks.mail import MailHook
from care_models.conferences.invitations import seat_participants, send_invitations
from care_models.conferences.schedule import ensure_schedule
from care_models.errors import ValidationError
from care_models.schema import ClosureDay, Conference, ConferenceMember, ConferenceParticipant, Town
from care_sim.smtp_server import SmtpSimulator

TODAY = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)


def mail_hook(monkeypatch: pytest.MonkeyPatch, server: SmtpSimulator) -> MailHook:
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": server.port,
        "login": "care",
        "password": "pw",
    }
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_OUTBOUND", json.dumps(connection))
    return MailHook(policy=RetryPolicy(attempts=3, backoff_seconds=0.01))


def parsed(server: SmtpSimulator, index: int) -> Calendar:
    message = server.messages[index].message
    (ics,) = [
        part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"
    ]
    assert ics.get_param("method") in ("REQUEST", "CANCEL")
    return Calendar.from_ical(ics.get_payload(decode=True))


def first_tier1(session: Session, town: str = "JC-01") -> Conference:
    town_id = session.scalar(select(Town.id).where(Town.code == town))
    found = session.scalars(
        select(Conference)
        .where(Conference.tier == 1, Conference.town_id == town_id, Conference.scheduled_on > TODAY)
        .order_by(Conference.scheduled_on)
    ).first()
    assert found is not None
    return found


def test_invitations_go_once_then_again_when_moved_then_as_a_cancellation(
    county_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(county_engine) as session, session.begin():
        ensure_schedule(session, TODAY)
        meeting = first_tier1(session)
        meeting_id, uid = meeting.id, meeting.uid
    with SmtpSimulator(login=("care", "pw")) as server:
        hook = mail_hook(monkeypatch, server)
        with Session(county_engine) as session, session.begin():
            first = send_invitations(session, hook, NOW, [meeting_id])
            emails = sorted(str(p.email) for p in seat_participants(session, meeting_id))
            again = send_invitations(session, hook, NOW, [meeting_id])
        assert first.sent == len(emails) > 3 and again.sent == 0
        calendar = parsed(server, 0)
        assert str(calendar["METHOD"]) == "REQUEST"
        (event,) = calendar.walk("VEVENT")
        assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 0
        attendees = event.get("ATTENDEE")
        assert len(attendees) == len(emails)
        roles = sorted(a.params["ROLE"] for a in attendees)
        assert roles.count("CHAIR") == 1 and all(a.params["RSVP"] == "TRUE" for a in attendees)
        assert sorted(str(a).removeprefix("mailto:") for a in attendees) == emails
        assert sorted(m.recipients[0] for m in server.messages) == emails

        # the county closes that day: the conference moves, same UID, SEQUENCE 1
        with Session(county_engine) as session, session.begin():
            meeting = session.get(Conference, meeting_id)
            assert meeting is not None
            session.add(ClosureDay(day=meeting.scheduled_on, reason="군 자체 휴무"))
            session.flush()
            ensure_schedule(session, TODAY)
            moved = send_invitations(session, hook, NOW, [meeting_id])
        assert moved.sent == len(emails)
        (event,) = parsed(server, len(emails)).walk("VEVENT")
        assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1

        # then it is cancelled: METHOD:CANCEL, SEQUENCE 2, to those invited
        with Session(county_engine) as session, session.begin():
            meeting = session.get(Conference, meeting_id)
            assert meeting is not None
            meeting.status, meeting.sequence = "cancelled", meeting.sequence + 1
            cancelled = send_invitations(session, hook, NOW, [meeting_id])
        assert cancelled.cancellations == len(emails)
        calendar = parsed(server, 2 * len(emails))
        (event,) = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "CANCEL" and int(event["SEQUENCE"]) == 2
        assert str(event["STATUS"]) == "CANCELLED"
        assert server.messages[-1].message["Subject"].startswith("[취소]")


def test_a_relay_that_refuses_for_a_while_is_retried_and_one_that_stays_down_is_reported(
    county_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(county_engine) as session, session.begin():
        ensure_schedule(session, TODAY)
        meeting_id = first_tier1(session).id
    with SmtpSimulator(login=("care", "pw")) as server:
        hook = mail_hook(monkeypatch, server)
        server.fail_next = 1  # one 451: the hook tries again
        with Session(county_engine) as session, session.begin():
            result = send_invitations(session, hook, NOW, [meeting_id])
        assert result.failed == [] and result.sent > 0
        server.fail_next = 100
        with pytest.raises(RetriesExhausted):
            hook.send("x@example.org", "s", "t", [])
    with Session(county_engine) as session, session.begin():
        later = first_tier1(session, "JC-02").id
    with SmtpSimulator(login=("care", "other")) as server:  # wrong password: 535, permanent
        hook = mail_hook(monkeypatch, server)
        with Session(county_engine) as session, session.begin():
            failed = send_invitations(session, hook, NOW, [later])
            waiting = session.scalars(
                select(ConferenceParticipant.invited_sequence).where(
                    ConferenceParticipant.conference_id == later
                )
            ).all()
        assert failed.sent == 0 and len(failed.failed) == len(waiting)
        assert set(waiting) == {None}  # still due: the next run tries again


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("email", "someone@@example", "email: not a valid address"),
        ("email", "a@example.org\r\nBcc: x@evil.test", "email: not a valid address"),
        ("discipline", "astrology", "discipline: must be a known discipline"),
    ],
)
def test_a_bad_roster_entry_is_refused_naming_the_record_and_nothing_is_seated(
    county_engine: Engine, field: str, value: str, rule: str
) -> None:
    with Session(county_engine) as session, session.begin():
        ensure_schedule(session, TODAY)
        meeting = first_tier1(session)
        member = session.scalars(
            select(ConferenceMember).where(
                ConferenceMember.tier == 1, ConferenceMember.town_id == meeting.town_id
            )
        ).first()
        assert member is not None
        with session.no_autoflush, pytest.raises(ValidationError) as refused:
            # in memory only: the database refuses an unknown discipline too (CHECK)
            setattr(member, field, value)
            seat_participants(session, meeting.id)
        assert f"conference member {member.id}" in str(refused.value) and rule in str(refused.value)
        assert value not in str(refused.value)
        session.expunge(member)
        assert (
            session.scalar(
                select(ConferenceParticipant.id).where(
                    ConferenceParticipant.conference_id == meeting.id
                )
            )
            is None
        )


def test_one_towns_bad_roster_entry_does_not_stop_the_other_towns(
    county_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from care_models.conferences.workflow import prepare_agendas
    from care_models.schema import OperationalAlert

    with Session(county_engine) as session, session.begin():
        ensure_schedule(session, TODAY)
        broken, fine = first_tier1(session, "JC-01"), first_tier1(session, "JC-02")
        broken_id, fine_id = broken.id, fine.id
        member = session.scalars(
            select(ConferenceMember).where(ConferenceMember.town_id == broken.town_id)
        ).first()
        assert member is not None
        member.email = "not an address"
    with SmtpSimulator(login=("care", "pw")) as server:
        hook = mail_hook(monkeypatch, server)
        with Session(county_engine) as session, session.begin():
            result = send_invitations(session, hook, NOW, [broken_id, fine_id])
            prepared = prepare_agendas(session, TODAY, Path(str(tmp_path)))
            alerted = set(
                session.scalars(
                    select(OperationalAlert.entity_id).where(
                        OperationalAlert.kind == "agenda_failed"
                    )
                )
            )
    assert result.sent > 0 and {m.recipients[0] for m in server.messages}
    assert [f.split(":")[0] for f in result.failed] == [f"conference {broken_id}"]
    assert broken_id in prepared.failed and prepared.built > 0
    assert str(broken_id) in alerted and str(fine_id) not in alerted
