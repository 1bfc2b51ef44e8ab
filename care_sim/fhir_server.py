"""A small FHIR R4 server simulator: a hospital that lets the county pull its referrals.

Standard library only (``http.server`` in a background thread), on 127.0.0.1. Each
referral is a transaction Bundle (as ``care_models.synthetic.referrals.build_bundle``
makes); the simulator stores its resources under server ids, rewrites the Bundle's
``urn:uuid:`` references to relative ``Type/id`` references, and stamps every
resource with ``meta.versionId`` and a strictly increasing ``meta.lastUpdated``
(:meth:`FhirServerSimulator.update` stamps a ServiceRequest again, as a hospital
editing a referral would).

It answers::

    GET  {base}/metadata
    GET  {base}/{Type}/{id}
    GET  {base}/ServiceRequest?status=active&_lastUpdated=ge<instant>&_sort=_lastUpdated
         &_include=ServiceRequest:subject&_revinclude:iterate=Condition:subject&_count=N
    POST /oauth/token            OAuth2 client credentials (when ``clients`` are given)

The search (:mod:`care_sim.fhir_search`) follows standard FHIR semantics and returns
only what was asked for: the matching ServiceRequests (``search.mode: match``), then
the resources each ``_include`` names (``Type:param``: the resources that element of a match refers
to) and each ``_revinclude`` (the resources of ``Type`` whose element refers to a
match); the ``:iterate`` forms apply to included resources too, until nothing new
comes. Supported params are ``subject``, ``patient``, ``encounter``, ``focus`` and
``for``; an unknown search parameter or include is answered 400 (strict handling),
never silently ignored. Without ``_sort`` matches come in server id order (not
time order, as many servers do); ``_sort=_lastUpdated`` (or ``-_lastUpdated``)
sorts them. Pages are served behind an opaque token in the ``next`` link; the page
size is ``min(_count, page_size)``.

With ``bearer_token`` set every FHIR request needs ``Authorization: Bearer <token>``
(401 otherwise); ``clients`` (id to secret) enables the token endpoint, which
answers that token to a ``client_credentials`` grant (HTTP basic client auth or
form fields).

:class:`FaultPlan` injects failures by request number (1 = the first request the
server receives): HTTP 503, a timeout (the server holds the request, then closes
the connection without answering), a duplicate page (page k's ``next`` link
points at page k again, once) and raw bodies answered 200 in place of a page.

Command line (serves synthetic referrals of one outside-county hospital)::

    python -m care_sim.fhir_server --port 8090 --referrals 2 --seed 11
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import hmac
import json
import logging
import signal
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from care_models.fhir.capability import capability_statement, searchable
from care_models.fhir.instants import format_instant
from care_sim.fhir_search import (
    REFERENCE_PARAMS,
    BadRequest,
    Include,
    compare,
    decode_token,
    encode,
    search_state,
    stamp,
    targets,
)

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
DEFAULT_HOSPITAL = "H-CJ-UNI"
TOKEN_PATH = "/oauth/token"


@dataclass(frozen=True)
class FaultPlan:
    """Failures to inject. Requests are numbered from 1 (every request counts); pages too.

    - ``fail_requests``: answer these requests with HTTP ``fail_status`` (503);
      ``always_fail``: every request.
    - ``timeout_requests``: hold these requests ``timeout_seconds`` (longer than the
      client's timeout), then hang up without answering.
    - ``duplicate_pages``: the ``next`` link of page k of a search points at page k
      again, once, so the same page is served twice.
    - ``raw_answers``: answer these requests 200 with these bytes as the body (a
      malformed page, say).
    """

    fail_requests: Collection[int] = ()
    timeout_requests: Collection[int] = ()
    duplicate_pages: Collection[int] = ()
    raw_answers: Mapping[int, bytes] = field(default_factory=dict)
    always_fail: bool = False
    fail_status: int = 503
    timeout_seconds: float = 2.0


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
        bearer_token: str | None = None,
        clients: Mapping[str, str] | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self.faults = faults or FaultPlan()
        self.host, self.port = host, port
        self.bearer_token = bearer_token
        self.clients = dict(clients or {})
        self.requests: Counter[str] = Counter()  # requests received, per URL path
        self.searches: list[list[tuple[str, str]]] = []  # the query of each first-page search
        self.request_count = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._resources: dict[str, dict[str, Any]] = {}  # Type/id -> resource, in id order
        self._requests: list[str] = []  # the ServiceRequests' keys, in id order
        self._ids: Counter[str] = Counter()
        self._clock = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        self._duplicated: set[int] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for bundle in referral_bundles:
            self.add(bundle)

    # -- data ------------------------------------------------------------------------

    def _tick(self) -> str:
        now = dt.datetime.now(dt.UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what the instant says
        self._clock = max(now, self._clock + dt.timedelta(milliseconds=1))
        return format_instant(self._clock)

    def add(self, bundle: dict[str, Any]) -> str:
        """Store one referral Bundle's resources; return the ServiceRequest's ``Type/id``."""
        entries = [e for e in bundle.get("entry") or [] if (e or {}).get("resource")]
        if not any(e["resource"].get("resourceType") == "ServiceRequest" for e in entries):
            raise ValueError("a referral Bundle needs a ServiceRequest")
        with self._lock:
            stamp = self._tick()
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
            self._resources.update(resources)
            request_key = next(k for k, r in resources if r["resourceType"] == "ServiceRequest")
            self._requests.append(request_key)
            return request_key

    def update(self, request_key: str) -> str:
        """A new version of a stored ServiceRequest (as a hospital edits it); its stamp."""
        with self._lock:
            meta = self._resources[request_key]["meta"]
            meta["versionId"] = str(int(meta["versionId"]) + 1)
            meta["lastUpdated"] = self._tick()
            return str(meta["lastUpdated"])

    def service_requests(self) -> list[dict[str, Any]]:
        """Copies of the stored ServiceRequests, by lastUpdated ascending."""
        with self._lock:
            found = [copy.deepcopy(self._resources[k]) for k in self._requests]
        return sorted(found, key=stamp)

    def read(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            resource = self._resources.get(key)
            return copy.deepcopy(resource) if resource is not None else None

    # -- lifecycle -------------------------------------------------------------------

    @property
    def origin(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/fhir"

    @property
    def token_url(self) -> str:
        return f"{self.origin}{TOKEN_PATH}"

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
        log.info("FHIR simulator serving %d referrals at %s", len(self._requests), self.base_url)
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

    def authorized(self, header: str | None) -> bool:
        """Whether a FHIR request's ``Authorization`` header is good enough."""
        if self.bearer_token is None:
            return True
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.bearer_token.encode()
        )

    def grant(self, header: str | None, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint: a ``client_credentials`` grant answered with the bearer token."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
            except ValueError:
                return 401, {"error": "invalid_client"}
        known = self.clients.get(client_id)
        if known is None or not hmac.compare_digest(known.encode(), secret.encode()):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "client_credentials" or self.bearer_token is None:
            return 400, {"error": "unsupported_grant_type"}
        return 200, {"access_token": self.bearer_token, "token_type": "Bearer", "expires_in": 300}

    def answer(self, path: str, query: str) -> tuple[int, dict[str, Any]]:
        """The status and JSON body for ``GET path?query`` (no fault applied)."""
        base_path = urlsplit(self.base_url).path
        if path.rstrip("/") == base_path + "/metadata":
            return 200, _capability_statement()
        relative = path[len(base_path) :].strip("/") if path.startswith(base_path) else None
        if not relative:
            return 404, _outcome("not-found", "unknown path")
        parts = relative.split("/")
        try:
            if parts == ["ServiceRequest"]:
                return 200, self._search(parse_qsl(query, keep_blank_values=True))
            if len(parts) == 2:
                resource = self.read(relative)
                if resource is None:
                    return 404, _outcome("not-found", f"{relative} is not known")
                return 200, resource
        except BadRequest as exc:
            return 400, _outcome("invalid", str(exc))
        return 404, _outcome("not-supported", "only ServiceRequest search and read are supported")

    def _search(self, query: list[tuple[str, str]]) -> dict[str, Any]:
        params: dict[str, list[str]] = {}
        for name, value in query:
            params.setdefault(name, []).append(value)
        token = (params.get("_page") or [""])[0]
        state = decode_token(token) if token else search_state(params)
        if not token:
            with self._lock:
                self.searches.append(query)
        size = max(1, min(int(state["n"]), self.page_size))
        offset, page_number = int(state["o"]), int(state["p"])
        with self._lock:
            matching = [k for k in self._ordered(state["sort"]) if self._matches(k, state)]
            page = matching[offset : offset + size]
            included = self._included(page, state)
            entries = [(k, self._resources[k], "match") for k in page]
            entries += [(k, self._resources[k], "include") for k in included]
            entries = copy.deepcopy(entries)
            duplicate = (
                page_number in self.faults.duplicate_pages and page_number not in self._duplicated
            )
            if duplicate:
                self._duplicated.add(page_number)
        base = self.base_url
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(matching),
            "link": [{"relation": "self", "url": f"{base}/ServiceRequest?_page={encode(state)}"}],
            "entry": [_entry(base, key, resource, mode) for key, resource, mode in entries],
        }
        if duplicate:
            bundle["link"].append({"relation": "next", "url": bundle["link"][0]["url"]})
        elif len(matching) > offset + size:
            following = {**state, "o": offset + size, "p": page_number + 1}
            url = f"{base}/ServiceRequest?_page={encode(following)}"
            bundle["link"].append({"relation": "next", "url": url})
        return bundle

    def _ordered(self, sort: str | None) -> list[str]:
        if sort is None:  # server id order, whatever the stamps
            return list(self._requests)
        ordered = sorted(self._requests, key=lambda k: stamp(self._resources[k]))
        return ordered[::-1] if sort.startswith("-") else ordered

    def _matches(self, key: str, state: Mapping[str, Any]) -> bool:
        request = self._resources[key]
        if state["status"] and request.get("status") not in state["status"]:
            return False
        return all(compare(stamp(request), value) for value in state["lu"])

    def _included(self, matches: list[str], state: Mapping[str, Any]) -> list[str]:
        """The keys the page's ``_include``s and ``_revinclude``s add, in first-found order."""
        includes = [Include(*i) for i in state["inc"]]
        revincludes = [Include(*i) for i in state["rev"]]
        selected: dict[str, None] = dict.fromkeys(matches)
        frontier, first = list(matches), True
        while frontier:
            found: list[str] = []
            for rule in includes:
                if first or rule.iterate:
                    for key in frontier:
                        if key.startswith(rule.kind + "/"):
                            found += targets(self._resources[key], rule.element)
            for rule in revincludes:
                if first or rule.iterate:
                    found += self._referring(rule, set(frontier))
            frontier = [k for k in dict.fromkeys(found) if k in self._resources]
            frontier = [k for k in frontier if k not in selected]
            selected.update(dict.fromkeys(frontier))
            first = False
        return [k for k in selected if k not in set(matches)]

    def _referring(self, rule: Include, wanted: set[str]) -> Iterable[str]:
        for key, resource in self._resources.items():
            if key.startswith(rule.kind + "/") and wanted & set(targets(resource, rule.element)):
                yield key


