-- Runs once, on the first start of an empty postgres data volume (docker-entrypoint-initdb.d),
-- as POSTGRES_USER (airflow) connected to POSTGRES_DB (airflow, the Airflow metadata database).
-- The care platform keeps its own data in a separate database on the same server.
CREATE DATABASE care;
