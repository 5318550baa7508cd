"""``http`` and ``fs`` connections: HttpCredentials fields, and a local root for file URLs.

``http`` keeps the HTTP provider's meaning: host (with or without a scheme), ``schema`` as
the scheme, port, login/password for basic auth, and the extra as request headers, minus
the keys that provider reads as options (``verify``, ``timeout``, ...) and orchestore's own
(``root``, ``token``, ``allowed_hosts`` and the other HttpCredentials settings, the Vault
section). ``fs`` names a local folder in its ``path`` extra.
"""

from __future__ import annotations

from typing import Any

from orchestore.airflow.connections.base import (
    VAULT_KEYS,
    Adapted,
    ConnectionLike,
    clean,
    describe,
    extras_of,
)
from orchestore.errors import CredentialsError

__all__ = ["adapt_fs", "adapt_http"]

#: extras the HTTP provider treats as settings, not headers (and orchestore's own)
_NOT_HEADERS = frozenset(
    {
        "allow_redirects",
        "auth_kwargs",
        "auth_type",
        "cert",
        "max_redirects",
        "proxies",
        "stream",
        "timeout",
        "token",
        "trust_env",
        "verify",
        "root",
        "allowed_hosts",
        "allow_private_networks",
        "max_response_bytes",
        *VAULT_KEYS,
    }
)


def adapt_http(conn: ConnectionLike) -> Adapted:
    """The HTTP provider's ``http`` connection."""
    extra = extras_of(conn)
    headers = {key: str(value) for key, value in extra.items() if key not in _NOT_HEADERS}
    fields: dict[str, Any] = clean(
        username=conn.login,
        password=conn.password,
        token=extra.get("token"),
        timeout=extra.get("timeout"),
        allowed_hosts=extra.get("allowed_hosts"),
        allow_private_networks=extra.get("allow_private_networks"),
        max_response_bytes=extra.get("max_response_bytes"),
    )
    if headers:
        fields["headers"] = headers
    fields.update(_verify(extra.get("verify")))
    return Adapted("http", fields, root=extra.get("root") or _base_url(conn))


def adapt_fs(conn: ConnectionLike) -> Adapted:
    """The ``fs`` connection: a local folder (``path`` extra); file URLs take no credentials."""
    extra = extras_of(conn)
    path = extra.get("root") or extra.get("path")
    if path is not None and not str(path).startswith(("/", "file:")):
        raise CredentialsError(f"{describe(conn)}: extra 'path' must be an absolute path")
    return Adapted("file", {}, root=path)


def _verify(value: Any) -> dict[str, Any]:
    if value is None or value is True or str(value).lower() == "true":
        return {}
    if value is False or str(value).lower() == "false":
        return {"verify_ssl": False}
    return {"ca_bundle": str(value)}


def _base_url(conn: ConnectionLike) -> str | None:
    host = (conn.host or "").strip().rstrip("/")
    if not host:
        return None
    if "://" not in host:
        host = f"{conn.schema or 'http'}://{host}"
    if conn.port and host.count(":") < 2:
        host = f"{host}:{conn.port}"
    return host + "/"
