"""``hashicorp_vault`` connections -> the core VaultConnection, and the Vault section.

The HashiCorp provider's fields keep their meaning: host/port give the address (https unless
``use_tls`` is false or the connection type is ``vault``/``http``), ``schema`` is the KV mount,
the password is the token (``auth_type=token``), the AppRole secret id, or the userpass
password; extras use the hook's parameter names (``auth_type``, ``auth_mount_point``,
``role_id``, ``kubernetes_role``, ``kubernetes_jwt_path``, ``jwt_role``, ``jwt_token``,
``jwt_token_path``, ``token_path``, ``kv_engine_version``, ``namespace``, ``verify``). Auth
types the core Vault client lacks (aws_iam, azure, gcp, github, ldap, radius) are refused by name.

A store connection's Vault section (``vault_conn_id``, ``vault_mount``, ``vault_path``,
``vault_version``) becomes a VaultSecretRef on such a connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestore.airflow.connections.base import (
    ConnectionLike,
    as_bool,
    clean,
    describe,
    extras_of,
)
from orchestore.credentials.vault import VaultConnection, VaultSecretRef
from orchestore.errors import CredentialsError

__all__ = ["VAULT_CONN_TYPES", "vault_connection", "vault_secret_ref"]

#: the connection types the HashiCorp provider (and so this adapter) accepts for Vault
VAULT_CONN_TYPES = frozenset({"hashicorp_vault", "vault", "vaults", "http", "https"})
_SUPPORTED = ("token", "approle", "kubernetes", "userpass", "jwt")


def vault_connection(conn: ConnectionLike) -> VaultConnection:
    """The core model for a ``hashicorp_vault`` connection; secrets stay SecretStr."""
    if conn.conn_type not in VAULT_CONN_TYPES:
        raise CredentialsError(
            f"{describe(conn)} is not a Vault connection: vault_conn_id must name a "
            "hashicorp_vault connection"
        )
    extra = extras_of(conn)
    auth = extra.get("auth_type") or "token"
    if auth not in _SUPPORTED:
        raise CredentialsError(
            f"{describe(conn)}: auth_type {auth!r} is not supported by orchestore's Vault "
            f"client; use one of {', '.join(_SUPPORTED)}"
        )
    fields: dict[str, Any] = clean(
        url=_address(conn, extra),
        namespace=extra.get("namespace"),
        auth_method=auth,
        auth_mount=extra.get("auth_mount_point"),
        **_verify(extra.get("verify"), conn),
        **_AUTH_FIELDS[auth](conn, extra),
    )
    return VaultConnection.from_mapping(fields, source=describe(conn))


def vault_secret_ref(
    extra: dict[str, Any], vault_conn: ConnectionLike, owner: str
) -> VaultSecretRef:
    """The KV secret a store connection's Vault section names (``owner`` for messages)."""
    vault_extra = extras_of(vault_conn)
    version = extra.get("vault_version")
    try:
        kv_version = int(vault_extra.get("kv_engine_version") or 2)
        pinned = int(version) if version is not None else None
    except (TypeError, ValueError):
        raise CredentialsError(
            f"{owner}: vault_version and the Vault connection's kv_engine_version must be integers"
        ) from None
    fields = clean(
        connection=vault_connection(vault_conn),
        mount=extra.get("vault_mount") or vault_conn.schema or "secret",
        path=extra.get("vault_path"),
        kv_version=kv_version,
        version=pinned,
    )
    return VaultSecretRef.from_mapping(fields, source=owner)


def _address(conn: ConnectionLike, extra: dict[str, Any]) -> str | None:
    host = (conn.host or "").strip().rstrip("/")
    if not host:
        raise CredentialsError(f"{describe(conn)}: the host (Vault's address) is empty")
    if "://" not in host:
        tls = as_bool(extra.get("use_tls"), "use_tls", conn)
        plain = conn.conn_type in ("vault", "http") or tls is False
        host = f"{'http' if plain else 'https'}://{host}"
    if conn.port and host.count(":") < 2:
        host = f"{host}:{conn.port}"
    return host


def _verify(value: Any, conn: ConnectionLike) -> dict[str, Any]:
    """The hook's ``verify``: a bool or a CA bundle path."""
    if value is None:
        return {}
    if isinstance(value, str) and value.strip().lower() not in ("true", "false", "1", "0"):
        return {"ca_bundle": value}
    return {} if as_bool(value, "verify", conn) else {"verify_ssl": False}


def _token(conn: ConnectionLike, extra: dict[str, Any]) -> dict[str, Any]:
    token = conn.password or extra.get("token")
    if not token and extra.get("token_path"):
        token = _read(extra["token_path"], conn)
    return clean(token=token)


def _approle(conn: ConnectionLike, extra: dict[str, Any]) -> dict[str, Any]:
    return clean(role_id=extra.get("role_id") or conn.login, secret_id=conn.password)


def _userpass(conn: ConnectionLike, extra: dict[str, Any]) -> dict[str, Any]:
    return clean(username=conn.login, password=conn.password)


def _kubernetes(conn: ConnectionLike, extra: dict[str, Any]) -> dict[str, Any]:
    return clean(role=extra.get("kubernetes_role"), jwt_path=extra.get("kubernetes_jwt_path"))


def _jwt(conn: ConnectionLike, extra: dict[str, Any]) -> dict[str, Any]:
    return clean(
        role=extra.get("jwt_role"),
        jwt=extra.get("jwt_token") or conn.password,
        jwt_path=extra.get("jwt_token_path"),
    )


_AUTH_FIELDS = {
    "token": _token,
    "approle": _approle,
    "userpass": _userpass,
    "kubernetes": _kubernetes,
    "jwt": _jwt,
}


def _read(path: str, conn: ConnectionLike) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise CredentialsError(
            f"{describe(conn)}: cannot read token_path {path}: {exc.strerror}"
        ) from None
