"""Five years of a county for the pledge benchmark, part 2: other cases, agendas and
decisions, care plans, absences and devices."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bench.pledge_county import (
    AWAY_A_YEAR,
    COUNTY_CASES_FROM,
    DATA_END,
    DECIDED,
    DEFERRED,
    FIRST_DAY,
    HISTORIC_DEVICES_PER_CLIENT,
    HISTORIC_FLEET,
    LAST_DAY,
    NOT_DISCUSSED,
    OTHER_CASES_PER_100_A_MONTH,
    READMITTED,
    REVIEW_DAYS,
    SERVICE_TEMPLATES,
    Build,
)
from care_models.synthetic.county import NEED_CODES as COUNTY_NEED_CODES
from care_models.synthetic.county import NEED_WEIGHTS
from care_models.synthetic.load import HEARTBEAT_MINUTES


def add_other_cases(build: Build) -> str:
    """Cases opened 2022-2024 (not from a hospital), for clients without the county's."""
    days = (COUNTY_CASES_FROM - FIRST_DAY).days
    count = round(OTHER_CASES_PER_100_A_MONTH / 100 * build.clients * days / 30.4)
    cases = build.sql(
        """
        INSERT INTO cases (client_id, town_id, status, priority, high_risk, opened_on,
                           closed_on, lead_staff_id)
        SELECT c.id, c.town_id,
               CASE WHEN o.opened_on + o.span <= :last THEN 'closed' ELSE 'case_managed' END,
               CASE WHEN c.risk_tier = 'at_risk' THEN 2 ELSE 3 END,
               c.risk_tier = 'at_risk' AND c.household_type = 'living_alone',
               o.opened_on,
               CASE WHEN o.opened_on + o.span <= :last THEN o.opened_on + o.span END,
               c.usual_staff_id
        FROM (
          -- (the draw is a column of its own: PostgreSQL reuses an ORDER BY random()'s
          -- value for any other random() of the same row)
          SELECT p.id, :first + floor(p.r * :days)::int AS opened_on,
                 (120 + floor(p.r2 * 600))::int AS span
          FROM (
            SELECT c.id, random() AS pick, random() AS r, random() AS r2
            FROM clients c
            WHERE NOT EXISTS (
              SELECT 1 FROM cases k WHERE k.client_id = c.id AND k.referral_id IS NULL
            )
          ) p
          ORDER BY p.pick
          LIMIT :count
        ) o
        JOIN clients c ON c.id = o.id
        """,
        first=FIRST_DAY,
        days=days,
        count=count,
        last=LAST_DAY,
    )
    build.sql("CREATE TEMP TABLE need_pick (n int PRIMARY KEY, category text, code text)")
    # The county's own need codes, each category as often as the county's cases name it.
    pairs = [
        (category, code)
        for category, weight in NEED_WEIGHTS
        for code in COUNTY_NEED_CODES[category]
        for _ in range(max(1, round(weight / len(COUNTY_NEED_CODES[category]) / 10)))
    ]
    build.connection.execute(
        text("INSERT INTO need_pick VALUES (:n, :k, :c)"),
        [{"n": n, "k": k, "c": c} for n, (k, c) in enumerate(pairs)],
    )
    needs = build.sql(
        """
        INSERT INTO needs (case_id, category, code, status, identified_on)
        SELECT x.id, p.category, p.code, 'decided', x.opened_on
        FROM (
          SELECT cs.id, cs.opened_on, floor(random() * :pairs)::int AS n
          FROM cases cs, generate_series(1, 2) g
          WHERE cs.referral_id IS NULL AND cs.opened_on < :county_from
        ) x
        JOIN need_pick p ON p.n = x.n
        ON CONFLICT DO NOTHING
        """,
        pairs=len(pairs),
        county_from=COUNTY_CASES_FROM,
    )
    return f"{cases} cases opened 2022-2024, {needs} needs"


