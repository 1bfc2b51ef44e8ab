# syntax=docker/dockerfile:1
# The integrated-care platform on the official Airflow image (Python 3.11).
# Built by docker-compose.yml; every Airflow component runs this one image.
FROM apache/airflow:3.3.2-python3.11

# /opt/care is the project root (care_models.config.PROJECT_ROOT): sql/ and expectations/
# resolve relative to it. The airflow user (uid 50000, gid 0) must own it: the editable
# install writes its egg-info there and var/ becomes the care volume (a new named volume
# takes this directory's ownership).
USER root
# Hangul in the printed PDFs needs a Korean font: NanumGothic comes with the Python
# dependency koreanize-matplotlib (care_models.rendering.fonts), no system package.
RUN mkdir -p /opt/care/var/out \
    && chown -R airflow:0 /opt/care \
    && chmod -R g+rwX /opt/care
USER airflow
WORKDIR /opt/care

# Dependencies first (cached while only DAGs change). The image already carries
# apache-airflow 3.3.2; the lock pins it too, so it is used as constraints only.
COPY --chown=airflow:0 pyproject.toml requirements.lock ./
COPY --chown=airflow:0 care_models/ ./care_models/
RUN pip install --no-cache-dir -e /opt/care --constraint /opt/care/requirements.lock

COPY --chown=airflow:0 dags/ ./dags/
COPY --chown=airflow:0 plugins/ ./plugins/
COPY --chown=airflow:0 sql/ ./sql/
COPY --chown=airflow:0 expectations/ ./expectations/

ENV CARE_VAR_DIR=/opt/care/var \
    CARE_OUTPUT_DIR=/opt/care/var/out
