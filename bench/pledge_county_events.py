"""Five years of a county for the pledge benchmark, part 3: alerts and incidents,
visits, grade changes, and the whole build."""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Connection, Engine, text

from bench.pledge_county import (
    ALERTS_PER_CLIENT,
    DATA_END,
    FIRST_DAY,
    GRADE_OTHER,
    GRADE_ROSE,
    INCIDENT_GAP_HOURS,
    KIND_WEIGHTS,
    LAST_DAY,
    NO_USAGE_CODE,
    OTHER_GRADE_CHANGES,
    REPORT_YEAR,
    RISING,
    VISITS_PER_CLIENT,
    Build,
    add_conferences,
    add_referrals,
    load_base,
    say,
)
from bench.pledge_county_care import (
    add_absences,
    add_agendas,
    add_devices,
    add_other_cases,
    add_plans,
)
from bench.scratch import Scratch
from care_models import migrations, vocab
from care_models.alerts.checklist import DAY2_VISIT_KEY
from care_models.alerts.incidents import DEVICE_HEALTH_KINDS
from care_models.alerts.mapping import load_rules
from care_models.db import make_engine
from care_models.ltc import direction
from care_models.synthetic.county import build_county
from care_models.visits.demand import purpose_of


def add_alerts(build: Build) -> str:
    """Alerts in bursts over each device's years, merged per person into incidents."""
    build.sql(
        """
        CREATE TEMP TABLE device_spans AS
        SELECT id AS device_id, vendor_id, client_id, device_type, first_at, last_at
        FROM (
          SELECT d.*, (d.installed_on + time '00:00') AT TIME ZONE 'Asia/Seoul' AS first_at,
                 CASE WHEN d.status = 'active' THEN CAST(:end AS timestamptz)
                      ELSE LEAST(CAST(:end AS timestamptz),
                                 ((d.installed_on + (365 + floor(random() * 730))::int)
                                   + time '00:00') AT TIME ZONE 'Asia/Seoul')
                 END AS last_at
          FROM devices d
        ) x
        WHERE last_at > first_at
        """,
        end=DATA_END,
    )
    device_days = float(
        build.scalar("SELECT SUM(EXTRACT(EPOCH FROM last_at - first_at)) / 86400 FROM device_spans")
        or 1.0
    )
    mean_burst = 0.4 * 1 + 0.3 * 2 + 0.2 * 3 + 0.1 * 4
    rate = ALERTS_PER_CLIENT * build.clients / mean_burst / device_days
    build.sql(
        """
        CREATE TEMP TABLE episodes AS
        SELECT row_number() OVER () AS episode, e.device_id, e.vendor_id, e.client_id,
               e.device_type, e.first_at + e.r * (e.last_at - e.first_at) AS started_at,
               CASE WHEN e.r2 < 0.4 THEN 1 WHEN e.r2 < 0.7 THEN 2 WHEN e.r2 < 0.9 THEN 3
                    ELSE 4 END AS size
        FROM (
          SELECT s.*, random() AS r, random() AS r2
          FROM (
            SELECT s.*, floor(EXTRACT(EPOCH FROM s.last_at - s.first_at) / 86400 * :rate
                              + random())::int AS bursts
            FROM device_spans s
          ) s, generate_series(1, s.bursts) g
        ) e
        """,
        rate=rate,
    )
    build.sql(
        "CREATE TEMP TABLE kind_pick (device_type text, slot int, kind text, severity text, "
        "vendor_kind text, to_119 bool, PRIMARY KEY (device_type, slot))"
    )
    picks, totals = [], {}
    for device_type, weights in KIND_WEIGHTS.items():
        rules = load_rules(device_type)
        slot = 0
        for kind, weight in weights:
            rule = next(c for c in rules.codes if c.action == "alert" and c.kind == kind)
            code = rule.code
            if code is None:  # a pattern: the plug's hours in the code
                assert rule.pattern and re.fullmatch(rule.pattern, NO_USAGE_CODE)
                code = NO_USAGE_CODE
            for _ in range(weight):
                picks.append(
                    {
                        "t": device_type,
                        "s": slot,
                        "k": kind,
                        "v": rule.severity,
                        "c": code,
                        "f": kind in ("fire", "gas"),
                    }
                )
                slot += 1
        totals[device_type] = slot
    build.connection.execute(text("INSERT INTO kind_pick VALUES (:t, :s, :k, :v, :c, :f)"), picks)
    build.sql(
        """
        CREATE TEMP TABLE alert_stage AS
        SELECT a.id, a.episode, a.j, a.device_id, a.vendor_id, a.client_id, a.occurred_at,
               k.kind, k.severity, k.vendor_kind, k.to_119,
               k.kind = ANY(:health) AS health, k.kind = ANY(:critical) AS critical,
               CAST(NULL AS text) AS suppression
        FROM (
          SELECT row_number() OVER () AS id, e.episode, j, e.device_id, e.vendor_id,
                 e.client_id, e.device_type,
                 e.started_at + (j - 1) * (interval '10 minutes' + random() * interval '50 minutes')
                   AS occurred_at,
                 floor(random() * CASE e.device_type WHEN 'smart_plug' THEN :plug
                   WHEN 'emergency_sensor' THEN :sensor WHEN 'ai_call' THEN :call
                   ELSE :speaker END)::int AS slot
          FROM episodes e, generate_series(1, e.size) j
        ) a
        JOIN kind_pick k ON k.device_type = a.device_type AND k.slot = a.slot
        WHERE a.occurred_at < :end
        """,
        health=sorted(DEVICE_HEALTH_KINDS),
        critical=list(vocab.CRITICAL_ALERT_KINDS),
        plug=totals["smart_plug"],
        sensor=totals["emergency_sensor"],
        call=totals["ai_call"],
        speaker=totals["ai_speaker"],
        end=DATA_END,
    )
    suppressed = build.sql(
        """
        UPDATE alert_stage s SET suppression = 'client_' || a.reason
        FROM client_absences a
        WHERE a.client_id = s.client_id AND a.starts_at <= s.occurred_at
          AND a.until > s.occurred_at AND NOT s.health
        """
    )
    build.sql(
        """
        CREATE TEMP TABLE grouped AS
        SELECT id, client_id,
               SUM(opens) OVER (PARTITION BY client_id ORDER BY occurred_at, id) AS grp
        FROM (
          SELECT id, client_id, occurred_at,
                 CASE WHEN occurred_at - LAG(occurred_at) OVER (
                        PARTITION BY client_id ORDER BY occurred_at, id) <= :gap
                      THEN 0 ELSE 1 END AS opens
          FROM alert_stage WHERE NOT health AND suppression IS NULL
        ) x
        """,
        gap=dt.timedelta(hours=INCIDENT_GAP_HOURS),
    )
    build.sql("CREATE INDEX ON grouped (id)")
    # Closed by the desk: most people reached by the day-1 call within hours, some by
    # the day-2 visit; closing always before the next incident could open.
    build.sql(
        """
        CREATE TEMP TABLE incident_stage AS
        SELECT nextval('incidents_id_seq') AS incident_id, y.client_id, y.grp, y.opened_at,
               y.kind, y.critical, y.alerts,
               y.last_at + y.hours * interval '1 hour' AS closed_at,
               CASE WHEN y.critical THEN 'critical_notify'
                    WHEN y.hours >= 24 THEN 'day2_home_visit' ELSE 'day1_call' END AS step,
               CASE WHEN y.hours >= 24 THEN
                      CASE WHEN y.r3 < 0.8 THEN 'person_reached'
                           WHEN y.r3 < 0.9 THEN 'whereabouts_known' ELSE 'found_by_police' END
                    ELSE
                      CASE WHEN y.r3 < 0.85 THEN 'person_reached'
                           WHEN y.r3 < 0.93 THEN 'whereabouts_known' ELSE 'false_alarm' END
               END AS close_reason
        FROM (
          SELECT z.*,
                 CASE WHEN z.r < 0.75 THEN 0.2 + 5.8 * z.r2
                      WHEN z.r < 0.95 THEN 6 + 18 * z.r2 ELSE 24 + 10 * z.r2 END AS hours
          FROM (
            SELECT g.client_id, g.grp, MIN(s.occurred_at) AS opened_at,
                   MAX(s.occurred_at) AS last_at,
                   (array_agg(s.kind ORDER BY s.occurred_at, s.id))[1] AS kind,
                   bool_or(s.critical) AS critical, COUNT(*) AS alerts,
                   random() AS r, random() AS r2, random() AS r3
            FROM grouped g JOIN alert_stage s ON s.id = g.id
            GROUP BY g.client_id, g.grp
          ) z
        ) y
        """
    )
    build.sql("CREATE INDEX ON incident_stage (client_id, grp)")
    incidents = build.sql(
        """
        INSERT INTO incidents (id, client_id, kind, critical, status, opened_at,
                               current_step, closed_at, closed_by, close_reason)
        SELECT i.incident_id, i.client_id, i.kind, i.critical,
               CASE WHEN i.closed_at < :end THEN 'closed' ELSE 'open' END,
               i.opened_at, i.step,
               CASE WHEN i.closed_at < :end THEN i.closed_at END,
               CASE WHEN i.closed_at < :end THEN st.code END,
               CASE WHEN i.closed_at < :end THEN i.close_reason END
        FROM incident_stage i
        JOIN clients c ON c.id = i.client_id
        LEFT JOIN staff st ON st.id = c.usual_staff_id
        ORDER BY i.incident_id
        """,
        end=DATA_END,
    )
    alerts = build.sql(
        """
        INSERT INTO alerts (vendor_id, external_id, device_id, client_id, kind, severity,
                            occurred_at, received_at, status, payload, vendor_kind,
                            suppressed, suppression_reason, incident_id, passed_to_119,
                            revision)
        SELECT s.vendor_id, v.code || '-E' || s.episode || '-' || s.j, s.device_id,
               s.client_id, s.kind, s.severity, s.occurred_at,
               s.occurred_at + interval '4 minutes',
               CASE WHEN s.health OR s.suppression IS NOT NULL THEN 'resolved'
                    ELSE 'merged' END,
               CAST('{}' AS json), s.vendor_kind, s.suppression IS NOT NULL, s.suppression,
               i.incident_id, s.to_119, 1
        FROM alert_stage s
        JOIN organisations v ON v.id = s.vendor_id
        LEFT JOIN grouped g ON g.id = s.id
        LEFT JOIN incident_stage i ON i.client_id = g.client_id AND i.grp = g.grp
        ORDER BY s.occurred_at, s.id
        """
    )
    prefix, suffix = DAY2_VISIT_KEY.split("{incident_id}")
    day2 = build.sql(
        """
        INSERT INTO visits (natural_key, client_id, staff_id, service_type, mode, purpose,
                            visit_date, start_at, duration_min, status, source,
                            completed_at)
        SELECT :prefix || i.incident_id || :suffix, i.client_id, c.usual_staff_id,
               'monitoring', 'visit', :purpose, v.day,
               (v.day + time '10:00') AT TIME ZONE 'Asia/Seoul', 30, 'done', 'alert',
               (v.day + time '10:30') AT TIME ZONE 'Asia/Seoul'
        FROM incident_stage i
        JOIN clients c ON c.id = i.client_id
        CROSS JOIN LATERAL (
          SELECT CAST(i.opened_at AT TIME ZONE 'Asia/Seoul' AS date) + 1 AS day
        ) v
        WHERE i.step = 'day2_home_visit' AND i.closed_at < :end
        """,
        prefix=prefix,
        suffix=suffix,
        purpose="안부 확인 2일차 방문 (12시까지)",
        end=DATA_END,
    )
    still_open = build.scalar("SELECT COUNT(*) FROM incidents WHERE status = 'open'")
    return (
        f"{alerts} alerts ({suppressed} suppressed while away), {incidents} incidents "
        f"({still_open} open), {day2} day-2 visits"
    )


