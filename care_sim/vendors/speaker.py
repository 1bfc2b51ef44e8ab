"""AI-speaker vendor: an SOS utterance is pushed at once to the care API, signed.

:meth:`SpeakerSimulator.push` POSTs one SOS to ``{target}`` (the care API's
``/vendors/{vendor}/alerts``) with the body::

    {"sosId", "speakerId", "utterance": "SOS", "keyword", "detectedAt" (ISO 8601, UTC)}

and two headers: ``X-Care-Timestamp`` (Unix seconds) and ``X-Care-Signature``
(``v1=`` and the hex HMAC-SHA256, under the vendor's secret, of the timestamp, a
dot and the raw body: the timestamp is signed too, so it cannot be moved).

As a server (``python -m care_sim.vendors.speaker --port 8104 --target URL --secret S``)
``POST /simulate/sos`` with ``{"device": "V-SPEAKER-000001"}`` makes the speaker
push an SOS of that device now, and answers the care API's status.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import signal
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from care_models.synthetic.alert_streams import DeviceEvent

TIMESTAMP_HEADER = "X-Care-Timestamp"
SIGNATURE_HEADER = "X-Care-Signature"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=<hex>``: HMAC-SHA256 of ``timestamp.body`` under ``secret``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={digest.hexdigest()}"


class SpeakerSimulator:
    """Pushes SOS alerts of AI speakers to ``target`` (see the module docstring)."""

    def __init__(self, target: str, secret: str, *, vendor_code: str = "V-SPEAKER") -> None:
        self.target, self.secret, self.vendor_code = target, secret, vendor_code
        self._counter = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @staticmethod
    def body(event: DeviceEvent) -> bytes:
        document = {
            "sosId": event.event_id,
            "speakerId": event.device,
            "utterance": "SOS",
            "keyword": event.detail.get("keyword", "살려줘"),
            "detectedAt": event.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature(self.secret, stamp, body),
        }

    def push(
        self,
        event: DeviceEvent,
        *,
        timestamp: int | None = None,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        """POST one SOS, signed; the care API's answer."""
        body = self.body(event)
        headers = self.headers(body, timestamp)
        if client is not None:
            return client.post(self.target, content=body, headers=headers)
        with httpx.Client(timeout=10) as own:
            return own.post(self.target, content=body, headers=headers)

    def sos_now(self, device: str) -> DeviceEvent:
        with self._lock:
            self._counter += 1
            number = self._counter
        stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
        event_id = f"{self.vendor_code}-SOS{int(stamp.timestamp())}-{number}"
        return DeviceEvent(self.vendor_code, "ai_speaker", event_id, device, "sos", stamp)

    # -- the trigger server (demo) ---------------------------------------------------

    def start(self, port: int = 0) -> str:
        handler = type("Handler", (_Handler,), {"simulator": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


class _Handler(BaseHTTPRequestHandler):
    simulator: SpeakerSimulator
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        if self.path != "/simulate/sos":
            self._send(404, {"error": "no such path"})
            return
        length = min(int(self.headers.get("Content-Length") or 0), 10_000)
        try:
            device = str(json.loads(self.rfile.read(length) or b"{}")["device"])
        except (ValueError, KeyError, TypeError):
            self._send(400, {"error": 'send {"device": ...}'})
            return
        event = self.simulator.sos_now(device)
        try:
            status = self.simulator.push(event).status_code
        except httpx.HTTPError as error:
            self._send(502, {"error": type(error).__name__})
            return
        self._send(200, {"sosId": event.event_id, "careApiStatus": status})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m care_sim.vendors.speaker")
    parser.add_argument("--port", type=int, default=8104, help="0 = any free port")
    parser.add_argument("--vendor", default="V-SPEAKER")
    parser.add_argument("--target", required=True, help="the care API's push URL")
    parser.add_argument("--secret", required=True, help="the vendor's signing secret")
    args = parser.parse_args(argv)
    simulator = SpeakerSimulator(args.target, args.secret, vendor_code=args.vendor)
    base = simulator.start(args.port)
    print(f"AI speakers {args.vendor}: POST {base}/simulate/sos  (Ctrl-C stops)", flush=True)
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
