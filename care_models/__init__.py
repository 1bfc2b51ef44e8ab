"""The integrated-care domain: referrals, cases, conferences, visits, alerts, pledges.

Knows nothing of Airflow. Engines and sessions are created by callers (see db.py).
"""
