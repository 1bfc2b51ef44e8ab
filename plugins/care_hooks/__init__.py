"""Airflow hooks on the external systems the DAGs talk to.

- :mod:`care_hooks.http`: the one httpx client factory and the one retry policy.
- :mod:`care_hooks.base`: the Connection side shared by the hooks (URL, credentials).
- :mod:`care_hooks.fhir`: :class:`FhirServerHook`, a hospital's FHIR R4 server
  (Connection ``fhir_<code>``); the pull itself is :mod:`care_hooks.fhir_pull`.
- :mod:`care_hooks.callback`: :class:`HospitalCallbackHook`, a hospital's callback
  endpoint for Task status changes (Connection ``callback_<code>``, optional).
"""
