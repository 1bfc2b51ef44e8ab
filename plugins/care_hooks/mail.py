"""The hook on the county's mail relay, whose Airflow Connection is ``smtp_outbound``.

The Connection's host and port name the relay; a login and password are sent with
``AUTH`` (over STARTTLS unless the relay is on this machine: credentials never cross
the network in clear); the ``from`` extra is the sender (default the integrated-care
team's address). A send is one ``smtplib`` session with a timeout; a transient
refusal (4xx) or a dropped connection is retried by the shared policy's counts and
waits, then raises ``RetriesExhausted``; a permanent refusal (5xx) raises
``ExternalServiceError`` at once. Nothing of a message's content is logged.

It implements :class:`care_models.conferences.invitations.Mailer`.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from functools import cached_property
from typing import Any

import tenacity
from airflow.sdk import BaseHook

from care_hooks.http import RetriesExhausted, RetryPolicy, is_loopback
from care_models.errors import ConfigurationError, ExternalServiceError

CONNECTION_ID = "smtp_outbound"
DEFAULT_SENDER = "care-team@jincheon.example.org"


class _Transient(Exception):
    pass


class MailHook(BaseHook):
    """Send mail through the relay of the Connection ``smtp_outbound``."""

    conn_name_attr = "conn_id"
    conn_type = "smtp"
    hook_name = "Mail relay"
    default_policy = RetryPolicy(attempts=3, backoff_seconds=0.5, max_backoff_seconds=5.0)

    def __init__(
        self,
        conn_id: str = CONNECTION_ID,
        *,
        policy: RetryPolicy | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.policy = policy or self.default_policy
        self.timeout_seconds = timeout_seconds

    @cached_property
    def connection(self) -> Any | None:
        try:
            return self.get_connection(self.conn_id)
        except Exception:  # not defined (the task SDK raises its own error type)
            return None

    def configured(self) -> bool:
        return self.connection is not None and bool(self.connection.host)

    def sender(self) -> str:
        extra = dict(self.connection.extra_dejson or {}) if self.connection else {}
        return str(extra.get("from") or DEFAULT_SENDER)

    def _open(self) -> smtplib.SMTP:
        connection = self.connection
        if connection is None or not connection.host:
            raise ConfigurationError(f"Connection {self.conn_id}", "no mail relay is configured")
        host, port = connection.host, int(connection.port or 25)
        client = smtplib.SMTP(host, port, timeout=self.timeout_seconds)
        client.ehlo()
        if connection.login:
            if not is_loopback(host):
                client.starttls()
                client.ehlo()
            client.login(connection.login, connection.password or "")
        return client

    def send(
        self, to: str, subject: str, text: str, attachments: Sequence[tuple[str, str, bytes]]
    ) -> str:
        """Send one message; its Message-ID."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender(), to, subject
        message["Message-ID"] = make_msgid(domain=self.sender().split("@")[-1])
        message.set_content(text)
        for filename, content_type, content in attachments:
            main, _, rest = content_type.partition("/")
            subtype, *params = [part.strip() for part in rest.split(";")]
            extra = dict(
                p.split("=", 1) for p in params if "=" in p and not p.startswith("charset")
            )
            message.add_attachment(
                content, maintype=main, subtype=subtype, filename=filename, params=extra
            )

        def attempt() -> None:
            try:
                with self._open() as client:
                    client.send_message(message)
            except smtplib.SMTPResponseException as error:
                if 400 <= error.smtp_code < 500:
                    raise _Transient(f"the relay answered {error.smtp_code}") from None
                raise ExternalServiceError(
                    f"mail relay refused the message ({error.smtp_code})"
                ) from None
            except (smtplib.SMTPServerDisconnected, OSError) as error:  # timeouts, refusals
                raise _Transient(type(error).__name__) from None

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.policy.attempts)),
            wait=tenacity.wait_exponential_jitter(
                multiplier=self.policy.backoff_seconds,
                max=self.policy.max_backoff_seconds,
                jitter=self.policy.backoff_seconds,
            ),
            retry=tenacity.retry_if_exception_type(_Transient),
            reraise=True,
        )
        try:
            retrying(attempt)
        except _Transient as error:
            raise RetriesExhausted("mail relay", str(error), max(1, self.policy.attempts)) from None
        return str(message["Message-ID"])
