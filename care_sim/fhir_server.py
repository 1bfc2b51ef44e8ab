"""A small FHIR R4 server simulator: a hospital that lets the county pull its referrals.

Standard library only (``http.server`` in a background thread), on 127.0.0.1. Each
referral is a transaction Bundle (as ``care_models.synthetic.referrals.build_bundle``
makes); the simulator stores its resources under server ids, rewrites the Bundle's
``urn:uuid:`` references to relative ``Type/id`` references, and stamps every
resource with ``meta.versionId`` and a strictly increasing ``meta.lastUpdated``.

It answers::

    GET {base}/metadata
    GET {base}/{Type}/{id}
    GET {base}/ServiceRequest?status=active&_lastUpdated=gt<instant>
        &_include=ServiceRequest:subject&_include=ServiceRequest:encounter
        &_revinclude=Task:focus&_count=N

The search is liberal: whatever ``_include``/``_revinclude`` is asked for, every
other resource of a matching ServiceRequest's original Bundle is returned as a
``search.mode: include`` entry. Matches are sorted by lastUpdated ascending and
paged (keyset paging behind an opaque token in the ``next`` link); the page size
is ``min(_count, page_size)``.

:class:`FaultPlan` injects failures by request number (1 = the first request the
server receives): HTTP 503, a timeout (the server holds the request, then closes
the connection without answering) and a duplicate page (page k's ``next`` link
points at page k again, once).

Command line (serves synthetic referrals of one outside-county hospital)::

    python -m care_sim.fhir_server --port 8090 --referrals 2 --seed 11
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import json
import logging
import re
import signal
import threading
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from care_models.fhir.capability import capability_statement, searchable

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
DEFAULT_HOSPITAL = "H-CJ-UNI"
_FRACTION = re.compile(r"\.(\d+)")


@dataclass(frozen=True)
class FaultPlan:
    """Failures to inject. Requests are numbered from 1 (every request counts); pages too.

    - ``fail_requests``: answer these requests with HTTP ``fail_status`` (503);
      ``always_fail``: every request.
    - ``timeout_requests``: hold these requests ``timeout_seconds`` (longer than the
      client's timeout), then hang up without answering.
    - ``duplicate_pages``: the ``next`` link of page k of a search points at page k
      again, once, so the same page is served twice.
    """

    fail_requests: Collection[int] = ()
    timeout_requests: Collection[int] = ()
    duplicate_pages: Collection[int] = ()
    always_fail: bool = False
    fail_status: int = 503
    timeout_seconds: float = 2.0


def parse_instant(value: str) -> dt.datetime:
    """A FHIR instant or date (``2025-03-14``, ``...T01:02:03.123Z``) as an aware datetime."""
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def format_instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Stored:
    """One referral as the server holds it: its ServiceRequest and the other resources."""

    request_key: str
    last_updated: dt.datetime
    resources: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (Type/id, res)

    @property
    def request(self) -> dict[str, Any]:
        return dict(self.resources)[self.request_key]


def _walk_references(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node
        for value in node.values():
            yield from _walk_references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_references(value)


def _outcome(code: str, diagnostics: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }


class _BadRequest(Exception):
    pass


class FhirServerSimulator:
    """A hospital FHIR R4 server on 127.0.0.1 serving referral ServiceRequests."""

    def __init__(
        self,
        referral_bundles: list[dict[str, Any]],
        *,
        page_size: int = 5,
        faults: FaultPlan | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self.faults = faults or FaultPlan()
        self.host, self.port = host, port
        self.requests: Counter[str] = Counter()  # requests received, per URL path
        self.request_count = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._stored: list[_Stored] = []
        self._ids: Counter[str] = Counter()
        self._clock = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        self._duplicated: set[int] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for bundle in referral_bundles:
            self.add(bundle)

    # -- data ------------------------------------------------------------------------

    def add(self, bundle: dict[str, Any]) -> str:
        """Store one referral Bundle's resources; return the ServiceRequest's ``Type/id``."""
        entries = [e for e in bundle.get("entry") or [] if (e or {}).get("resource")]
        if not any(e["resource"].get("resourceType") == "ServiceRequest" for e in entries):
            raise ValueError("a referral Bundle needs a ServiceRequest")
        with self._lock:
            now = dt.datetime.now(dt.UTC)
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what the instant says
            self._clock = max(now, self._clock + dt.timedelta(milliseconds=1))
            stamp = format_instant(self._clock)
            keys: dict[str, str] = {}
            resources: list[tuple[str, dict[str, Any]]] = []
            for entry in entries:
                resource = copy.deepcopy(entry["resource"])
                kind = resource["resourceType"]
                self._ids[kind] += 1
                key = f"{kind}/{self._ids[kind]}"
                resource["id"] = str(self._ids[kind])
                resource["meta"] = {"versionId": "1", "lastUpdated": stamp}
                if entry.get("fullUrl"):
                    keys[entry["fullUrl"]] = key
                resources.append((key, resource))
            for _, resource in resources:
                for ref in _walk_references(resource):
                    ref["reference"] = keys.get(ref["reference"], ref["reference"])
            request_key = next(k for k, r in resources if r["resourceType"] == "ServiceRequest")
            self._stored.append(_Stored(request_key, self._clock, resources))
            return request_key

    def service_requests(self) -> list[dict[str, Any]]:
        """Copies of the stored ServiceRequests, by lastUpdated ascending."""
        with self._lock:
            return [copy.deepcopy(s.request) for s in sorted(self._stored, key=_by_time)]

    def read(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            for stored in self._stored:
                for k, resource in stored.resources:
                    if k == key:
                        return copy.deepcopy(resource)
        return None

    # -- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        return f"http://{self.host}:{self._httpd.server_address[1]}/fhir"

    def start(self) -> str:
        if self._httpd is not None:
            return self.base_url
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"simulator": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fhir-simulator", daemon=True
        )
        self._thread.start()
        log.info("FHIR simulator serving %d referrals at %s", len(self._stored), self.base_url)
        return self.base_url

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes requests held by a timeout fault
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> FhirServerSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- requests --------------------------------------------------------------------

    def _count(self, path: str) -> int:
        with self._lock:
            self.request_count += 1
            self.requests[path] += 1
            return self.request_count

    def _hold(self) -> None:
        self._stopping.wait(self.faults.timeout_seconds)

    def answer(self, path: str, query: str) -> tuple[int, dict[str, Any]]:
        """The status and JSON body for ``GET path?query`` (no fault applied)."""
        base_path = urlsplit(self.base_url).path
        if path.rstrip("/") == base_path + "/metadata":
            return 200, _capability_statement()
        relative = path[len(base_path) :].strip("/") if path.startswith(base_path) else None
        if not relative:
            return 404, _outcome("not-found", "unknown path")
        params = parse_qs(query, keep_blank_values=True)
        parts = relative.split("/")
        try:
            if parts == ["ServiceRequest"]:
                return 200, self._search(params)
            if len(parts) == 2:
                resource = self.read(relative)
                if resource is None:
                    return 404, _outcome("not-found", f"{relative} is not known")
                return 200, resource
        except _BadRequest as exc:
            return 400, _outcome("invalid", str(exc))
        return 404, _outcome("not-supported", "only ServiceRequest search and read are supported")

    def _search(self, params: dict[str, list[str]]) -> dict[str, Any]:
        token = (params.get("_page") or [""])[0]
        if token:
            state = _decode_token(token)
        else:
            try:
                count = int((params.get("_count") or [str(self.page_size)])[0])
            except ValueError:
                raise _BadRequest("_count must be an integer") from None
            statuses = [s for v in params.get("status") or [] for s in v.split(",") if s]
            filters = params.get("_lastUpdated") or []
            for value in filters:
                _date_filter(value)  # 400 when malformed
            state = {"status": statuses, "lu": filters, "n": count, "after": None, "p": 1}
        size = max(1, min(int(state["n"]), self.page_size))
        with self._lock:
            matching = [s for s in sorted(self._stored, key=_by_time) if _matches(s, state)]
            after = parse_instant(state["after"]) if state["after"] else None
            remaining = [s for s in matching if after is None or s.last_updated > after]
            page = copy.deepcopy(remaining[:size])
            page_number = int(state["p"])
            duplicate = (
                page_number in self.faults.duplicate_pages and page_number not in self._duplicated
            )
            if duplicate:
                self._duplicated.add(page_number)
        base = self.base_url
        own_token = _encode_token(state)
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(matching),
            "link": [{"relation": "self", "url": f"{base}/ServiceRequest?_page={own_token}"}],
            "entry": [],
        }
        if duplicate:
            bundle["link"].append({"relation": "next", "url": bundle["link"][0]["url"]})
        elif len(remaining) > size:
            following = {**state, "after": format_instant(page[-1].last_updated)}
            following["p"] = page_number + 1
            url = f"{base}/ServiceRequest?_page={_encode_token(following)}"
            bundle["link"].append({"relation": "next", "url": url})
        seen: set[str] = set()
        for stored in page:
            for key, resource in stored.resources:
                if key != stored.request_key:
                    continue
                bundle["entry"].append(_entry(base, key, resource, "match"))
                seen.add(key)
        for stored in page:
            for key, resource in stored.resources:
                if key not in seen:
                    seen.add(key)
                    bundle["entry"].append(_entry(base, key, resource, "include"))
        return bundle


def _by_time(stored: _Stored) -> dt.datetime:
    return stored.last_updated


def _entry(base: str, key: str, resource: dict[str, Any], mode: str) -> dict[str, Any]:
    return {"fullUrl": f"{base}/{key}", "resource": resource, "search": {"mode": mode}}


def _date_filter(value: str) -> tuple[str, dt.datetime]:
    prefix = value[:2] if value[:2] in ("gt", "ge", "lt", "le", "eq", "ne") else "eq"
    raw = value[2:] if value[:2] == prefix else value
    try:
        return prefix, parse_instant(raw)
    except ValueError:
        raise _BadRequest(f"_lastUpdated: {value!r} is not a FHIR instant") from None


def _matches(stored: _Stored, state: dict[str, Any]) -> bool:
    if state["status"] and stored.request.get("status") not in state["status"]:
        return False
    moment = stored.last_updated
    for value in state["lu"]:
        prefix, bound = _date_filter(value)
        ok = {
            "gt": moment > bound,
            "ge": moment >= bound,
            "lt": moment < bound,
            "le": moment <= bound,
            "eq": moment == bound,
            "ne": moment != bound,
        }[prefix]
        if not ok:
            return False
    return True


def _encode_token(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(state, dict) or not {"status", "lu", "n", "after", "p"} <= set(state):
            raise ValueError
        return state
    except ValueError:
        raise _BadRequest("_page: unknown or expired page token") from None


def _capability_statement() -> dict[str, Any]:
    return capability_statement(
        [
            searchable(
                "ServiceRequest",
                ("status", "token"),
                ("_lastUpdated", "date"),
                searchInclude=["ServiceRequest:subject", "ServiceRequest:encounter"],
                searchRevInclude=["Task:focus"],
            )
        ]
    )


class _Handler(BaseHTTPRequestHandler):
    simulator: FhirServerSimulator
    protocol_version = "HTTP/1.1"
    server_version = "CareFhirSimulator/1.0"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        number = self.simulator._count(parts.path)
        faults = self.simulator.faults
        if number in faults.timeout_requests:
            self.simulator._hold()
            self.close_connection = True  # hang up without an answer
            return
        if faults.always_fail or number in faults.fail_requests:
            self._send(faults.fail_status, _outcome("transient", "service unavailable"))
            return
        try:
            status, body = self.simulator.answer(parts.path, parts.query)
        except Exception:  # a simulator bug must answer, not hang the client
            log.exception("FHIR simulator failed on %s", parts.path)
            status, body = 500, _outcome("exception", "internal error")
        self._send(status, body)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status, HTTPStatus(status).phrase)
            self.send_header("Content-Type", f"{FHIR_JSON}; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("FHIR simulator: " + format, *args)


# -- synthetic referrals and the command line -------------------------------------------


def synthetic_referral_bundles(
    count: int,
    *,
    today: dt.date,
    seed: int = 11,
    hospital_code: str = DEFAULT_HOSPITAL,
    county: Any = None,
) -> list[dict[str, Any]]:
    """``count`` valid referral Bundles of one hospital, in the four synthetic shapes."""
    from care_models.synthetic.county import build_county
    from care_models.synthetic.referrals import SHAPES, build_bundle, referral_specs

    county = county or build_county()
    bundles = []
    for n, spec in enumerate(referral_specs(county, count, today=today, seed=seed)):
        number = f"{hospital_code}-R{today:%y%m}{seed:03d}{n + 1:04d}"
        spec = replace(spec, hospital_code=hospital_code, number=number)
        bundles.append(build_bundle(spec, SHAPES[n % len(SHAPES)]))
    return bundles


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m care_sim.fhir_server",
        description="Serve synthetic discharge referrals as a hospital FHIR R4 server.",
    )
    parser.add_argument("--port", type=int, default=8090, help="0 = any free port")
    parser.add_argument("--referrals", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--hospital", default=DEFAULT_HOSPITAL)
    parser.add_argument("--page-size", type=int, default=5)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    from care_models.workdays import seoul_today

    today = args.today or seoul_today()
    bundles = synthetic_referral_bundles(
        args.referrals, today=today, seed=args.seed, hospital_code=args.hospital
    )
    simulator = FhirServerSimulator(bundles, page_size=args.page_size, port=args.port)
    base_url = simulator.start()
    print(f"{args.hospital}: {len(bundles)} referrals at {base_url}  (Ctrl-C stops)", flush=True)
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


if __name__ == "__main__":
    raise SystemExit(main())
