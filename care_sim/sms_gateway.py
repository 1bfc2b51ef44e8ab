"""An SMS gateway on 127.0.0.1: messages accepted, delivery receipts polled.

    python -m care_sim.sms_gateway --port 8110 --api-key dev-sms-key

The API (JSON, header ``X-Api-Key``):

- ``POST /v1/messages`` ``{"to": "010…", "text": "…", "reference": "…"}`` → 202
  ``{"message_id": "M000001"}``; the same ``reference`` again answers the first id
  (the gateway deduplicates, so a retried send after a lost answer costs nothing);
- ``GET /v1/receipts?after=<seq>`` → ``{"receipts": [{"seq", "message_id",
  "status": "delivered" | "failed", "at"}], "next": <seq>}``: a receipt per message,
  ``failed`` for a number the network cannot reach.

Faults for tests: :attr:`SmsFaults.fail_sends` answers the next N sends 503,
``undeliverable`` numbers get a failed receipt, ``slow_seconds`` delays answers.
Messages are kept in memory (``sent``) so that a test can read what a person got.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 16_384
MAX_TEXT = 2_000  # an LMS is at most 2,000 bytes in Korea; we count characters


@dataclass
class SmsFaults:
    fail_sends: int = 0
    undeliverable: set[str] = field(default_factory=set)
    slow_seconds: float = 0.0


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    to: str
    text: str
    reference: str


class SmsGatewaySimulator:
    """The gateway; a context manager serving on a free port unless one is given."""

    def __init__(
        self,
        *,
        api_key: str = "dev-sms-key",
        faults: SmsFaults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.faults = faults or SmsFaults()
        self.host, self.port = host, port
        self.sent: list[SentMessage] = []
        self._receipts: list[dict[str, Any]] = []
        self._by_reference: dict[str, str] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def authorised(self, given: str | None) -> bool:
        return hmac.compare_digest((given or "").encode(), self.api_key.encode())

    def send(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        to, text, reference = body.get("to"), body.get("text"), body.get("reference")
        for name, value in (("to", to), ("text", text), ("reference", reference)):
            if not isinstance(value, str) or not value:
                return 400, {"error": f"{name}: required string"}
        assert isinstance(to, str) and isinstance(text, str) and isinstance(reference, str)
        if not to.isdigit() or not 9 <= len(to) <= 11:
            return 400, {"error": "to: must be 9 to 11 digits"}
        if len(text) > MAX_TEXT:
            return 400, {"error": f"text: at most {MAX_TEXT} characters"}
        with self._lock:
            if self.faults.fail_sends > 0:
                self.faults.fail_sends -= 1
                return 503, {"error": "gateway busy"}
            if reference in self._by_reference:
                return 202, {"message_id": self._by_reference[reference]}
            message_id = f"M{len(self.sent) + 1:06d}"
            self._by_reference[reference] = message_id
            self.sent.append(SentMessage(message_id, to, text, reference))
            status = "failed" if to in self.faults.undeliverable else "delivered"
            self._receipts.append(
                {
                    "seq": len(self._receipts) + 1,
                    "message_id": message_id,
                    "status": status,
                    "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                }
            )
        return 202, {"message_id": message_id}

    def receipts(self, after: int, limit: int = 100) -> dict[str, Any]:
        with self._lock:
            page = [r for r in self._receipts if r["seq"] > after][:limit]
        return {"receipts": page, "next": page[-1]["seq"] if page else after}

    def start(self) -> SmsGatewaySimulator:
        self._httpd = ThreadingHTTPServer((self.host, self.port), _handler(self))
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> SmsGatewaySimulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _handler(gateway: SmsGatewaySimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:  # phone numbers stay out of logs
            return

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _allowed(self) -> bool:
            if gateway.faults.slow_seconds:
                time.sleep(gateway.faults.slow_seconds)
            if not gateway.authorised(self.headers.get("X-Api-Key")):
                self._answer(401, {"error": "X-Api-Key: unknown key"})
                return False
            return True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, MAX_BODY + 1))
            if not self._allowed():
                return
            if urlsplit(self.path).path != "/v1/messages":
                self._answer(404, {"error": "no such path"})
                return
            if length > MAX_BODY:
                self._answer(413, {"error": "body: too large"})
                return
            try:
                document = json.loads(body)
            except ValueError:
                self._answer(400, {"error": "body: not JSON"})
                return
            if not isinstance(document, dict):
                self._answer(400, {"error": "body: must be an object"})
                return
            self._answer(*gateway.send(document))

        def do_GET(self) -> None:
            if not self._allowed():
                return
            url = urlsplit(self.path)
            if url.path != "/v1/receipts":
                self._answer(404, {"error": "no such path"})
                return
            after = parse_qs(url.query).get("after", ["0"])[0]
            if not after.isdigit():
                self._answer(400, {"error": "after: must be a whole number"})
                return
            self._answer(200, gateway.receipts(int(after)))

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m care_sim.sms_gateway")
    parser.add_argument("--port", type=int, default=8110, help="0 = any free port")
    parser.add_argument("--api-key", default="dev-sms-key")
    args = parser.parse_args(argv)
    with SmsGatewaySimulator(api_key=args.api_key, port=args.port) as gateway:
        print(f"SMS gateway on {gateway.base_url} (Ctrl-C stops it)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
