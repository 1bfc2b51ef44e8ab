"""The native stack's processes: start one in a session of its own with its PID and
start time recorded (so a recycled PID is never signalled), stop it (SIGTERM to its
group, SIGKILL to its session after a grace), kill it as if its host died, and list the
members of its session (task runners included).

The standard library only at the top: Airflow imports care_sim.stack in the workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from care_sim.stack_settings import ROOT, Component, Layout, process_env


@dataclass(frozen=True)
class Recorded:
    """A started process: its PID (also its process group) and start time."""

    name: str
    pid: int
    started: str

    def alive(self) -> bool:
        return _start_time(self.pid) == self.started


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return fields[19]


def session_members(sid: int) -> list[int]:
    """Live (not zombie) processes of a session: a component and everything it started,
    task runners included (Airflow puts each in a process group of its own)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            members.append(int(entry.name))
    return members


def kill(process: Recorded, wait: float = 10.0) -> list[int]:
    """SIGKILL every process of the component's session at once (as if its host died),
    and wait until they are gone; the PIDs killed."""
    if not process.alive():
        return []
    members = session_members(process.pid)
    for pid in members:
        with _no_such_process():
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    while session_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return members


def pid_dir(run_dir: Path) -> Path:
    return run_dir / "pids"


def recorded(run_dir: Path) -> list[Recorded]:
    found = []
    for path in sorted(pid_dir(run_dir).glob("*.pid")):
        pid, _, started = path.read_text().strip().partition(" ")
        found.append(Recorded(path.stem, int(pid), started))
    return found


def start(component: Component, layout: Layout, secret: Mapping[str, str]) -> Recorded:
    logs = layout.run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    pid_dir(layout.run_dir).mkdir(parents=True, exist_ok=True)
    env = process_env(layout, secret, care_api=component.care_api, worker=component.worker)
    with (logs / f"{component.name}.log").open("ab") as log:
        process = subprocess.Popen(
            component.argv,
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: down signals the whole group
        )
    started = _start_time(process.pid) or ""
    (pid_dir(layout.run_dir) / f"{component.name}.pid").write_text(f"{process.pid} {started}\n")
    return Recorded(component.name, process.pid, started)


def stop(process: Recorded, grace: float = 30.0) -> None:
    """SIGTERM to the component's process group (if its leader is still the process
    started: a Celery worker then finishes its tasks), then wait until nothing of its
    session is left; SIGKILL to the whole session after ``grace`` seconds."""
    if process.alive():
        with _no_such_process():
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while members := session_members(process.pid):
        if time.monotonic() > deadline:
            for pid in members:
                with _no_such_process():
                    os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def _no_such_process() -> suppress:
    return suppress(ProcessLookupError)
