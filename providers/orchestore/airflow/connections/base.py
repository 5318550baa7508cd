"""What every connection adapter shares: the connection's shape, its extras, the result type.

An adapter is a pure function from an Airflow connection to ``Adapted``: the credential
family it serves, the credential model's fields, the ds:// root and store options. Adapters
import no Airflow module, so they run the same on a task-SDK ``Connection``, a core
``airflow.models.Connection`` or a test double of either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from orchestore.errors import CredentialsError

__all__ = [
    "VAULT_KEYS",
    "Adapted",
    "ConnectionLike",
    "as_bool",
    "auth_method",
    "canonical_type",
    "clean",
    "describe",
    "extras_of",
]

#: the extra keys of the Vault section: they never reach a credential model
VAULT_KEYS = frozenset({"vault_conn_id", "vault_mount", "vault_path", "vault_version"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class ConnectionLike(Protocol):
    """The fields of an Airflow connection the adapters read (task SDK or core model)."""

    conn_id: str
    conn_type: str
    host: str | None
    port: int | None
    login: str | None
    password: str | None
    schema: str | None
    extra: str | None


@dataclass(frozen=True)
class Adapted:
    """One connection, translated: never printed with its field values."""

    family: str
    """The store family the credentials are for: s3, azure, gcs, v3io, http, file, store."""
    fields: dict[str, Any] = field(default_factory=dict, repr=False)
    """The credential model's fields (only those set); {} for stores without credentials."""
    root: str | None = None
    """The folder URL ``ds://<conn_id>/<path>`` resolves under; None when not configured."""
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    """Store options the connection sets (the catalog's database, the artifact root)."""


def describe(conn: ConnectionLike) -> str:
    """``Airflow connection 'id' (type t)``: how messages name a connection, never a value."""
    return f"Airflow connection '{conn.conn_id}' (type {conn.conn_type})"


def extras_of(conn: ConnectionLike) -> dict[str, Any]:
    """The connection's extra as a dict, with ``extra__<type>__`` prefixes removed.

    Old forms stored custom fields as ``extra__wasb__tenant_id``; newer ones as ``tenant_id``.
    Both are accepted; when both are present the plain name wins. Empty strings mean unset.
    """
    raw = conn.extra or "{}"
    if isinstance(raw, Mapping):
        data = dict(raw)
    else:
        try:
            data = json.loads(raw)
        except ValueError:
            raise CredentialsError(f"{describe(conn)}: its extra is not valid JSON") from None
    if not isinstance(data, dict):
        raise CredentialsError(f"{describe(conn)}: its extra must be a JSON object")
    plain: dict[str, Any] = {}
    prefixed: dict[str, Any] = {}
    for key, value in data.items():
        if value is None or value == "":
            continue
        if key.startswith("extra__") and key.count("__") >= 2:
            prefixed[key.split("__", 2)[2]] = value
        else:
            plain[key] = value
    return {**prefixed, **plain}


def clean(**values: Any) -> dict[str, Any]:
    """The keyword arguments that are set (not None, not an empty string)."""
    return {key: value for key, value in values.items() if value is not None and value != ""}


def as_bool(value: Any, name: str, conn: ConnectionLike) -> bool | None:
    """A boolean extra, which forms and URIs store as bools or strings; None when unset."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CredentialsError(f"{describe(conn)}: extra '{name}' must be true or false")


def auth_method(conn: ConnectionLike, extra: dict[str, Any], default: str) -> str:
    """The form's ``auth_method`` (``default`` when unset), checked against the form's enum."""
    from orchestore.airflow.forms import AUTH_METHODS

    allowed = AUTH_METHODS[canonical_type(conn.conn_type)]
    method = extra.get("auth_method") or default
    if method not in allowed:
        raise CredentialsError(
            f"{describe(conn)}: auth_method must be one of {', '.join(allowed)}, not {method!r}"
        )
    return str(method)


def canonical_type(conn_type: str | None) -> str:
    """Our type names as registered (``orchestores3``): they carry no separator because Airflow
    turns ``-`` into ``_`` when it reads a connection from JSON or a URI (``AIRFLOW_CONN_*``,
    secrets backends) and warns about ``_`` whenever it builds a URI. The separated spellings
    (``orchestore-s3``, ``orchestore_s3``) are read as the same type."""
    conn_type = conn_type or ""
    if conn_type.startswith(("orchestore-", "orchestore_")):
        return "orchestore" + conn_type[len("orchestore-") :]
    return conn_type