def add_agendas(build: Build) -> str:
    """Agenda items at the conferences, carried over when not discussed, and decisions."""
    build.sql(
        """
        CREATE TEMP TABLE item_stage AS
        SELECT d.case_id, n.conference_id, n.held_on, d.kind, random() AS r, random() AS r2
        FROM (
          SELECT id AS case_id, town_id AS town_key, opened_on + 2 AS due, 'new_plan' AS kind
          FROM cases
          UNION ALL
          SELECT cs.id, cs.town_id, cs.opened_on + :review * k, 'review'
          FROM cases cs, generate_series(1, 12) k
          WHERE cs.opened_on + :review * k < COALESCE(cs.closed_on, :last + 1)
          UNION ALL
          SELECT id, 0, opened_on + 2, 'high_risk' FROM cases WHERE high_risk
        ) d
        JOIN next_conference n ON n.town_key = d.town_key AND n.day = d.due
        """,
        review=REVIEW_DAYS,
        last=LAST_DAY,
    )
    items = build.sql(
        """
        INSERT INTO agenda_items (conference_id, case_id, kind, position, discussion,
                                  status, added_at)
        SELECT conference_id, case_id, kind,
               row_number() OVER (PARTITION BY conference_id ORDER BY kind, case_id),
               CASE WHEN kind = 'review' AND r2 < 0.6 THEN 'standard' ELSE 'full' END,
               CASE WHEN r < :not_discussed THEN 'not_discussed' ELSE 'discussed' END,
               ((held_on - 3) + time '09:00') AT TIME ZONE 'Asia/Seoul'
        FROM item_stage
        ON CONFLICT DO NOTHING
        """,
        not_discussed=NOT_DISCUSSED,
    )
    carried = build.sql(
        """
        INSERT INTO agenda_items (conference_id, case_id, kind, position, carried_from_id,
                                  discussion, status, added_at)
        SELECT n.conference_id, i.case_id, 'carried_over', 1000 + i.position, i.id,
               i.discussion, 'discussed',
               ((n.held_on - 3) + time '09:00') AT TIME ZONE 'Asia/Seoul'
        FROM agenda_items i
        JOIN conferences c ON c.id = i.conference_id
        JOIN next_conference n ON n.town_key = COALESCE(c.town_id, 0)
                              AND n.day = c.scheduled_on + 1
        WHERE i.status = 'not_discussed'
        ON CONFLICT DO NOTHING
        """
    )
    decisions = build.sql(
        """
        INSERT INTO decisions (agenda_item_id, need_id, category, decision, decided_on,
                               recorded_by, recorded_at, applied_at)
        SELECT x.item_id, x.need_id, x.category,
               CASE
                 WHEN x.r >= :decided THEN 'defer'
                 WHEN x.r2 < 0.50 THEN 'approve'
                 WHEN x.r2 < 0.75 THEN 'link_service'
                 WHEN x.r2 < 0.87 THEN 'change_plan'
                 WHEN x.r2 < 0.92 AND x.tier = 1 THEN 'refer_tier2'
                 WHEN x.r2 < 0.97 AND x.kind = 'review' THEN 'close_case'
                 WHEN x.r2 < 0.97 THEN 'approve'
                 ELSE 'reject'
               END,
               x.scheduled_on, x.staff_code, x.starts_at + interval '2 hours',
               x.starts_at + interval '1 day'
        FROM (
          SELECT i.id AS item_id, i.kind, n.id AS need_id, n.category, c.tier,
                 c.scheduled_on, c.starts_at, s.code AS staff_code,
                 random() AS r, random() AS r2
          FROM agenda_items i
          JOIN conferences c ON c.id = i.conference_id
          JOIN needs n ON n.case_id = i.case_id
          JOIN cases cs ON cs.id = i.case_id
          LEFT JOIN staff s ON s.id = cs.lead_staff_id
          WHERE i.status = 'discussed' AND c.status = 'held'
        ) x
        WHERE x.r < :recorded
        """,
        decided=DECIDED,
        recorded=DECIDED + DEFERRED,
    )
    return f"{items + carried} agenda items ({carried} carried over), {decisions} decisions"