def add_visits(build: Build) -> str:
    """Visits from the planned services' cadences, up to about VISITS_PER_CLIENT each."""
    build.sql(
        """
        CREATE TEMP TABLE service_spans AS
        SELECT s.id AS ps_id, p.client_id, p.case_id, s.service_type, s.mode,
               s.duration_min, s.start_date AS first_day, x.last_day,
               x.last_day - s.start_date + 1 AS days,
               s.contacts_per_period * (x.last_day - s.start_date + 1)::float
                 / CASE s.cadence WHEN 'weekly' THEN 7 WHEN 'monthly' THEN 30
                     WHEN 'twice_monthly' THEN 30 WHEN 'every_other_month' THEN 61
                     WHEN 'quarterly' THEN 91 WHEN 'every_six_months' THEN 182
                     ELSE x.last_day - s.start_date + 1 END AS nominal
        FROM planned_services s
        JOIN care_plans p ON p.id = s.care_plan_id
        CROSS JOIN LATERAL (
          SELECT LEAST(COALESCE(s.end_date, :last), COALESCE(p.valid_to, :last),
                       CAST(:last AS date)) AS last_day
        ) x
        WHERE x.last_day >= s.start_date
        """,
        last=LAST_DAY,
    )
    have = int(build.scalar("SELECT COUNT(*) FROM visits") or 0)
    nominal = float(build.scalar("SELECT SUM(nominal) FROM service_spans") or 1.0)
    share = max(0.0, VISITS_PER_CLIENT * build.clients - have) / nominal
    build.sql("CREATE TEMP TABLE purposes (service_type text, mode text, purpose text)")
    build.connection.execute(
        text("INSERT INTO purposes VALUES (:t, :m, :p)"),
        [
            {"t": t, "m": m, "p": purpose_of(t, m)}
            for t in vocab.SERVICE_TYPES
            for m in vocab.CONTACT_MODES
        ],
    )
    visits = build.sql(
        """
        INSERT INTO visits (natural_key, client_id, staff_id, case_id, planned_service_id,
                            service_type, mode, purpose, visit_date, start_at, duration_min,
                            status, source, travel_km, completed_at)
        SELECT c.code || ':' || v.service_type || ':' || v.mode || ':'
                 || to_char(v.day, 'YYYY-MM') || ':'
                 || row_number() OVER (PARTITION BY v.client_id, v.service_type, v.mode,
                                       date_trunc('month', v.day) ORDER BY v.day, v.ps_id, v.i),
               v.client_id, c.usual_staff_id, v.case_id, v.ps_id, v.service_type, v.mode,
               pu.purpose, v.day, v.start_at, v.duration_min,
               CASE WHEN v.r < 0.93 THEN 'done' WHEN v.r < 0.97 THEN 'missed'
                    ELSE 'cancelled' END,
               'plan', round((0.5 + 14 * v.r2)::numeric, 1),
               CASE WHEN v.r < 0.93 THEN v.start_at + v.duration_min * interval '1 minute' END
        FROM (
          SELECT w.*, ((w.day + time '09:00') AT TIME ZONE 'Asia/Seoul')
                        + floor(w.r3 * 16) * interval '30 minutes' AS start_at
          FROM (
            SELECT u.*, u.raw + CASE EXTRACT(ISODOW FROM u.raw) WHEN 6 THEN 2 WHEN 7 THEN 1
                                  ELSE 0 END AS day
            FROM (
              SELECT s.ps_id, s.client_id, s.case_id, s.service_type, s.mode, s.duration_min,
                     i, s.first_day + LEAST(s.days - 1,
                       floor((i - 1 + random()) * s.days / s.visits))::int AS raw,
                     random() AS r, random() AS r2, random() AS r3
              FROM (
                SELECT s.*, floor(s.nominal * :share + random())::int AS visits
                FROM service_spans s
              ) s, generate_series(1, s.visits) i
            ) u
          ) w
          WHERE w.day <= :last
        ) v
        JOIN clients c ON c.id = v.client_id
        JOIN purposes pu ON pu.service_type = v.service_type AND pu.mode = v.mode
        ON CONFLICT (natural_key) DO NOTHING
        """,
        share=share,
        last=LAST_DAY,
    )
    total = int(build.scalar("SELECT COUNT(*) FROM visits") or 0)
    return f"{visits} visits from the plans' cadences ({total} visits in all)"


