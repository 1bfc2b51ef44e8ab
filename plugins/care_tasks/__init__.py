"""The bodies of DAG tasks: Airflow glue (connections, gates) around care_models."""
