"""The demo's conferences: a year of history, the mail relay, decisions through the API.

- :func:`conference_history` runs the synthetic county's last year of conferences by
  the real code (:mod:`care_models.synthetic.conference_history`), so the measures
  have rows and the next agendas carry items over; a second demo adds nothing.
- :func:`mail_relay` starts the SMTP simulator the invitations go to and yields the
  Airflow Connection ``smtp_outbound`` pointing at it.
- After ``care_conferences`` ran, :func:`conference_story` records the decisions of
  the next tier-1 conference with a discharged patient on its agenda through the
  care API's decisions endpoint (a coordinator's staff token), applies their effects
  as of the conference's day, and prints what the county would see.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.conferences.effects import apply_effects
from care_models.conferences.measures import conference_measures
from care_models.conferences.workflow import agenda_folder
from care_models.config import Settings
from care_models.db import engine_from_settings, session_factory, transaction
from care_models.rendering.labels import AGENDA_KIND_LABELS, NEED_CATEGORY_LABELS
from care_models.schema import AgendaItem, Case, Conference, Need, Referral, Town
from care_models.synthetic.conference_history import simulate_conferences
from care_models.tokens import development_token
from care_models.workdays import seoul_today
from care_sim.smtp_server import SmtpSimulator

CHAIR = "S0001"
SERVICES = {  # what the demo's chair links for each need category
    "health_medical": ("P-NURSING", "home_nursing", "weekly"),
    "care_ltc": ("P-HOMECARE", "monitoring", "twice_monthly"),
    "daily_living": ("P-MEALS", "nutrition", "monthly"),
}


def _history_window() -> tuple[dt.date, dt.date]:
    today = seoul_today()
    return today - dt.timedelta(days=365), today - dt.timedelta(days=1)


def conference_history(settings: Settings) -> None:
    start, end = _history_window()
    engine = engine_from_settings(settings)
    try:
        with transaction(session_factory(engine)) as session:
            made = simulate_conferences(session, start, end)
    finally:
        engine.dispose()
    print(
        f"==> a year of conferences ({start}..{end}), by the real code: {made.conferences_held} "
        f"held, {made.items} agenda items, {made.decisions} decisions"
        + (" (already there)" if not made.conferences_held else "")
    )


@contextmanager
def mail_relay() -> Iterator[tuple[SmtpSimulator, dict[str, str]]]:
    with SmtpSimulator() as relay:
        connection = {"conn_type": "smtp", "host": "127.0.0.1", "port": relay.port}
        print(f"==> mail relay (SMTP simulator) on 127.0.0.1:{relay.port}")
        yield relay, {"AIRFLOW_CONN_SMTP_OUTBOUND": json.dumps(connection)}


def _upcoming(session: Session) -> list[Conference]:
    today = seoul_today()
    return list(
        session.scalars(
            select(Conference)
            .where(Conference.scheduled_on >= today, Conference.status == "scheduled")
            .order_by(Conference.scheduled_on, Conference.tier, Conference.id)
        )
    )


def _chosen(session: Session, upcoming: list[Conference]) -> tuple[Conference, list[int]] | None:
    """The next tier-1 conference with a discharged patient's case on its agenda."""
    for conference in upcoming:
        if conference.tier != 1:
            continue
        cases = list(
            session.scalars(
                select(AgendaItem.case_id)
                .join(Case, Case.id == AgendaItem.case_id)
                .where(AgendaItem.conference_id == conference.id, Case.referral_id.is_not(None))
                .order_by(AgendaItem.position)
            )
        )
        if cases:
            return conference, cases[:3]
    return None


def _decide(
    api_url: str, token: str, conference_id: int, case_id: int, needs: list[tuple[int, str]]
) -> int:
    decisions = []
    for need_id, category in needs:
        if category in SERVICES:
            provider, service, cadence = SERVICES[category]
            decisions.append(
                {
                    "need_id": need_id,
                    "decision": "link_service",
                    "reason": "퇴원 후 서비스 연계",
                    "provider_code": provider,
                    "service_type": service,
                    "cadence": cadence,
                    "amount": 1,
                }
            )
        else:
            decisions.append({"need_id": need_id, "decision": "approve", "reason": "계획 승인"})
    answer = httpx.post(
        f"{api_url}/staff/api/conferences/{conference_id}/decisions",
        json={"case_id": case_id, "decisions": decisions},
        headers={"Authorization": f"Bearer {token}", "X-Care-Staff": CHAIR},
        timeout=30,
    )
    answer.raise_for_status()
    return len(answer.json()["decision_ids"])


