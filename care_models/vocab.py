"""Controlled vocabularies of the domain (DOMAIN.md); the schema checks them too."""

from __future__ import annotations

TOWN_KINDS = ("eup", "myeon", "dong")  # 읍, 면, 동
ORGANISATION_KINDS = ("hospital", "provider", "vendor")
STAFF_ROLES = ("nurse", "social_worker", "doctor", "rehabilitation", "nutrition", "team_lead")
SKILLS = ("doctor", "nurse", "social_worker", "rehabilitation", "nutrition")
HOUSEHOLD_TYPES = ("living_alone", "older_couple", "severe_illness_pair", "with_family", "other")
RISK_TIERS = ("at_risk", "caution", "interest", "closed")  # 위험, 주의, 관심, 종결
# Long-term-care grades 1-5 and 인지지원, A and B just outside the grades, none.
LTC_GRADES = ("1", "2", "3", "4", "5", "cognitive", "A", "B", "none")
LTC_DIRECTIONS = ("entered", "rose", "fell", "left", "same")
SEXES = ("female", "male")
NEED_CATEGORIES = ("housing", "health_medical", "care_ltc", "daily_living", "safety_other")
CASE_STATUSES = ("open", "case_managed", "service_linked", "closed")
REFERRAL_STATUSES = (
    "received",
    "accepted",
    "rejected",
    "in-progress",
    "completed",
    "cancelled",
    "on-hold",
)
CARE_PLAN_STATUSES = ("draft", "approved", "active", "closed")
SERVICE_TYPES = (
    "home_doctor",
    "home_nursing",
    "discharge_nursing",
    "rehabilitation",
    "nutrition",
    "monitoring",
    "escort",
    "first_assessment",
)
CADENCES = (
    "monthly",
    "twice_monthly",
    "weekly",
    "every_other_month",
    "quarterly",
    "every_six_months",
    "package",
    "once",
)
CONTACT_MODES = ("visit", "phone")
VISIT_STATUSES = ("planned", "booked", "done", "missed", "cancelled")
VISIT_SOURCES = ("plan", "referral", "alert", "manual")
CONFERENCE_TIERS = (1, 2)
# new_plan: a new case needing a plan; review: a plan due for re-assessment or extension;
# pending: decisions still open; high_risk: safety, violence, mental health (tier 2);
# alert_escalation: an open device-alert escalation (tier 2); escalated: referred to tier 2
# by a tier-1 decision; carried_over: not discussed at the last conference of the tier.
AGENDA_KINDS = (
    "new_plan",
    "review",
    "pending",
    "high_risk",
    "alert_escalation",
    "escalated",
    "carried_over",
)
AGENDA_DISCUSSIONS = ("full", "standard")  # full discussion, or standard plan: listed only
AGENDA_ITEM_STATUSES = ("listed", "discussed", "not_discussed")
AGENDA_STATES = ("open", "frozen")
# The disciplines at the table: one per need category, the integrated-care team, providers.
CONFERENCE_DISCIPLINES = (
    "health_medical",
    "care_ltc",
    "housing",
    "daily_living",
    "safety_other",
    "integrated_care",
    "provider",
)
CONFERENCE_ROLES = ("chair", "required", "optional")
DECISIONS = (
    "approve",
    "change_plan",
    "link_service",
    "refer_tier2",
    "close_case",
    "defer",
    "open_case",
    "reject",
)
DEVICE_TYPES = ("smart_plug", "emergency_sensor", "ai_call", "ai_speaker")
ALERT_STATUSES = ("open", "merged", "resolved", "escalated")
ALERT_KINDS = (
    "no_activity",
    "power_no_change",
    "missed_call",
    "abnormal_answer",
    "sos",
    "fire",
    "gas",
    "emergency_button",
    "door",
    "heartbeat_missing",
    "low_battery",
    "device_offline",
    "silent_device",  # raised by the platform: a high-risk client's device silent for a day
)
CRITICAL_ALERT_KINDS = ("sos", "fire", "gas", "emergency_button")
INCIDENT_STATUSES = ("open", "closed")
INCIDENT_CLOSE_REASONS = ("person_reached", "whereabouts_known", "false_alarm", "found_by_police")
ABSENCE_REASONS = ("hospital", "away")
ESCALATION_STEP_STATUSES = ("due", "done", "cancelled")
ESCALATION_STEPS = (
    "critical_notify",
    "day1_call",
    "day1_text_message",
    "day1_door_visit",
    "day2_home_visit",
    "day2_police_report",
)
FUNDING_SOURCES = ("national", "provincial", "local", "other")  # 국비, 도비/시비, 시·군·구비, 기타
MATCH_REVIEW_STATUSES = ("pending", "merged", "new_client", "dismissed")
MESSAGE_CHANNELS = ("sms", "mail")
MESSAGE_STATUSES = ("queued", "sent", "delivered", "failed", "dead_letter")