def add_plans(build: Build) -> str:
    """The care plans approved at each new case's conference, and their services."""
    before = build.scalar("SELECT COALESCE(MAX(id), 0) FROM care_plans")
    plans = build.sql(
        """
        INSERT INTO care_plans (client_id, case_id, version, status, valid_from, valid_to,
                                review_due, approved_on)
        SELECT cs.client_id, cs.id,
               100000 + row_number() OVER (PARTITION BY cs.client_id ORDER BY cs.opened_on, cs.id),
               CASE WHEN cs.closed_on IS NULL THEN 'active' ELSE 'closed' END,
               f.held_on, cs.closed_on, f.held_on + :review, f.held_on
        FROM cases cs
        JOIN (
          SELECT i.case_id, MIN(c.scheduled_on) AS held_on
          FROM agenda_items i JOIN conferences c ON c.id = i.conference_id
          WHERE i.kind IN ('new_plan', 'carried_over') AND i.status = 'discussed'
          GROUP BY i.case_id
        ) f ON f.case_id = cs.id
        WHERE NOT EXISTS (SELECT 1 FROM care_plans p WHERE p.case_id = cs.id)
          AND (cs.closed_on IS NULL OR cs.closed_on > f.held_on)
        """,
        review=REVIEW_DAYS,
    )
    # Versions in time order per client (the county's own plans came first).
    build.sql(
        """
        UPDATE care_plans SET version = version + 200000
        WHERE client_id IN (SELECT client_id FROM care_plans WHERE version > 100000)
        """
    )
    build.sql(
        """
        UPDATE care_plans p SET version = v.n
        FROM (
          SELECT id, row_number() OVER (PARTITION BY client_id ORDER BY valid_from, id) AS n
          FROM care_plans WHERE version > 200000
        ) v
        WHERE v.id = p.id
        """
    )
    build.sql(
        "CREATE TEMP TABLE service_templates (n int PRIMARY KEY, origin text, "
        "service_type text, cadence text, contacts int, mode text, skill text, "
        "minutes int, provider text, share float, weeks int)"
    )
    build.connection.execute(
        text(
            "INSERT INTO service_templates VALUES (:n, :origin, :service_type, :cadence, "
            ":contacts, :mode, :skill, :minutes, :provider, :share, :weeks)"
        ),
        [{"n": n, **asdict(t)} for n, t in enumerate(SERVICE_TEMPLATES)],
    )
    services = build.sql(
        """
        INSERT INTO planned_services (care_plan_id, service_type, cadence,
                                      contacts_per_period, mode, required_skill,
                                      duration_min, intensive, provider_id, start_date,
                                      end_date)
        SELECT x.plan_id, t.service_type, t.cadence, t.contacts, t.mode, t.skill,
               t.minutes, false, o.id, x.valid_from,
               CASE WHEN t.weeks IS NULL THEN x.valid_to
                    ELSE LEAST(x.valid_from + 7 * t.weeks, x.valid_to) END
        FROM (
          SELECT p.id AS plan_id, p.valid_from, p.valid_to, t.n, random() AS r
          FROM care_plans p
          JOIN cases cs ON cs.id = p.case_id
          JOIN service_templates t
            ON t.origin = CASE WHEN cs.referral_id IS NULL THEN 'other' ELSE 'referral' END
          WHERE p.id > :before
        ) x
        JOIN service_templates t ON t.n = x.n
        LEFT JOIN organisations o ON o.code = t.provider
        WHERE x.r < t.share
        """,
        before=before,
    )
    return f"{plans} care plans approved at conferences, {services} planned services"


