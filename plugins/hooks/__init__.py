"""Clients of external systems used by the DAGs.

- :mod:`hooks.fhir_pull`: pull discharge referrals from a hospital's FHIR R4 server.
"""
