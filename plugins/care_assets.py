"""Every Asset of the platform, each URI written once.

The DAG files (which import only the standard library and ``airflow.sdk`` at their
top level) and the care plugin read them from here.
"""

from __future__ import annotations

from airflow.sdk import Asset

REFERRALS_RECEIVED = Asset("care://referrals/received")
"""A referral was recorded by the care API (push) or by ``referral_pull``; triggers
``referral_intake`` (and ``hospital_callbacks``, which tells the hospital of version 1)."""

TASK_VERSIONS = Asset("care://referrals/task-versions")
"""``referral_intake`` answered referrals (new Task versions); triggers ``hospital_callbacks``."""

CASES = Asset("care://cases")
"""Cases opened or changed by ``referral_intake``."""

URGENT_VISITS = Asset("care://visits/urgent")
"""Urgent visits booked by ``referral_intake``; triggers ``home_visit_planning``."""

CARE_PLANS_CHANGED = Asset("care://care-plans/changed")
"""Conference decisions activated plans or linked services; triggers ``home_visit_planning``."""

VISIT_PLAN = Asset("care://visits/plan")
"""The week's visit plan published by ``home_visit_planning``."""

DEVICE_ALERTS_PUSHED = Asset("care://alerts/pushed")
"""A vendor pushed device alerts to the care API (stored); triggers ``device_alert_sync``."""
