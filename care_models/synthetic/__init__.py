"""The synthetic county for the demo, the tests and benchmarks.

- :mod:`.county`: the county as plain data (pure, seeded).
- :mod:`.load`: writing it to the database, idempotently.
- :mod:`.referrals`: hospital referral Bundles for people in it (and new ones).
"""