def add_grade_changes(build: Build) -> str:
    """Each year, the clients in care entering or rising in grade, and the others."""
    build.sql(
        "CREATE TEMP TABLE transitions (grp text, slot int, from_grade text, to_grade text, "
        "direction text, PRIMARY KEY (grp, slot))"
    )
    build.connection.execute(
        text("INSERT INTO transitions VALUES (:g, :s, :f, :t, :d)"),
        [
            {"g": group, "s": slot, "f": before, "t": after, "d": direction(before, after)}
            for group, pairs in (("rise", RISING), ("other", OTHER_GRADE_CHANGES))
            for slot, (before, after) in enumerate(pairs)
        ],
    )
    assert all(direction(a, b) in ("entered", "rose") for a, b in RISING)
    changes = build.sql(
        """
        INSERT INTO ltc_grade_changes (client_id, changed_on, from_grade, to_grade,
                                       direction, recorded_by)
        SELECT x.client_id, x.changed_on, t.from_grade, t.to_grade, t.direction,
               COALESCE(st.code, 'ltc_notice')
        FROM (
          SELECT k.client_id,
                 make_date(y, 1, 1) + floor(random() * (make_date(y + 1, 1, 1)
                                                        - make_date(y, 1, 1)))::int
                   AS changed_on,
                 random() AS r, random() AS r2
          FROM generate_series(CAST(:first_year AS int), CAST(:last_year AS int)) y
          CROSS JOIN LATERAL (
            SELECT DISTINCT client_id FROM cases
            WHERE opened_on <= make_date(y, 12, 31)
              AND (closed_on IS NULL OR closed_on >= make_date(y, 1, 1))
          ) k
        ) x
        JOIN transitions t
          ON t.grp = CASE WHEN x.r < :rose THEN 'rise' ELSE 'other' END
         AND t.slot = floor(x.r2 * CASE WHEN x.r < :rose THEN :rising ELSE :others END)
        JOIN clients c ON c.id = x.client_id
        LEFT JOIN staff st ON st.id = c.usual_staff_id
        WHERE x.r < :rose + :other
        ON CONFLICT DO NOTHING
        """,
        first_year=FIRST_DAY.year,
        last_year=LAST_DAY.year,
        rose=GRADE_ROSE,
        other=GRADE_OTHER,
        rising=len(RISING),
        others=len(OTHER_GRADE_CHANGES),
    )
    return f"{changes} long-term-care grade changes"


