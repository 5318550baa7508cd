"""``ObjectStoragePath("v3io:///container/path", conn_id=...)``: a v3io connection's filesystem.

The connection's web API, access key (or user) and TLS settings build a V3ioFileSystem.
Airflow passes no URL to ``get_fs``, so a ``v3ios://host/...`` path is served by the
connection's web API too: put the host in the connection.
"""

from __future__ import annotations

from typing import Any

from orchestore.stores.v3io_fs import V3ioFileSystem

__all__ = ["get_fs", "schemes"]

schemes = ["v3io", "v3ios"]


def get_fs(conn_id: str | None, storage_options: dict[str, Any] | None = None) -> V3ioFileSystem:
    """The filesystem with ``conn_id``'s credentials (storage options as V3ioFileSystem's)."""
    options = dict(storage_options or {})
    if conn_id is None:
        return V3ioFileSystem(**options)
    from orchestore.airflow.connections import credentials_for_connection

    # Credentials do not depend on the container: any v3io URL asks for the right model.
    credentials = credentials_for_connection(conn_id, "v3io:///container/")
    return V3ioFileSystem(credentials=credentials, **options)
