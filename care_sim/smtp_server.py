"""A local SMTP server that keeps what it receives: the county's mail relay, simulated.

It speaks the part of SMTP (RFC 5321) a submitting client uses: ``EHLO``/``HELO``,
``AUTH PLAIN`` (optional: when a login is set, mail without it is refused 530),
``MAIL FROM``, ``RCPT TO``, ``DATA``, ``RSET``, ``NOOP`` and ``QUIT``. Each accepted
message is parsed (``email``) and kept in :attr:`SmtpSimulator.messages`.
``fail_next`` answers the next ``n`` DATA commands ``451`` (a transient refusal the
hook retries) to test faults. Loopback only; nothing is ever relayed.

    python -m care_sim.smtp_server [--port 2525]
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import signal
import socketserver
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage


class SmtpSimulator:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, login: tuple[str, str] | None = None
    ) -> None:
        self.host, self.port, self.login = host, port, login
        self.messages: list[Received] = []
        self.fail_next = 0
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None

    def accept(self, sender: str, recipients: list[str], data: bytes) -> str:
        """Keep one message; the reply line (a 451 while ``fail_next`` lasts)."""
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return "451 4.3.0 try again later"
            parsed = email.message_from_bytes(data, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            self.messages.append(Received(sender, tuple(recipients), parsed))
            return f"250 2.0.0 queued as {len(self.messages)}"

    def start(self) -> SmtpSimulator:
        simulator = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                _session(simulator, self)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SmtpSimulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _session(simulator: SmtpSimulator, handler: socketserver.StreamRequestHandler) -> None:
    def reply(line: str) -> None:
        handler.wfile.write(line.encode("ascii") + b"\r\n")
        handler.wfile.flush()

    reply("220 care-sim SMTP ready")
    sender: str | None = None
    recipients: list[str] = []
    authenticated = simulator.login is None
    while True:
        raw = handler.rfile.readline(4096)
        if not raw:
            return
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        verb, _, rest = line.partition(" ")
        verb = verb.upper()
        if verb == "EHLO":
            handler.wfile.write(
                b"250-care-sim\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SMTPUTF8\r\n"
            )
            handler.wfile.flush()
        elif verb == "HELO":
            reply("250 care-sim")
        elif verb == "AUTH":
            authenticated = _auth(simulator, rest)
            reply("235 2.7.0 authenticated" if authenticated else "535 5.7.8 bad credentials")
        elif verb == "MAIL":
            if not authenticated:
                reply("530 5.7.0 authentication required")
                continue
            sender, recipients = rest.split(":", 1)[-1].strip().split(" ")[0].strip("<>"), []
            reply("250 2.1.0 ok")
        elif verb == "RCPT":
            if sender is None:
                reply("503 5.5.1 MAIL first")
                continue
            recipients.append(rest.split(":", 1)[-1].strip().strip("<>"))
            reply("250 2.1.5 ok")
        elif verb == "DATA":
            if sender is None or not recipients:
                reply("503 5.5.1 RCPT first")
                continue
            reply("354 end with <CRLF>.<CRLF>")
            reply(simulator.accept(sender, recipients, _data(handler)))
            sender, recipients = None, []
        elif verb == "RSET":
            sender, recipients = None, []
            reply("250 2.0.0 ok")
        elif verb == "NOOP":
            reply("250 2.0.0 ok")
        elif verb == "QUIT":
            reply("221 2.0.0 bye")
            return
        else:
            reply("502 5.5.2 not implemented")


def _auth(simulator: SmtpSimulator, rest: str) -> bool:
    mechanism, _, payload = rest.partition(" ")
    if mechanism.upper() != "PLAIN" or simulator.login is None:
        return simulator.login is None
    try:
        _zid, user, password = base64.b64decode(payload).decode().split("\0")
    except (ValueError, UnicodeDecodeError):
        return False
    return (user, password) == simulator.login


def _data(handler: socketserver.StreamRequestHandler) -> bytes:
    lines = []
    while True:
        raw = handler.rfile.readline(1_000_000)
        if not raw or raw in (b".\r\n", b".\n"):
            break
        lines.append(raw[1:] if raw.startswith(b"..") else raw)  # dot-stuffing
    return b"".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=2525)
    args = parser.parse_args(argv)
    with SmtpSimulator(port=args.port) as server:
        print(f"SMTP simulator on 127.0.0.1:{server.port}", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
