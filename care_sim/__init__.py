"""Simulators of the county's external systems, for the demo and the tests.

- :mod:`care_sim.fhir_server`: a hospital's FHIR R4 server, serving discharge
  referrals (standard ServiceRequest search: only the ``_include``/``_revinclude``
  asked for, ``_sort``, paging; :mod:`care_sim.fhir_search`), optionally behind a
  bearer token or OAuth2 client credentials, with injectable faults (HTTP 503,
  timeouts, a page served twice, malformed pages).
"""
