"""``ObjectStoragePath("store://artifacts/<project>/<key>", conn_id=...)``: the read-only catalog.

The ``orchestorecatalog`` connection names the catalog's database; its ``artifact_conn_id``
supplies the credentials for the stores the artifacts' bytes live in.
"""

from __future__ import annotations

from typing import Any

from orchestore.catalog.fsspec import ArtifactFileSystem

__all__ = ["get_fs", "schemes"]

schemes = ["store"]


def get_fs(
    conn_id: str | None, storage_options: dict[str, Any] | None = None
) -> ArtifactFileSystem:
    """The catalog filesystem of ``conn_id`` (default: ORCHESTORE_CATALOG_URL's catalog)."""
    options = dict(storage_options or {})
    if conn_id is None:
        return ArtifactFileSystem(**options)
    from orchestore.airflow.hooks import CatalogHook

    hook = CatalogHook(conn_id)
    settings, credentials = hook.catalog_settings(conn_id)
    return ArtifactFileSystem(catalog=settings.get("catalog"), credentials=credentials, **options)
