"""What the polled vendor simulators share: records behind a cursor, and injected faults.

A simulator keeps the vendor's records in the order the vendor made them available
(its sequence, 1, 2, ...), which need not be the order they happened in: an event
added late (``add(..., after_request=k)``) gets the next sequence number only when
it is released, with its old time, as a vendor that forwards a delayed alert does. A
corrected alert (:meth:`PolledVendorSimulator.correct`) is the same vendor id again
under a new sequence number.

A page is asked for with a cursor (the last sequence number read, "" or "0" for the
start) and a size; the answer names the next cursor and whether there is more.
Each vendor renders records, pages and errors in its own shape (subclasses).

:class:`VendorFaults` injects, by request number (1 = the first request received):
HTTP 5xx, a timeout (the request is held, then the connection is closed with no
answer), a raw body answered 200 (a malformed page), a duplicate page (the next
cursor repeats the requested one, once), an overlapping page (the next cursor steps
back ``overlap`` records) and a cursor reset (the cursor asked for is forgotten and
the answer starts from the beginning). ``fail_rate`` and ``duplicate_rate`` add
random 5xx answers and duplicate pages, seeded.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import signal
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from care_models.synthetic.alert_streams import HEARTBEAT, DeviceEvent

log = logging.getLogger(__name__)

SEOUL = dt.timezone(dt.timedelta(hours=9), "Asia/Seoul")


@dataclass(frozen=True)
class VendorFaults:
    """Failures to inject (see the module docstring); requests numbered from 1."""

    fail_requests: Collection[int] = ()
    timeout_requests: Collection[int] = ()
    duplicate_requests: Collection[int] = ()
    overlap_requests: Collection[int] = ()
    reset_requests: Collection[int] = ()
    raw_answers: Mapping[int, bytes] = field(default_factory=dict)
    overlap: int = 2
    always_fail: bool = False
    fail_status: int = 503
    timeout_seconds: float = 2.0
    fail_rate: float = 0.0
    duplicate_rate: float = 0.0
    seed: int = 1


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"


class PolledVendorSimulator:
    """A vendor API serving its records behind a cursor (subclasses render them)."""

    name = "vendor"
    path = "/events"
    default_vendor = "V-VENDOR"

    def __init__(
        self,
        events: Iterable[DeviceEvent] = (),
        *,
        page_size: int = 50,
        faults: VendorFaults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.page_size = page_size
        self.faults = faults or VendorFaults()
        self.host, self.port = host, port
        self.request_count = 0
        self.records_served = 0  # records in 200 pages, repeats included (the demo's counts)
        self.alerts_served = 0  # of which alerts (not heartbeats)
        self.requests: Counter[str] = Counter()
        self._random = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._records: list[DeviceEvent] = []  # index + 1 is the sequence number
        self._pending: list[tuple[int, DeviceEvent]] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.add(events)

    # -- data ------------------------------------------------------------------------

    def add(self, events: Iterable[DeviceEvent], *, after_request: int = 0) -> None:
        """Make ``events`` available now, or only from request ``after_request`` on."""
        with self._lock:
            for event in events:
                if after_request > self.request_count:
                    self._pending.append((after_request, event))
                else:
                    self._records.append(event)

    def correct(self, event: DeviceEvent) -> None:
        """The vendor re-sends an alert it corrected (same id, changed details)."""
        self.add([event])

    @property
    def sequence(self) -> int:
        with self._lock:
            return len(self._records)

    def _release(self) -> None:
        due = [p for p in self._pending if p[0] <= self.request_count]
        if due:
            self._pending = [p for p in self._pending if p[0] > self.request_count]
            self._records.extend(event for _, event in due)

    # -- rendering (per vendor) ------------------------------------------------------

    def authorized(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        raise NotImplementedError

    def cursor_and_size(self, query: Mapping[str, str]) -> tuple[str, str]:
        raise NotImplementedError

    def render(self, event: DeviceEvent) -> dict[str, Any]:
        raise NotImplementedError

    def page(self, records: list[dict[str, Any]], next_cursor: str, more: bool) -> dict[str, Any]:
        raise NotImplementedError

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"error": {"status": status, "message": message}}

    # -- answering -------------------------------------------------------------------

    def answer(self, path: str, headers: Mapping[str, str], query: Mapping[str, str]) -> _Answer:
        """The answer to one GET (faults first, then authentication, then the page)."""
        with self._lock:
            self.request_count += 1
            self.requests[path] += 1
            number = self.request_count
            self._release()
            faults = self.faults
            failing = (
                faults.always_fail
                or number in faults.fail_requests
                or (faults.fail_rate and self._random.random() < faults.fail_rate)
            )
            duplicate = number in faults.duplicate_requests or (
                faults.duplicate_rate and self._random.random() < faults.duplicate_rate
            )
        if number in faults.timeout_requests:
            self._stopping.wait(faults.timeout_seconds)
            return _Answer(0, b"")
        if failing:
            return self._json(faults.fail_status, self.error(faults.fail_status, "unavailable"))
        if number in faults.raw_answers:
            return _Answer(200, faults.raw_answers[number])
        if path != self.path:
            return self._json(404, self.error(404, "no such path"))
        if not self.authorized(headers, query):
            return self._json(401, self.error(401, "unauthorized"))
        raw_cursor, raw_size = self.cursor_and_size(query)
        try:
            cursor = int(raw_cursor or 0)
            size = max(1, min(int(raw_size or self.page_size), self.page_size))
        except ValueError:
            return self._json(400, self.error(400, "bad cursor or size"))
        if number in faults.reset_requests:
            cursor = 0  # the vendor rebuilt its index: the cursor asked for is forgotten
        with self._lock:
            chosen = self._records[cursor : cursor + size]
            total = len(self._records)
            self.records_served += len(chosen)
            self.alerts_served += sum(1 for e in chosen if e.kind != HEARTBEAT)
        last = cursor + len(chosen)
        next_cursor = last
        if duplicate:
            next_cursor = cursor
        elif number in faults.overlap_requests:
            next_cursor = max(cursor, last - faults.overlap)
        body = self.page([self.render(e) for e in chosen], str(next_cursor), last < total)
        return self._json(200, body)

    def _json(self, status: int, body: Mapping[str, Any]) -> _Answer:
        return _Answer(status, json.dumps(body, ensure_ascii=False).encode())

    # -- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def start(self) -> str:
        if self._httpd is None:
            self._stopping.clear()
            handler = type("Handler", (_Handler,), {"simulator": self})
            self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
            self._httpd.daemon_threads = True
            self._httpd.block_on_close = False
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name=f"{self.name}-simulator", daemon=True
            )
            self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> PolledVendorSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    simulator: PolledVendorSimulator
    protocol_version = "HTTP/1.1"
    # headers and body go in two writes: without this each answer waits ~40 ms for the
    # client's delayed ACK (Nagle), which a real vendor API does not
    disable_nagle_algorithm = True
    server_version = "CareVendorSimulator/1.0"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = dict(parse_qsl(parts.query))
        try:
            answer = self.simulator.answer(parts.path, headers, query)
        except Exception:  # a simulator bug must answer, not hang the client
            log.exception("%s simulator failed", self.simulator.name)
            answer = _Answer(500, b'{"error": "internal"}')
        if answer.status == 0:  # a timeout fault: hang up without an answer
            self.close_connection = True
            return
        try:
            self.send_response(answer.status, HTTPStatus(answer.status).phrase)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(f"{self.simulator.name} simulator: " + format, *args)


def serve_forever(simulator: PolledVendorSimulator, label: str) -> int:
    """Run until Ctrl-C or SIGTERM (the command lines)."""
    base = simulator.start()
    print(f"{label} at {base}{simulator.path}  (Ctrl-C stops)", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


def demo_events(vendor_code: str, device_type: str, count: int, seed: int) -> list[DeviceEvent]:
    """Events of ``count`` devices of one vendor over a week to today (the command lines)."""
    from care_models.synthetic.alert_streams import event_stream

    today = dt.datetime.now(SEOUL).replace(hour=0, minute=0, second=0, microsecond=0)
    devices = [(vendor_code, device_type, f"{vendor_code}-{n:06d}") for n in range(1, count + 1)]
    return event_stream(devices, start=today - dt.timedelta(days=7), seed=seed)


def common_arguments(parser: Any, default_port: int, vendor: str) -> None:
    parser.add_argument("--port", type=int, default=default_port, help="0 = any free port")
    parser.add_argument("--vendor", default=vendor, help="the vendor's organisation code")
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--page-size", type=int, default=50)
