"""The care platform's Airflow timetables (registered by ``care_plugin``)."""
