"""The care API: hospitals' FHIR referral endpoint, Task queries and the referral web page.

Built by :func:`care_api.app.create_app`; mounted in Airflow's API server by
``plugins/care_plugin.py`` and runnable alone under uvicorn
(``uvicorn --factory care_api.app:create_app``).
"""
