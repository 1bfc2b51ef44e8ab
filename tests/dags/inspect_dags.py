"""Import every DAG file the way a DAG processor would, with database and network access
forbidden, and print what each file defines as JSON (run by test_dag_integrity.py).

Usage: python inspect_dags.py DAGS_FOLDER
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sqlite3
import sys
import time
from pathlib import Path

import airflow.sdk  # Airflow's own start-up may touch its database; DAG files may not.
from airflow.sdk import DAG


class ParseTimeAccess(RuntimeError):
    pass


def _forbid(*_args: object, **_kwargs: object) -> None:
    raise ParseTimeAccess("database or network access while parsing a DAG file")


socket.socket.connect = _forbid  # type: ignore[method-assign]
socket.create_connection = _forbid  # type: ignore[assignment]
sqlite3.connect = _forbid  # type: ignore[assignment]


def inspect(path: Path) -> dict[str, object]:
    spec = importlib.util.spec_from_file_location(f"dagfile_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    started = time.perf_counter()
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # reported, not raised: the test names the file and the error
        return {"file": path.name, "error": f"{type(exc).__name__}: {exc}"}
    elapsed = time.perf_counter() - started
    dags = [value for value in vars(module).values() if isinstance(value, DAG)]
    return {
        "file": path.name,
        "parse_seconds": elapsed,
        "dags": [
            {
                "dag_id": d.dag_id,
                "owner": d.owner,
                "tags": sorted(d.tags),
                "catchup": d.catchup,
                "doc_md": bool(d.doc_md and d.doc_md.strip()),
                "retries": sorted({t.retries for t in d.tasks}),
                "timetable": type(d.timetable).__name__,
                "task_count": len(d.tasks),
                "task_ids": sorted(t.task_id for t in d.tasks),
                "max_active_runs": d.max_active_runs,
                "execution_timeouts": {
                    t.task_id: t.execution_timeout.total_seconds()
                    for t in d.tasks
                    if t.execution_timeout is not None
                },
                "outlets": sorted(
                    {getattr(o, "uri", str(o)) for t in d.tasks for o in (t.outlets or [])}
                ),
            }
            for d in dags
        ],
    }


if __name__ == "__main__":
    assert airflow.sdk
    folder = Path(sys.argv[1])
    print(json.dumps([inspect(p) for p in sorted(folder.glob("*.py"))]))