def add_absences(build: Build) -> str:
    readmitted = build.sql(
        """
        INSERT INTO client_absences (client_id, starts_at, until, reason)
        SELECT client_id, starts_at, starts_at + stay * interval '1 day', 'hospital'
        FROM (
          SELECT cs.client_id,
                 ((cs.opened_on + (5 + floor(random() * 175))::int) + time '10:00')
                   AT TIME ZONE 'Asia/Seoul' AS starts_at,
                 3 + floor(random() * 25) AS stay, random() AS r
          FROM cases cs WHERE cs.referral_id IS NOT NULL
        ) x
        WHERE r < :share AND starts_at < :end
        """,
        share=READMITTED,
        end=DATA_END,
    )
    away = build.sql(
        """
        INSERT INTO client_absences (client_id, starts_at, until, reason)
        SELECT client_id, starts_at, starts_at + stay * interval '1 day',
               CASE WHEN r2 < 0.7 THEN 'hospital' ELSE 'away' END
        FROM (
          SELECT k.client_id,
                 ((make_date(y, 1, 1) + floor(random() * 365)::int) + time '09:00')
                   AT TIME ZONE 'Asia/Seoul' AS starts_at,
                 2 + floor(random() * 20) AS stay, random() AS r, random() AS r2
          FROM generate_series(CAST(:first_year AS int), CAST(:last_year AS int)) y
          CROSS JOIN LATERAL (
            SELECT DISTINCT client_id FROM cases
            WHERE referral_id IS NULL AND opened_on <= make_date(y, 12, 31)
              AND (closed_on IS NULL OR closed_on >= make_date(y, 1, 1))
          ) k
        ) x
        WHERE r < :share AND starts_at < :end
        """,
        first_year=FIRST_DAY.year,
        last_year=LAST_DAY.year,
        share=AWAY_A_YEAR,
        end=DATA_END,
    )
    return f"{readmitted + away} absences ({readmitted} re-admissions after discharge)"


def add_devices(build: Build) -> str:
    build.sql(
        "CREATE TEMP TABLE fleet (code text PRIMARY KEY, low float, high float, heartbeat int)"
    )
    low, rows = 0.0, []
    device_types = {
        code: t
        for code, t in build.connection.execute(
            text("SELECT code, device_type FROM organisations WHERE kind = 'vendor'")
        ).all()
    }
    for code, share in HISTORIC_FLEET:
        rows.append(
            {"c": code, "l": low, "h": low + share, "b": HEARTBEAT_MINUTES[device_types[code]]}
        )
        low += share
    build.connection.execute(text("INSERT INTO fleet VALUES (:c, :l, :h, :b)"), rows)
    count = round(HISTORIC_DEVICES_PER_CLIENT * build.clients)
    devices = build.sql(
        """
        INSERT INTO devices (vendor_id, external_id, client_id, device_type, installed_on,
                             status, heartbeat_interval_min, no_change_hours)
        SELECT v.id, v.code || '-H' || lpad(x.n::text, 6, '0'), x.client_id, v.device_type,
               x.installed_on,
               CASE WHEN x.r2 < 0.40 THEN 'removed' WHEN x.r2 < 0.45 THEN 'inactive'
                    ELSE 'active' END,
               f.heartbeat,
               CASE WHEN v.device_type = 'smart_plug' THEN 24 + x.n * 7 % 27 END
        FROM (
          SELECT c.id AS client_id, row_number() OVER () AS n, c.r, c.r2,
                 :first + floor(c.r3 * :days)::int AS installed_on
          FROM (
            SELECT p.* FROM (
              SELECT id, random() AS pick, random() AS r, random() AS r2, random() AS r3
              FROM clients WHERE household_type IN ('living_alone', 'older_couple')
            ) p
            ORDER BY p.pick LIMIT :count
          ) c
        ) x
        JOIN fleet f ON x.r >= f.low AND x.r < f.high
        JOIN organisations v ON v.code = f.code
        """,
        first=FIRST_DAY,
        days=(COUNTY_CASES_FROM - FIRST_DAY).days,
        count=count,
    )
    return f"{devices} devices installed 2022-2024"
