"""conferences and alerts workflows: rosters, moves, agendas, decisions; incidents, protocol

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:55:57

New tables: closure days, duty roster, client absences, conference members, vendor
secrets, incidents (one open per client), alert revisions, outbound messages.
The escalation steps now belong to an incident, not an alert: the table had no
writer before, so it is created anew. Coded columns whose vocabulary grew get their
CHECK constraints replaced (SQLite through batch mode, which keeps the others).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

OLD_AGENDA_KINDS = "'new_plan', 'review', 'escalated', 'high_risk', 'carried_over'"
NEW_AGENDA_KINDS = (
    "'new_plan', 'review', 'pending', 'high_risk', 'alert_escalation', 'escalated', 'carried_over'"
)
OLD_DECISIONS = (
    "'approve', 'open_case', 'close_case', 'change_plan', 'refer_tier2', 'defer', 'reject'"
)
NEW_DECISIONS = (
    "'approve', 'change_plan', 'link_service', 'refer_tier2', 'close_case', 'defer', "
    "'open_case', 'reject'"
)
OLD_DEVICE_TYPES = "'smart_plug', 'emergency_sensor', 'ai_call'"
NEW_DEVICE_TYPES = "'smart_plug', 'emergency_sensor', 'ai_call', 'ai_speaker'"
SERVICE_TYPES = (
    "'home_doctor', 'home_nursing', 'discharge_nursing', 'rehabilitation', 'nutrition', "
    "'monitoring', 'escort', 'first_assessment'"
)
CADENCES = (
    "'monthly', 'twice_monthly', 'weekly', 'every_other_month', 'quarterly', "
    "'every_six_months', 'package', 'once'"
)
OLD_STEPS = "'day1_text_message', 'day1_door_sticker', 'day2_home_visit', 'day2_police_report'"
NEW_STEPS = (
    "'critical_notify', 'day1_call', 'day1_text_message', 'day1_door_visit', "
    "'day2_home_visit', 'day2_police_report'"
)


def _replace_check(batch_op, table: str, column: str, values: str) -> None:
    batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
    batch_op.create_check_constraint(column, f"{column} IN ({values})")


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "closure_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_closure_days")),
    )
    op.create_table(
        "conference_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("discipline", sa.String(length=30), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "discipline IN ('health_medical', 'care_ltc', 'housing', 'daily_living', 'safety_other', 'integrated_care', 'provider')",
            name=op.f("ck_conference_members_discipline"),
        ),
        sa.CheckConstraint(
            "role IN ('chair', 'required', 'optional')", name=op.f("ck_conference_members_role")
        ),
        sa.CheckConstraint(
            "staff_id IS NOT NULL OR organisation_id IS NOT NULL",
            name=op.f("ck_conference_members_who"),
        ),
        sa.CheckConstraint("tier IN (1, 2)", name=op.f("ck_conference_members_tier")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_conference_members_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_conference_members_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["towns.id"], name=op.f("fk_conference_members_town_id_towns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference_members")),
    )
    op.create_table(
        "duty_roster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_duty_roster_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_roster")),
        sa.UniqueConstraint("day", name=op.f("uq_duty_roster_day")),
    )
    op.create_table(
        "vendor_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organisations.id"],
            name=op.f("fk_vendor_secrets_vendor_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_secrets")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_vendor_secrets_fingerprint")),
    )
    op.create_table(
        "client_absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "reason IN ('hospital', 'away')", name=op.f("ck_client_absences_reason")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_absences_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_absences")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_step", sa.String(length=30), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=50), nullable=True),
        sa.Column("close_reason", sa.String(length=30), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "close_reason IN ('person_reached', 'whereabouts_known', 'false_alarm', 'found_by_police')",
            name=op.f("ck_incidents_close_reason"),
        ),
        sa.CheckConstraint(
            "current_step IN ('critical_notify', 'day1_call', 'day1_text_message', 'day1_door_visit', 'day2_home_visit', 'day2_police_report')",
            name=op.f("ck_incidents_current_step"),
        ),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_incidents_status")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_incidents_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(
            "uq_incidents_one_open_per_client",
            ["client_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("natural_key", sa.String(length=160), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("conference_id", sa.Integer(), nullable=True),
        sa.Column("recipient_role", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider_message_id", sa.String(length=80), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.CheckConstraint("channel IN ('sms', 'mail')", name=op.f("ck_outbound_messages_channel")),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'delivered', 'failed', 'dead_letter')",
            name=op.f("ck_outbound_messages_status"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_outbound_messages_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conferences.id"],
            name=op.f("fk_outbound_messages_conference_id_conferences"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_outbound_messages_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_outbound_messages_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_messages")),
        sa.UniqueConstraint("natural_key", name=op.f("uq_outbound_messages_natural_key")),
    )
    op.create_table(
        "alert_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("changed_fields", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_revisions_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_revisions")),
        sa.UniqueConstraint(
            "alert_id", "revision", name=op.f("uq_alert_revisions_alert_id_revision")
        ),
    )
    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "discussion", sa.String(length=10), nullable=False, server_default=sa.text("'full'")
            )
        )
        batch_op.add_column(sa.Column("question", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "status", sa.String(length=20), nullable=False, server_default=sa.text("'listed'")
            )
        )
        batch_op.add_column(
            sa.Column(
                "added_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("(CURRENT_TIMESTAMP)"),
                nullable=False,
            )
        )
        _replace_check(batch_op, "agenda_items", "kind", NEW_AGENDA_KINDS)
        batch_op.create_check_constraint("discussion", "discussion IN ('full', 'standard')")
        batch_op.create_check_constraint(
            "status", "status IN ('listed', 'discussed', 'not_discussed')"
        )

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vendor_kind", sa.String(length=60), nullable=True))
        batch_op.add_column(
            sa.Column("suppressed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("suppression_reason", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("passed_to_119", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("revision", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
        batch_op.create_index(
            "ix_alerts_client_occurred", ["client_id", "occurred_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_incident_id_incidents"), "incidents", ["incident_id"], ["id"]
        )

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("guardian_phone_enc", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("guardian_consent", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("conference_participants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column(
                "role", sa.String(length=20), nullable=False, server_default=sa.text("'required'")
            )
        )
        batch_op.add_column(sa.Column("rsvp", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("invited_sequence", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("attended", sa.Boolean(), nullable=True))

    with op.batch_alter_table("conferences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot_key", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("rule_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("uid", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("sequence", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("move_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "agenda_status",
                sa.String(length=10),
                nullable=False,
                server_default=sa.text("'open'"),
            )
        )
        batch_op.add_column(
            sa.Column("agenda_frozen_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("effects_applied_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint(
            batch_op.f("uq_conferences_tier_town_id_scheduled_on"), type_="unique"
        )
        batch_op.create_unique_constraint(batch_op.f("uq_conferences_slot_key"), ["slot_key"])
        batch_op.create_unique_constraint(batch_op.f("uq_conferences_uid"), ["uid"])
        batch_op.create_check_constraint("agenda_status", "agenda_status IN ('open', 'frozen')")
    # No writer held conferences before; any row gets an identity of its own.
    op.execute(
        "UPDATE conferences SET slot_key = 'legacy-' || id, uid = 'legacy-' || id || '@care', "
        "rule_date = scheduled_on"
    )
    with op.batch_alter_table("conferences", schema=None) as batch_op:
        batch_op.alter_column("slot_key", existing_type=sa.String(length=60), nullable=False)
        batch_op.alter_column("rule_date", existing_type=sa.Date(), nullable=False)
        batch_op.alter_column("uid", existing_type=sa.String(length=120), nullable=False)

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_type", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("cadence", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("amount", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("recorded_by", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("amendments", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True))
        _replace_check(batch_op, "decisions", "decision", NEW_DECISIONS)
        batch_op.create_check_constraint("service_type", f"service_type IN ({SERVICE_TYPES})")
        batch_op.create_check_constraint("cadence", f"cadence IN ({CADENCES})")

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "heartbeat_interval_min", sa.Integer(), nullable=False, server_default=sa.text("60")
            )
        )
        batch_op.add_column(
            sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("battery_pct", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("no_change_hours", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("maintenance_until", sa.DateTime(timezone=True), nullable=True)
        )
        _replace_check(batch_op, "devices", "device_type", NEW_DEVICE_TYPES)
        batch_op.create_check_constraint("no_change_hours", "no_change_hours BETWEEN 24 AND 50")
        batch_op.create_check_constraint("battery_pct", "battery_pct BETWEEN 0 AND 100")

    op.drop_table("escalation_steps")
    _create_escalation_steps()

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=120), nullable=True))
        _replace_check(batch_op, "organisations", "device_type", NEW_DEVICE_TYPES)

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("phone_enc", sa.Text(), nullable=True))

    with op.batch_alter_table("towns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conference_weekday", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("conference_time", sa.Time(), nullable=True))
        batch_op.create_check_constraint("conference_weekday", "conference_weekday BETWEEN 0 AND 6")


def _create_escalation_steps() -> None:
    op.create_table(
        "escalation_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"step IN ({NEW_STEPS})", name=op.f("ck_escalation_steps_step")),
        sa.CheckConstraint(
            "status IN ('due', 'done', 'cancelled')", name=op.f("ck_escalation_steps_status")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_escalation_steps_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_escalation_steps_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_escalation_steps_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_steps")),
        sa.UniqueConstraint(
            "incident_id", "step", name=op.f("uq_escalation_steps_incident_id_step")
        ),
    )


def _create_old_escalation_steps() -> None:
    op.create_table(
        "escalation_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=30), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"step IN ({OLD_STEPS})", name=op.f("ck_escalation_steps_step")),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_escalation_steps_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_escalation_steps_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_steps")),
        sa.UniqueConstraint("alert_id", "step", name=op.f("uq_escalation_steps_alert_id_step")),
    )


def downgrade() -> None:
    with op.batch_alter_table("towns", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_towns_conference_weekday"), type_="check")
        batch_op.drop_column("conference_time")
        batch_op.drop_column("conference_weekday")

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("phone_enc")
        batch_op.drop_column("email")

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        _replace_check(batch_op, "organisations", "device_type", OLD_DEVICE_TYPES)
        batch_op.drop_column("email")

    op.drop_table("escalation_steps")
    _create_old_escalation_steps()

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_devices_no_change_hours"), type_="check")
        batch_op.drop_constraint(op.f("ck_devices_battery_pct"), type_="check")
        _replace_check(batch_op, "devices", "device_type", OLD_DEVICE_TYPES)
        batch_op.drop_column("maintenance_until")
        batch_op.drop_column("no_change_hours")
        batch_op.drop_column("battery_pct")
        batch_op.drop_column("last_heartbeat_at")
        batch_op.drop_column("heartbeat_interval_min")

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_decisions_service_type"), type_="check")
        batch_op.drop_constraint(op.f("ck_decisions_cadence"), type_="check")
        _replace_check(batch_op, "decisions", "decision", OLD_DECISIONS)
        batch_op.drop_column("applied_at")
        batch_op.drop_column("amendments")
        batch_op.drop_column("recorded_at")
        batch_op.drop_column("recorded_by")
        batch_op.drop_column("reason")
        batch_op.drop_column("amount")
        batch_op.drop_column("cadence")
        batch_op.drop_column("service_type")

    with op.batch_alter_table("conferences", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_conferences_agenda_status"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_conferences_uid"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_conferences_slot_key"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_conferences_tier_town_id_scheduled_on"),
            ["tier", "town_id", "scheduled_on"],
        )
        batch_op.drop_column("effects_applied_at")
        batch_op.drop_column("agenda_frozen_at")
        batch_op.drop_column("agenda_status")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("move_reason")
        batch_op.drop_column("sequence")
        batch_op.drop_column("uid")
        batch_op.drop_column("rule_date")
        batch_op.drop_column("slot_key")

    with op.batch_alter_table("conference_participants", schema=None) as batch_op:
        batch_op.drop_column("attended")
        batch_op.drop_column("invited_sequence")
        batch_op.drop_column("rsvp")
        batch_op.drop_column("role")
        batch_op.drop_column("email")

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("guardian_consent")
        batch_op.drop_column("guardian_phone_enc")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alerts_incident_id_incidents"), type_="foreignkey")
        batch_op.drop_index("ix_alerts_client_occurred")
        batch_op.drop_column("revision")
        batch_op.drop_column("passed_to_119")
        batch_op.drop_column("incident_id")
        batch_op.drop_column("suppression_reason")
        batch_op.drop_column("suppressed")
        batch_op.drop_column("vendor_kind")

    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_agenda_items_discussion"), type_="check")
        batch_op.drop_constraint(op.f("ck_agenda_items_status"), type_="check")
        _replace_check(batch_op, "agenda_items", "kind", OLD_AGENDA_KINDS)
        batch_op.drop_column("added_at")
        batch_op.drop_column("status")
        batch_op.drop_column("question")
        batch_op.drop_column("discussion")
        batch_op.drop_column("late")

    op.drop_table("alert_revisions")
    op.drop_table("outbound_messages")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_incidents_one_open_per_client",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.drop_table("incidents")
    op.drop_table("client_absences")
    op.drop_table("vendor_secrets")
    op.drop_table("duty_roster")
    op.drop_table("conference_members")
    op.drop_table("closure_days")
