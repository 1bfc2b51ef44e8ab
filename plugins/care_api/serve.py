"""Run the care API on its own, one process per core.

    python -m care_api.serve [--host 127.0.0.1] [--port 8000] [--workers N]
                             [--app care_api.app:create_app]

Inside Airflow the API is mounted in Airflow's API server (``care_plugin``); this is
for running it apart, e.g. in front of hospitals on its own host. Each worker is its
own process with its own listening socket on the same port (``SO_REUSEPORT``, Linux
and the BSDs), so the kernel spreads connections evenly over the workers. uvicorn's
own ``--workers`` shares one socket, and the worker quickest to accept can take most
of the connections, leaving one core busy and the other idle.

``--app`` names an app factory (``module:function``) called with no arguments; the
default reads the ``CARE_`` settings from the environment. SIGTERM or Ctrl-C stops
every worker gracefully.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Sequence

DEFAULT_APP = "care_api.app:create_app"


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def run_worker(app: str, host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(app, factory=True, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m care_api.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=_positive, default=os.cpu_count() or 1)
    parser.add_argument("--app", default=DEFAULT_APP, help="app factory, module:function")
    args = parser.parse_args(argv)
    if args.workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        run_worker(args.app, args.host, args.port)
        return 0
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=run_worker, args=(args.app, args.host, args.port), daemon=True)
        for _ in range(args.workers)
    ]
    for worker in workers:
        worker.start()

    stopping: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signum)
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.join()
    # uvicorn shuts down gracefully, then re-raises the signal: a worker we stopped ends
    # "killed by SIGTERM", which is a clean stop here.
    clean = {0, -signal.SIGTERM, -signal.SIGINT} if stopping else {0}
    failed = [w.exitcode for w in workers if w.exitcode not in clean]
    return abs(failed[0] or 1) if failed else 0


if __name__ == "__main__":
    sys.exit(main())
