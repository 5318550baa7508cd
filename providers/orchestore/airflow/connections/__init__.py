"""Airflow connections -> orchestore credential models: one adapter per connection type.

``credentials_for_connection(conn_id, url)`` is the whole public job: it looks the
connection up with Airflow's own API (so secrets backends, ``AIRFLOW_CONN_*`` and the API
server all work), translates it with its type's adapter, reads a Vault secret when the
connection points at one, and returns the URL's credential model (None for stores that take
none). Every secret it resolves goes to the log masker (the sink is installed on first use
here, and on import by ``orchestore.airflow.hooks``: importing the adapters alone touches no
Airflow state).
"""

from __future__ import annotations

import asyncio
from typing import Any

from orchestore.airflow.connections.base import Adapted, ConnectionLike, extras_of
from orchestore.airflow.connections.source import ADAPTERS, ConnectionSource, adapt
from orchestore.airflow.masking import install_mask_sink
from orchestore.credentials.base import CredentialsModel
from orchestore.credentials.resolver import resolve_credentials
from orchestore.urls import StoreURL

__all__ = [
    "ADAPTERS",
    "Adapted",
    "ConnectionSource",
    "acredentials_for_connection",
    "adapt",
    "aget_connection",
    "credentials_for_connection",
    "get_connection",
]


def get_connection(conn_id: str) -> Any:
    """Airflow's connection lookup (task SDK): secrets backends, env vars, API server."""
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


async def aget_connection(conn_id: str) -> Any:
    """The async lookup triggers must use (the sync one can deadlock in the triggerer)."""
    from airflow.sdk import BaseHook

    return await BaseHook.aget_connection(conn_id)


def credentials_for_connection(conn_id: str, url: str | StoreURL) -> CredentialsModel | None:
    """The credentials connection ``conn_id`` gives for ``url`` (None: the store takes none)."""
    install_mask_sink()
    source = ConnectionSource(get_connection(conn_id), get_connection)
    return resolve_credentials(url, source=source, allow_env=False)


async def acredentials_for_connection(conn_id: str, url: str | StoreURL) -> CredentialsModel | None:
    """``credentials_for_connection`` for async code: connections via ``aget_connection``.

    The Vault connection is fetched asynchronously too; the Vault read (blocking hvac) runs
    in a worker thread.
    """
    install_mask_sink()
    conn = await aget_connection(conn_id)
    vault_conn_id = _vault_conn_id(conn)
    fetched: dict[str, ConnectionLike] = {}
    if vault_conn_id:
        fetched[vault_conn_id] = await aget_connection(vault_conn_id)
    source = ConnectionSource(conn, fetched.__getitem__)
    return await asyncio.to_thread(resolve_credentials, url, source=source, allow_env=False)


def _vault_conn_id(conn: ConnectionLike) -> str | None:
    return extras_of(conn).get("vault_conn_id") or None