def _entry(base: str, key: str, resource: dict[str, Any], mode: str) -> dict[str, Any]:
    return {"fullUrl": f"{base}/{key}", "resource": resource, "search": {"mode": mode}}


def _capability_statement() -> dict[str, Any]:
    params = sorted(REFERENCE_PARAMS)
    return capability_statement(
        [
            searchable(
                "ServiceRequest",
                ("status", "token"),
                ("_lastUpdated", "date"),
                searchInclude=[f"ServiceRequest:{p}" for p in params],
                searchRevInclude=[
                    f"{kind}:{p}"
                    for kind in ("Task", "Condition", "Observation", "QuestionnaireResponse")
                    for p in params
                ],
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
        if not self._faulted(number):
            if not self.simulator.authorized(self.headers.get("Authorization")):
                self._send(401, _outcome("login", "a valid bearer token is required"))
                return
            try:
                status, body = self.simulator.answer(parts.path, parts.query)
            except Exception:  # a simulator bug must answer, not hang the client
                log.exception("FHIR simulator failed on %s", parts.path)
                status, body = 500, _outcome("exception", "internal error")
            self._send(status, body)

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        number = self.simulator._count(parts.path)
        if self._faulted(number):
            return
        if parts.path != TOKEN_PATH:
            self._send(404, _outcome("not-supported", "only the token endpoint takes POST"))
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(min(length, 10_000)).decode("utf-8", "replace")))
        self._send(*self.simulator.grant(self.headers.get("Authorization"), form))

    def _faulted(self, number: int) -> bool:
        """Apply the fault planned for request ``number``, if any (True: answered)."""
        faults = self.simulator.faults
        if number in faults.timeout_requests:
            self.simulator._hold()
            self.close_connection = True  # hang up without an answer
            return True
        if faults.always_fail or number in faults.fail_requests:
            self._send(faults.fail_status, _outcome("transient", "service unavailable"))
            return True
        if number in faults.raw_answers:
            self._send(200, faults.raw_answers[number])
            return True
        return False

    def _send(self, status: int, body: dict[str, Any] | bytes) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
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