COUNTED = (
    "clients",
    "staff",
    "referrals",
    "cases",
    "needs",
    "care_plans",
    "planned_services",
    "client_absences",
    "devices",
    "alerts",
    "incidents",
    "visits",
    "conferences",
    "agenda_items",
    "decisions",
    "ltc_grade_changes",
)


def table_counts(connection: Connection) -> dict[str, int]:
    return {
        t: int(connection.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()) for t in COUNTED
    }


def build_database(url: str, scratch: Scratch, clients: int, seed: int) -> tuple[Engine, float]:
    say(
        f"== pledges: five years ({FIRST_DAY.year}-{LAST_DAY.year}) of a {clients}-client "
        f"county on PostgreSQL, then the yearly report for {REPORT_YEAR} against its bare "
        f"actuals queries"
    )
    began = time.perf_counter()
    county = build_county(clients=clients)
    engine = make_engine(url)
    migrations.upgrade(engine)
    say(f"   county built and database migrated in {time.perf_counter() - began:.1f} s")
    with engine.connect() as connection:
        connection.execute(text("SET work_mem = '256MB'"))  # the build's sorts, in memory
        connection.commit()
        build = Build(connection, county, scratch.vault, seed)
        build.step("county (load_county)", lambda: load_base(build))
        build.step("conferences", lambda: add_conferences(build))
        build.step("referrals and their cases", lambda: add_referrals(build))
        build.step("other cases", lambda: add_other_cases(build))
        build.step("agendas and decisions", lambda: add_agendas(build))
        build.step("care plans and services", lambda: add_plans(build))
        build.step("absences", lambda: add_absences(build))
        build.step("devices", lambda: add_devices(build))
        build.step("alerts and incidents", lambda: add_alerts(build))
        build.step("visits", lambda: add_visits(build))
        build.step("grade changes", lambda: add_grade_changes(build))
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    say(f"   {'vacuum analyze':<26} {time.perf_counter() - started:7.1f} s")
    built = time.perf_counter() - began
    with engine.connect() as connection:
        counts = table_counts(connection)
        decided, needs = connection.execute(
            text(
                "SELECT SUM(CASE WHEN d.decision <> 'defer' THEN 1 ELSE 0 END), COUNT(*) "
                "FROM agenda_items i JOIN needs n ON n.case_id = i.case_id "
                "LEFT JOIN decisions d ON d.agenda_item_id = i.id AND d.need_id = n.id "
                "WHERE i.status = 'discussed'"
            )
        ).one()
        closed = connection.execute(
            text("SELECT COUNT(*) FROM incidents WHERE status = 'closed'")
        ).scalar_one()
        from_referrals = connection.execute(
            text("SELECT COUNT(*) FROM cases WHERE referral_id IS NOT NULL")
        ).scalar_one()
        size = connection.execute(
            text("SELECT pg_size_pretty(pg_database_size(current_database()))")
        ).scalar_one()
    say(f"   built in {built:.1f} s ({size}):")
    for name, count in counts.items():
        extra = ""
        if name == "cases":
            extra = f" ({from_referrals} from referrals)"
        elif name == "incidents":
            extra = f" ({closed} closed)"
        elif name == "decisions" and needs:
            extra = f" ({100 * int(decided or 0) / int(needs):.1f}% of {needs} needs decided)"
        say(f"      {name:<18} {count:>10}{extra}")
    return engine, built
