"""The store:// artifact catalog: versioned artifacts in any SQLAlchemy database.

A SQLite file (``~/.orchestore/catalog.db``) by default, or the database that
``ORCHESTORE_CATALOG_URL`` / ``catalog=`` names (PostgreSQL when many workers share it). This
package imports SQLAlchemy, so ``import orchestore`` reaches it only lazily.
"""

from __future__ import annotations

from orchestore.catalog.api import (
    ArtifactRecord,
    delete_artifact,
    list_artifacts,
    log_artifact,
    resolve,
)
from orchestore.catalog.db import catalog_url

__all__ = [
    "ArtifactRecord",
    "catalog_url",
    "delete_artifact",
    "list_artifacts",
    "log_artifact",
    "resolve",
]
