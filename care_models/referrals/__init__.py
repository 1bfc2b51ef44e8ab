"""Discharge referrals, one module per step.

- :mod:`.store`: receive a hospital's Bundle once, keep it, answer it as a FHIR Task.
- :mod:`.matching`: is the referred person a known client (keyed hashes)?
- :mod:`.triage`: priority from the rules in ``rules/triage.json``.
- :mod:`.intake`: from a received referral to a case with a first visit booked.
- :mod:`.callbacks`: tell hospitals of each Task version.
"""