def conference_story(settings: Settings, api_url: str, relay: SmtpSimulator) -> None:
    engine = engine_from_settings(settings)
    try:
        _story(settings, engine, api_url, relay)
    finally:
        engine.dispose()


def _story(settings: Settings, engine: object, api_url: str, relay: SmtpSimulator) -> None:
    factory = session_factory(engine)  # type: ignore[arg-type]
    with factory() as session:
        upcoming = _upcoming(session)
        towns = dict(session.execute(select(Town.id, Town.name)).all())
        print("==> conferences: the next of each tier (holiday moves shown)")
        for tier in (1, 2):
            first = next((c for c in upcoming if c.tier == tier), None)
            if first is not None:
                where = towns.get(first.town_id, "") if first.town_id else "군 전체"
                print(
                    f"    tier {tier}: {first.scheduled_on} {where} (agenda {first.agenda_status})"
                )
        for moved in [c for c in upcoming if c.move_reason][:4]:
            change = f"{moved.rule_date} -> {moved.scheduled_on}"
            print(f"    moved: tier {moved.tier} {change} ({moved.move_reason})")
        built = [
            c
            for c in upcoming
            if session.scalar(select(AgendaItem.id).where(AgendaItem.conference_id == c.id))
        ]
        if built:
            nearest = built[0]
            kinds = Counter(
                session.scalars(
                    select(AgendaItem.kind).where(AgendaItem.conference_id == nearest.id)
                )
            )
            sizes = ", ".join(
                f"{AGENDA_KIND_LABELS.get(k, k)} {n}" for k, n in sorted(kinds.items())
            )
            place = towns.get(nearest.town_id, "") if nearest.town_id else "군 전체"
            print(f"    agenda of {nearest.scheduled_on} ({place}): {sizes}")
            folder = agenda_folder(settings.output_dir, nearest)
            if folder.is_dir():
                print(f"      external copy: {folder / 'agenda.html'} and agenda.pdf")
        print(f"    invitations sent to the mail relay: {len(relay.messages)} (.ics REQUEST each)")
        chosen = _chosen(session, upcoming)
    if chosen is None:
        print("    no discharged patient is on an agenda yet: no decisions recorded")
    else:
        _record_and_apply(settings, factory, api_url, *chosen)
    start, end = _history_window()
    with factory() as session:
        figures = conference_measures(session, start, end + dt.timedelta(days=1))
    rates = ", ".join(
        f"{NEED_CATEGORY_LABELS.get(c, c)} {row['rate']}%"
        for c, row in figures.by_category.items()
        if row["needs"]
    )
    overall = f"{figures.needs} needs, {figures.decided} decided ({figures.decision_rate}%)"
    print(f"    last year: {overall}: {rates}")
    print("    python -m care_models conferences measures --from ... --to ...")
    print("    the chair's copy and the decision forms: /staff/conferences in the care API")


def _record_and_apply(
    settings: Settings, factory: object, api_url: str, conference: Conference, cases: list[int]
) -> None:
    token = development_token(settings, "staff", CHAIR)
    recorded = 0
    with factory() as session:  # type: ignore[operator]
        needs = {
            case_id: [
                (n.id, n.category)
                for n in session.scalars(
                    select(Need).where(Need.case_id == case_id).order_by(Need.id)
                )
            ]
            for case_id in cases
        }
    for case_id in cases:
        recorded += _decide(api_url, token, conference.id, case_id, needs[case_id])
    now = dt.datetime.now(dt.UTC)
    with transaction(factory) as session:  # type: ignore[arg-type]
        effects = apply_effects(session, conference.scheduled_on, now)  # as of the conference's day
        tasks = Counter(
            f"{status} ({business})" if business else status
            for status, business in session.execute(
                select(Referral.status, Referral.business_status)
                .join(Case, Case.referral_id == Referral.id)
                .where(Case.id.in_(cases))
            )
        )
    print(
        f"    decisions for {len(cases)} discharged patients at {conference.scheduled_on}, "
        f"recorded through the API: {recorded}; applied as of that day: "
        f"{effects.plans_activated} plans activated, {effects.services_linked} services linked"
    )
    print(
        "    their Tasks as the hospitals read them: "
        + ", ".join(f"{k} {n}" for k, n in tasks.items())
    )
