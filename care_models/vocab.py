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
AGENDA_KINDS = ("new_plan", "review", "escalated", "high_risk", "carried_over")
DECISIONS = ("approve", "open_case", "close_case", "change_plan", "refer_tier2", "defer", "reject")
DEVICE_TYPES = ("smart_plug", "emergency_sensor", "ai_call")
ALERT_STATUSES = ("open", "merged", "resolved", "escalated")
ESCALATION_STEPS = (
    "day1_text_message",
    "day1_door_sticker",
    "day2_home_visit",
    "day2_police_report",
)
FUNDING_SOURCES = ("national", "provincial", "local", "other")  # 국비, 도비/시비, 시·군·구비, 기타
MATCH_REVIEW_STATUSES = ("pending", "merged", "new_client", "dismissed")
