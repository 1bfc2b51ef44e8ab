"""care database: the whole domain

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:03:04.193860
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "gate_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=60), nullable=False),
        sa.Column("suite", sa.String(length=100), nullable=False),
        sa.Column("run_key", sa.String(length=200), nullable=True),
        sa.Column(
            "ran_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("rows_evaluated", sa.Integer(), nullable=False),
        sa.Column("rows_failed", sa.Integer(), nullable=False),
        sa.Column("expectations_evaluated", sa.Integer(), nullable=False),
        sa.Column("failed_expectations", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_results")),
    )
    op.create_table(
        "pledge_programs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("municipality", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("goal", sa.Text(), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("start_year", sa.Integer(), nullable=False),
        sa.Column("end_year", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledge_programs")),
        sa.UniqueConstraint("code", name=op.f("uq_pledge_programs_code")),
    )
    op.create_table(
        "sync_watermarks",
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("watermark", sa.String(length=60), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_sync_watermarks")),
    )
    op.create_table(
        "towns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("urban", sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind IN ('eup', 'myeon', 'dong')", name=op.f("ck_towns_kind")),
        sa.CheckConstraint(
            "latitude BETWEEN 33 AND 39 AND longitude BETWEEN 124 AND 132",
            name=op.f("ck_towns_in_korea"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_towns")),
        sa.UniqueConstraint("code", name=op.f("uq_towns_code")),
    )
    op.create_table(
        "visit_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("horizon_start", sa.Date(), nullable=False),
        sa.Column("horizon_end", sa.Date(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("total_km", sa.Double(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_plans")),
        sa.UniqueConstraint(
            "horizon_start",
            "horizon_end",
            "revision",
            name=op.f("uq_visit_plans_horizon_start_horizon_end_revision"),
        ),
    )
    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("funding_source", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("planned", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("executed", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.CheckConstraint(
            "funding_source IN ('national', 'provincial', 'local', 'other')",
            name=op.f("ck_budgets_funding_source"),
        ),
        sa.CheckConstraint("planned >= 0", name=op.f("ck_budgets_planned_not_negative")),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["pledge_programs.id"],
            name=op.f("fk_budgets_program_id_pledge_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budgets")),
        sa.UniqueConstraint(
            "program_id",
            "funding_source",
            "period",
            name=op.f("uq_budgets_program_id_funding_source_period"),
        ),
    )
    op.create_table(
        "conferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_on", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("form", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.CheckConstraint("form IN ('video', 'in_person')", name=op.f("ck_conferences_form")),
        sa.CheckConstraint(
            "status IN ('scheduled', 'held', 'cancelled')", name=op.f("ck_conferences_status")
        ),
        sa.CheckConstraint("tier IN (1, 2)", name=op.f("ck_conferences_tier")),
        sa.ForeignKeyConstraint(
            ["town_id"], ["towns.id"], name=op.f("fk_conferences_town_id_towns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conferences")),
        sa.UniqueConstraint(
            "tier", "town_id", "scheduled_on", name=op.f("uq_conferences_tier_town_id_scheduled_on")
        ),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("in_county", sa.Boolean(), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("identifier_system", sa.String(length=200), nullable=True),
        sa.Column("api_token_hash", sa.String(length=64), nullable=True),
        sa.Column("fhir_base_url", sa.String(length=300), nullable=True),
        sa.Column("callback_url", sa.String(length=300), nullable=True),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("device_type", sa.String(length=20), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "device_type IN ('smart_plug', 'emergency_sensor', 'ai_call')",
            name=op.f("ck_organisations_device_type"),
        ),
        sa.CheckConstraint(
            "kind IN ('hospital', 'provider', 'vendor')", name=op.f("ck_organisations_kind")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["towns.id"], name=op.f("fk_organisations_town_id_towns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("api_token_hash", name=op.f("uq_organisations_api_token_hash")),
        sa.UniqueConstraint("code", name=op.f("uq_organisations_code")),
    )
    op.create_table(
        "pledge_indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("overall_target", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("formula", sa.Text(), nullable=True),
        sa.Column("data_source", sa.String(length=200), nullable=True),
        sa.Column("collection_method", sa.String(length=200), nullable=True),
        sa.Column("query_name", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["pledge_programs.id"],
            name=op.f("fk_pledge_indicators_program_id_pledge_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledge_indicators")),
        sa.UniqueConstraint(
            "program_id", "code", name=op.f("uq_pledge_indicators_program_id_code")
        ),
    )
    op.create_table(
        "quarantined_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gate_result_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=60), nullable=False),
        sa.Column("row_key", sa.String(length=120), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column(
            "quarantined_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["gate_result_id"],
            ["gate_results.id"],
            name=op.f("fk_quarantined_rows_gate_result_id_gate_results"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_rows")),
        sa.UniqueConstraint(
            "stage", "row_key", "rule", name=op.f("uq_quarantined_rows_stage_row_key_rule")
        ),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("office_town_id", sa.Integer(), nullable=False),
        sa.Column("work_start", sa.Time(), nullable=False),
        sa.Column("work_end", sa.Time(), nullable=False),
        sa.Column("lunch_start", sa.Time(), nullable=True),
        sa.Column("lunch_end", sa.Time(), nullable=True),
        sa.Column("max_visits_per_day", sa.Integer(), nullable=False),
        sa.Column("feed_token_hash", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "role IN ('nurse', 'social_worker', 'doctor', 'rehabilitation', 'nutrition', 'team_lead')",
            name=op.f("ck_staff_role"),
        ),
        sa.CheckConstraint("max_visits_per_day > 0", name=op.f("ck_staff_max_visits_positive")),
        sa.CheckConstraint("work_start < work_end", name=op.f("ck_staff_working_hours_order")),
        sa.ForeignKeyConstraint(
            ["office_town_id"], ["towns.id"], name=op.f("fk_staff_office_town_id_towns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("code", name=op.f("uq_staff_code")),
        sa.UniqueConstraint("feed_token_hash", name=op.f("uq_staff_feed_token_hash")),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name_enc", sa.Text(), nullable=False),
        sa.Column("rrn_enc", sa.Text(), nullable=True),
        sa.Column("birth_date_enc", sa.Text(), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("address_enc", sa.Text(), nullable=False),
        sa.Column("rrn_hash", sa.String(length=64), nullable=True),
        sa.Column("name_birth_phone_hash", sa.String(length=64), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("household_type", sa.String(length=30), nullable=False),
        sa.Column("risk_tier", sa.String(length=20), nullable=False),
        sa.Column("ltc_grade", sa.String(length=10), nullable=False),
        sa.Column("basic_livelihood", sa.Boolean(), nullable=False),
        sa.Column("medical_aid", sa.Boolean(), nullable=False),
        sa.Column("consent_given", sa.Boolean(), nullable=False),
        sa.Column("consent_date", sa.Date(), nullable=True),
        sa.Column("preferred_window_start", sa.Time(), nullable=True),
        sa.Column("preferred_window_end", sa.Time(), nullable=True),
        sa.Column("usual_staff_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "household_type IN ('living_alone', 'older_couple', 'severe_illness_pair', 'with_family', 'other')",
            name=op.f("ck_clients_household_type"),
        ),
        sa.CheckConstraint(
            "ltc_grade IN ('1', '2', '3', '4', '5', 'cognitive', 'A', 'B', 'none')",
            name=op.f("ck_clients_ltc_grade"),
        ),
        sa.CheckConstraint(
            "risk_tier IN ('at_risk', 'caution', 'interest', 'closed')",
            name=op.f("ck_clients_risk_tier"),
        ),
        sa.CheckConstraint("sex IN ('female', 'male')", name=op.f("ck_clients_sex")),
        sa.CheckConstraint(
            "latitude IS NULL OR (latitude BETWEEN 33 AND 39 AND longitude BETWEEN 124 AND 132)",
            name=op.f("ck_clients_in_korea"),
        ),
        sa.ForeignKeyConstraint(["town_id"], ["towns.id"], name=op.f("fk_clients_town_id_towns")),
        sa.ForeignKeyConstraint(
            ["usual_staff_id"], ["staff.id"], name=op.f("fk_clients_usual_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("code", name=op.f("uq_clients_code")),
        sa.UniqueConstraint("rrn_hash", name=op.f("uq_clients_rrn_hash")),
    )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index(
            "ix_clients_name_birth_phone_hash", ["name_birth_phone_hash"], unique=False
        )

    op.create_table(
        "conference_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("discipline", sa.String(length=30), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "staff_id IS NOT NULL OR organisation_id IS NOT NULL",
            name=op.f("ck_conference_participants_who"),
        ),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conferences.id"],
            name=op.f("fk_conference_participants_conference_id_conferences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_conference_participants_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_conference_participants_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference_participants")),
        sa.UniqueConstraint(
            "conference_id",
            "staff_id",
            "organisation_id",
            name=op.f("uq_conference_participants_conference_id_staff_id_organisation_id"),
        ),
    )
    op.create_table(
        "indicator_actuals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("actual", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source IN ('computed', 'reported')", name=op.f("ck_indicator_actuals_source")
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["pledge_indicators.id"],
            name=op.f("fk_indicator_actuals_indicator_id_pledge_indicators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_actuals")),
        sa.UniqueConstraint(
            "indicator_id", "period", name=op.f("uq_indicator_actuals_indicator_id_period")
        ),
    )
    op.create_table(
        "indicator_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("target", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["pledge_indicators.id"],
            name=op.f("fk_indicator_targets_indicator_id_pledge_indicators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_targets")),
        sa.UniqueConstraint(
            "indicator_id", "period", name=op.f("uq_indicator_targets_indicator_id_period")
        ),
    )
    op.create_table(
        "staff_leave",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.CheckConstraint("start_date <= end_date", name=op.f("ck_staff_leave_leave_order")),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_staff_leave_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_leave")),
        sa.UniqueConstraint(
            "staff_id", "start_date", name=op.f("uq_staff_leave_staff_id_start_date")
        ),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=60), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("device_type", sa.String(length=20), nullable=False),
        sa.Column("installed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "device_type IN ('smart_plug', 'emergency_sensor', 'ai_call')",
            name=op.f("ck_devices_device_type"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'inactive', 'removed')", name=op.f("ck_devices_status")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_devices_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["organisations.id"], name=op.f("fk_devices_vendor_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint(
            "vendor_id", "external_id", name=op.f("uq_devices_vendor_id_external_id")
        ),
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("identifier_system", sa.String(length=200), nullable=False),
        sa.Column("identifier_value", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("raw_payload_enc", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("task_version", sa.Integer(), nullable=False),
        sa.Column(
            "last_updated",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("admission_date", sa.Date(), nullable=True),
        sa.Column("discharge_date", sa.Date(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("triage_reason", sa.Text(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("source IN ('push', 'pull', 'web')", name=op.f("ck_referrals_source")),
        sa.CheckConstraint(
            "status IN ('received', 'accepted', 'rejected', 'in-progress', 'completed', 'cancelled', 'on-hold')",
            name=op.f("ck_referrals_status"),
        ),
        sa.CheckConstraint("priority IN (1, 2, 3)", name=op.f("ck_referrals_priority")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_referrals_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["organisations.id"],
            name=op.f("fk_referrals_hospital_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint(
            "hospital_id",
            "identifier_system",
            "identifier_value",
            name=op.f("uq_referrals_hospital_id_identifier_system_identifier_value"),
        ),
    )
    op.create_table(
        "unplanned_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_plan_id", sa.Integer(), nullable=False),
        sa.Column("contact_key", sa.String(length=120), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("service_type", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_unplanned_contacts_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["visit_plan_id"],
            ["visit_plans.id"],
            name=op.f("fk_unplanned_contacts_visit_plan_id_visit_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unplanned_contacts")),
        sa.UniqueConstraint(
            "visit_plan_id",
            "contact_key",
            name=op.f("uq_unplanned_contacts_visit_plan_id_contact_key"),
        ),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=80), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "severity IN ('info', 'warning', 'critical')", name=op.f("ck_alerts_severity")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'merged', 'resolved', 'escalated')", name=op.f("ck_alerts_status")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_alerts_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_alerts_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["alerts.id"], name=op.f("fk_alerts_merged_into_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["organisations.id"], name=op.f("fk_alerts_vendor_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint(
            "vendor_id", "external_id", name=op.f("uq_alerts_vendor_id_external_id")
        ),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("town_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("high_risk", sa.Boolean(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("lead_staff_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'case_managed', 'service_linked', 'closed')",
            name=op.f("ck_cases_status"),
        ),
        sa.CheckConstraint("priority IN (1, 2, 3)", name=op.f("ck_cases_priority")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_cases_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["lead_staff_id"], ["staff.id"], name=op.f("fk_cases_lead_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_cases_referral_id_referrals")
        ),
        sa.ForeignKeyConstraint(["town_id"], ["towns.id"], name=op.f("fk_cases_town_id_towns")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("referral_id", name=op.f("uq_cases_referral_id")),
    )
    op.create_table(
        "match_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("candidate_client_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=50), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'merged', 'new_client', 'dismissed')",
            name=op.f("ck_match_reviews_status"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_match_reviews_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_reviews")),
        sa.UniqueConstraint("referral_id", name=op.f("uq_match_reviews_referral_id")),
    )
    op.create_table(
        "referral_status_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("callback_delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("callback_attempts", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('received', 'accepted', 'rejected', 'in-progress', 'completed', 'cancelled', 'on-hold')",
            name=op.f("ck_referral_status_events_status"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_status_events_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_status_events")),
        sa.UniqueConstraint(
            "referral_id", "version", name=op.f("uq_referral_status_events_referral_id_version")
        ),
    )
    op.create_table(
        "agenda_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("carried_from_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('new_plan', 'review', 'escalated', 'high_risk', 'carried_over')",
            name=op.f("ck_agenda_items_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["carried_from_id"],
            ["agenda_items.id"],
            name=op.f("fk_agenda_items_carried_from_id_agenda_items"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_agenda_items_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conferences.id"],
            name=op.f("fk_agenda_items_conference_id_conferences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_items")),
        sa.UniqueConstraint(
            "conference_id",
            "case_id",
            "kind",
            name=op.f("uq_agenda_items_conference_id_case_id_kind"),
        ),
    )
    op.create_table(
        "care_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("review_due", sa.Date(), nullable=True),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'approved', 'active', 'closed')", name=op.f("ck_care_plans_status")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_care_plans_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_care_plans_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plans")),
        sa.UniqueConstraint("client_id", "version", name=op.f("uq_care_plans_client_id_version")),
    )
    op.create_table(
        "needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("identified_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "category IN ('housing', 'health_medical', 'care_ltc', 'daily_living', 'safety_other')",
            name=op.f("ck_needs_category"),
        ),
        sa.CheckConstraint(
            "status IN ('identified', 'decided', 'met', 'unmet')", name=op.f("ck_needs_status")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_needs_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_needs")),
        sa.UniqueConstraint(
            "case_id", "category", "code", name=op.f("uq_needs_case_id_category_code")
        ),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "category IN ('housing', 'health_medical', 'care_ltc', 'daily_living', 'safety_other')",
            name=op.f("ck_decisions_category"),
        ),
        sa.CheckConstraint(
            "decision IN ('approve', 'open_case', 'close_case', 'change_plan', 'refer_tier2', 'defer', 'reject')",
            name=op.f("ck_decisions_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_decisions_agenda_item_id_agenda_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["need_id"], ["needs.id"], name=op.f("fk_decisions_need_id_needs")),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["organisations.id"],
            name=op.f("fk_decisions_provider_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint(
            "agenda_item_id", "need_id", name=op.f("uq_decisions_agenda_item_id_need_id")
        ),
    )
    op.create_table(
        "planned_services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("care_plan_id", sa.Integer(), nullable=False),
        sa.Column("service_type", sa.String(length=30), nullable=False),
        sa.Column("cadence", sa.String(length=30), nullable=False),
        sa.Column("contacts_per_period", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("required_skill", sa.String(length=20), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("intensive", sa.Boolean(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "cadence IN ('monthly', 'twice_monthly', 'weekly', 'every_other_month', 'quarterly', 'every_six_months', 'package', 'once')",
            name=op.f("ck_planned_services_cadence"),
        ),
        sa.CheckConstraint("mode IN ('visit', 'phone')", name=op.f("ck_planned_services_mode")),
        sa.CheckConstraint(
            "required_skill IN ('doctor', 'nurse', 'social_worker', 'rehabilitation', 'nutrition')",
            name=op.f("ck_planned_services_required_skill"),
        ),
        sa.CheckConstraint(
            "service_type IN ('home_doctor', 'home_nursing', 'discharge_nursing', 'rehabilitation', 'nutrition', 'monitoring', 'escort', 'first_assessment')",
            name=op.f("ck_planned_services_service_type"),
        ),
        sa.CheckConstraint(
            "contacts_per_period > 0", name=op.f("ck_planned_services_contacts_positive")
        ),
        sa.CheckConstraint("duration_min > 0", name=op.f("ck_planned_services_duration_positive")),
        sa.ForeignKeyConstraint(
            ["care_plan_id"],
            ["care_plans.id"],
            name=op.f("fk_planned_services_care_plan_id_care_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["organisations.id"],
            name=op.f("fk_planned_services_provider_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_services")),
        sa.UniqueConstraint(
            "care_plan_id",
            "service_type",
            "mode",
            name=op.f("uq_planned_services_care_plan_id_service_type_mode"),
        ),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("natural_key", sa.String(length=120), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("planned_service_id", sa.Integer(), nullable=True),
        sa.Column("visit_plan_id", sa.Integer(), nullable=True),
        sa.Column("service_type", sa.String(length=30), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("travel_km", sa.Double(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("mode IN ('visit', 'phone')", name=op.f("ck_visits_mode")),
        sa.CheckConstraint(
            "source IN ('plan', 'referral', 'alert', 'manual')", name=op.f("ck_visits_source")
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'booked', 'done', 'missed', 'cancelled')",
            name=op.f("ck_visits_status"),
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_visits_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_visits_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["planned_service_id"],
            ["planned_services.id"],
            name=op.f("fk_visits_planned_service_id_planned_services"),
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_visits_staff_id_staff")),
        sa.ForeignKeyConstraint(
            ["visit_plan_id"], ["visit_plans.id"], name=op.f("fk_visits_visit_plan_id_visit_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("natural_key", name=op.f("uq_visits_natural_key")),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index("ix_visits_client_day", ["client_id", "visit_date"], unique=False)
        batch_op.create_index("ix_visits_staff_day", ["staff_id", "visit_date"], unique=False)

    op.create_table(
        "escalation_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=30), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "step IN ('day1_text_message', 'day1_door_sticker', 'day2_home_visit', 'day2_police_report')",
            name=op.f("ck_escalation_steps_step"),
        ),
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

    op.drop_table("escalation_steps")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_staff_day")
        batch_op.drop_index("ix_visits_client_day")

    op.drop_table("visits")
    op.drop_table("planned_services")
    op.drop_table("decisions")
    op.drop_table("needs")
    op.drop_table("care_plans")
    op.drop_table("agenda_items")
    op.drop_table("referral_status_events")
    op.drop_table("match_reviews")
    op.drop_table("cases")
    op.drop_table("alerts")
    op.drop_table("unplanned_contacts")
    op.drop_table("referrals")
    op.drop_table("devices")
    op.drop_table("staff_leave")
    op.drop_table("indicator_targets")
    op.drop_table("indicator_actuals")
    op.drop_table("conference_participants")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index("ix_clients_name_birth_phone_hash")

    op.drop_table("clients")
    op.drop_table("staff")
    op.drop_table("quarantined_rows")
    op.drop_table("pledge_indicators")
    op.drop_table("organisations")
    op.drop_table("conferences")
    op.drop_table("budgets")
    op.drop_table("visit_plans")
    op.drop_table("towns")
    op.drop_table("sync_watermarks")
    op.drop_table("pledge_programs")
    op.drop_table("gate_results")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_entity")

    op.drop_table("audit_log")
