"""What the benchmarks share: a scratch environment and a county database in it.

:func:`scratch_environment` gives a temporary folder with its own ``CARE_VAR_DIR``
(and ``AIRFLOW_HOME``) and fresh keys; the shell's ``CARE_`` settings are set aside
for the process, as ``tests/conftest.py`` does, and restored at the end.
:func:`county_database` migrates a SQLite database there and loads a county into it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from care_models import migrations
from care_models.db import make_engine
from care_models.privacy import Vault, generate_key
from care_models.synthetic.county import County
from care_models.synthetic.load import load_county


@dataclass(frozen=True)
class Scratch:
    folder: Path
    vault: Vault


@contextmanager
def scratch_environment(prefix: str) -> Iterator[Scratch]:
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        folder = Path(tmp)
        for name in [n for n in os.environ if n.startswith("CARE_")]:
            del os.environ[name]
        keys = (generate_key(), generate_key(), generate_key())
        (folder / "var").mkdir()
        (folder / "airflow").mkdir()
        os.environ.update(
            {
                "CARE_VAR_DIR": str(folder / "var"),
                "CARE_ENCRYPTION_KEYS": keys[0],
                "CARE_MATCH_KEY": keys[1],
                "CARE_TOKEN_KEY": keys[2],
                "AIRFLOW_HOME": str(folder / "airflow"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "GX_ANALYTICS_ENABLED": "False",
            }
        )
        try:
            yield Scratch(folder, Vault.from_keys([keys[0]], keys[1], keys[2]))
        finally:
            os.environ.clear()
            os.environ.update(saved)


def county_database(url: str, vault: Vault, county: County) -> Engine:
    """A migrated SQLite database holding ``county`` (as load_county writes it)."""
    engine = make_engine(url)
    migrations.upgrade(engine)
    with Session(engine) as session, session.begin():
        load_county(session, vault, county)
    return engine
