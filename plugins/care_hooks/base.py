"""The Airflow side shared by the care hooks: their Connection, its URL and credentials."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import httpx
from airflow.sdk import BaseHook

from care_hooks.http import ClientCredentials, RetryPolicy, make_client, require_secure_url


class CareHttpHook(BaseHook):
    """An HTTP hook on the Airflow Connection ``conn_id``, which may be undefined.

    Without a Connection the hook still works on the URLs its caller passes, with no
    credentials. With one, the credentials are, in this order:

    - a ``token`` (or ``bearer_token``) extra: sent as ``Authorization: Bearer``;
    - a ``token_url`` extra: OAuth2 client credentials, login as client id and
      password as secret (optional ``scope`` extra), the token sent as bearer;
    - a login: login and password as HTTP basic auth;
    - a password alone: sent as ``Authorization: Bearer``.

    The server and the token endpoint must be https; plain http is accepted only to
    a loopback address (the simulator and the tests). Anything else is a
    ConfigurationError naming the Connection.
    """

    conn_name_attr = "conn_id"
    conn_type = "http"
    default_path = ""
    default_policy = RetryPolicy()
    default_timeout_seconds = 10.0

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        policy: RetryPolicy | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.policy = policy or self.default_policy
        self.timeout_seconds = timeout_seconds or self.default_timeout_seconds

    @cached_property
    def connection(self) -> Any | None:
        """The Airflow Connection, or None when none is defined under ``conn_id``."""
        if self.conn_id is None:
            return None
        try:
            return self.get_connection(self.conn_id)
        except Exception:  # not defined (the task SDK raises its own error type)
            return None

    def base_url(self) -> str | None:
        """The Connection's host as a URL (``https`` when it names no scheme), if any.

        The host is either the whole base URL (``https://host:port/fhir``) or a host
        name, with port and schema (the path, default ``default_path``) in their own
        fields. Raises ConfigurationError for a URL that is not https (or loopback http).
        """
        connection = self.connection
        if connection is None or not connection.host:
            return None
        host = connection.host.rstrip("/")
        if "://" not in host:  # a host name: always https, whatever the Connection type
            port = f":{connection.port}" if connection.port else ""
            path = (connection.schema or self.default_path).strip("/")
            host = f"https://{host}{port}" + (f"/{path}" if path else "")
        return require_secure_url(str(host), f"Connection {self.conn_id} host")

    def credentials(self) -> tuple[dict[str, str], httpx.Auth | None]:
        """Headers and auth to send, from the Connection (none without one)."""
        connection = self.connection
        if connection is None:
            return {}, None
        extra = connection.extra_dejson or {}
        token = extra.get("token") or extra.get("bearer_token")
        if token:
            return {"Authorization": f"Bearer {token}"}, None
        if extra.get("token_url"):
            token_url = require_secure_url(
                str(extra["token_url"]), f"Connection {self.conn_id} extra token_url"
            )
            scope = extra.get("scope")
            auth = ClientCredentials(
                token_url, connection.login or "", connection.password or "", scope
            )
            return {}, auth
        if connection.login:
            return {}, httpx.BasicAuth(connection.login, connection.password or "")
        if connection.password:
            return {"Authorization": f"Bearer {connection.password}"}, None
        return {}, None

    def get_conn(self) -> httpx.Client:
        """A new client from the shared factory, carrying the Connection's credentials."""
        headers, auth = self.credentials()
        return make_client(timeout_seconds=self.timeout_seconds, headers=headers, auth=auth)
