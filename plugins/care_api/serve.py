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

Slow clients: each worker disconnects a client whose request (headers and body) has
not arrived within ``CARE_API_READ_TIMEOUT_SECONDS`` or grows past the body limit,
and answers 503 beyond ``CARE_API_MAX_CONNECTIONS`` open connections. Development
mode (whose keys may be generated next to the database) binds a loopback address
only: anything else stops at once with one line and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from care_models.config import Settings, load_settings
from care_models.errors import ConfigurationError

DEFAULT_APP = "care_api.app:create_app"
# What a request may carry besides its body (request line and headers).
HEADER_ALLOWANCE = 64 * 1024
SWITCH_INTERVAL_SECONDS = 0.001  # see run_worker


@dataclass(frozen=True)
class Limits:
    """How much a client may take of a worker (passed to spawned workers, so plain data)."""

    read_timeout: float
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.api_read_timeout_seconds, settings.api_max_connections)


class _OneWritePerTurn:
    """A transport whose writes made in one turn of the event loop go out as one.

    uvicorn writes a response's head and its body with a call each; with Nagle's
    algorithm off (as uvloop and asyncio set it), that is two system calls and two TCP
    segments for every answer, and the client reads twice. Joined at the end of the
    turn (``call_soon``), they take one. Closing sends what is held first; everything
    else is the wrapped transport's own.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self._send)
        self._held.append(bytes(data))

    def _send(self) -> None:
        if not self._held:
            return
        data = b"".join(self._held) if len(self._held) > 1 else self._held[0]
        self._held = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def close(self) -> None:
        self._send()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _ReadDeadline(asyncio.Protocol):
    """Disconnects a client that takes too long to make a request.

    uvicorn bounds only the idle time between requests (``timeout_keep_alive``); from
    the first byte (or the connection itself) to the end of the body it waits forever,
    so one byte every few seconds holds a connection and a worker's memory for as long
    as the client likes. A timer armed when a request starts, and cancelled once its
    body is complete, closes the connection. "Complete" is read from the protocol's
    current request cycle (``cycle.more_body``, in both of uvicorn's HTTP/1.1
    implementations), the one thing this relies on beyond ``asyncio.Protocol``.
    Size needs no cap here: the app refuses a declared or streamed body over
    ``CARE_API_MAX_BODY_BYTES`` (413) and uvicorn pauses reading what the app has not
    taken, so a worker never holds more than a body and a read buffer per connection.
    """

    limits: Limits
    _deadline: asyncio.TimerHandle | None = None
    _finished: object = None  # the last request cycle read in full

    def connection_made(self, transport: Any) -> None:
        joined = _OneWritePerTurn(transport, asyncio.get_running_loop())
        super().connection_made(cast(asyncio.Transport, joined))  # it quacks as one
        self._arm()  # a connection that never sends a byte is a slow request too

    def data_received(self, data: bytes) -> None:
        if self._deadline is None:
            self._arm()
        super().data_received(data)
        cycle = getattr(self, "cycle", None)
        # A request is done when its body is in, or when it has been answered (uvicorn
        # then drops the rest of the body and never marks it complete): a deadline left
        # armed would close the kept-alive connection under the client's next request.
        done = cycle is not None and (not cycle.more_body or self._answered())
        if done and cycle is not self._finished:
            self._finished = cycle
            self._disarm()

    def _answered(self) -> bool:
        """Whether the app has answered the request being read (a 413, say). The rest of
        its body is then read and dropped (uvicorn drops a body after the response), as
        a lingering close does: closing at once would reset a client still sending, and
        it would never read its answer. The read deadline still bounds how long."""
        cycle = getattr(self, "cycle", None)
        return bool(getattr(cycle, "response_complete", False))

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self.limits.read_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._disarm()
        transport: asyncio.BaseTransport | None = getattr(self, "transport", None)
        if transport is not None and not transport.is_closing():
            transport.close()


def protocol_class(limits: Limits) -> type[asyncio.Protocol]:
    """uvicorn's own HTTP/1.1 protocol (httptools, else h11) with the read deadline, its
    writes of one turn sent together (:class:`_OneWritePerTurn`)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base
    except ImportError:  # httptools is optional for uvicorn
        from uvicorn.protocols.http.h11_impl import H11Protocol as Base  # type: ignore[assignment]
    return type("DeadlineProtocol", (_ReadDeadline, Base), {"limits": limits})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: where it points is not ours to know
        return False


def bind_refusal(settings: Settings, host: str) -> str | None:
    """Why this process must not listen on ``host``; None when it may."""
    if settings.production or is_loopback(host):
        return None
    return (
        "CARE_MODE: development mode (keys that may be generated next to the database) "
        "serves on a loopback address only; use --host 127.0.0.1, or CARE_MODE=production "
        "with real keys"
    )


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def run_worker(
    app: str, host: str, port: int, limits: Limits, forwarded_allow_ips: str | None = None
) -> None:
    import uvicorn

    # The referral writer's thread (PostgreSQL) needs the GIL back after each round trip
    # to the database; while the loop is busy it waits up to the switch interval each
    # time (5 ms by default), and a batch makes four round trips.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    config = uvicorn.Config(
        app,
        factory=True,
        log_level="warning",
        access_log=False,
        http=protocol_class(limits),
        limit_concurrency=limits.max_connections,
        h11_max_incomplete_event_size=HEADER_ALLOWANCE,
        ws="none",  # the care API has no WebSocket route: an upgrade is a plain request
        server_header=False,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    config.load()  # the app first: a connection never waits on a worker still importing
    settle_the_heap()
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def settle_the_heap() -> None:
    """Put what the worker has loaded out of the garbage collector's sight.

    The modules, the models and the routes are some 165,000 objects that live as long
    as the worker. Each full collection walked all of them, with the event loop
    standing still: about 85 ms, against 5 ms once they are frozen and a collection
    walks only what the requests made (``bench/gc_pause.py`` prints both). Those stops
    were where the POSTs' slowest answers came from.
    """
    gc.collect()
    gc.freeze()


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
    parser.add_argument(
        "--forwarded-allow-ips",
        help="addresses whose X-Forwarded-For/-Proto are believed (uvicorn's; default 127.0.0.1)",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    refusal = bind_refusal(settings, args.host)
    if refusal is not None:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    worker_args = (
        args.app,
        args.host,
        args.port,
        Limits.from_settings(settings),
        args.forwarded_allow_ips,
    )
    if args.workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        run_worker(*worker_args)
        return 0
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=run_worker, args=worker_args, daemon=True)
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
