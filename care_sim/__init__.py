"""Simulators of the county's external systems, for the demo and the tests.

- :mod:`care_sim.fhir_server`: a hospital's FHIR R4 server, serving discharge
  referrals (ServiceRequest search with ``_include``/``_revinclude``, paging) with
  injectable faults (HTTP 503, timeouts, a page served twice).
"""
