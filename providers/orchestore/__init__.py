"""orchestore: one URL, any store, credentials from the orchestrator.

    >>> import orchestore
    >>> item = orchestore.get_dataitem("memory://demo/hello.txt")
    >>> item.put("hello")
    >>> item.get()
    b'hello'

Importing this package is cheap: it needs only fsspec and pydantic; store SDKs and pandas are
imported when a URL of theirs is first used.
"""

from orchestore._version import __version__
from orchestore.credentials import CredentialsModel, HttpCredentials
from orchestore.errors import (
    AlreadyExistsError,
    ChecksumMismatchError,
    CredentialsError,
    InvalidURLError,
    MissingDependencyError,
    NotFoundError,
    OrchestoreError,
    PermissionDeniedError,
    ReadOnlyStoreError,
    StoreUnavailableError,
    UnsupportedOperationError,
    VaultUnavailableError,
)
from orchestore.items import DataItem, get_dataitem
from orchestore.manager import StoreManager, default_manager
from orchestore.stores.base import FileStat
from orchestore.stores.memory import get_in_memory_item, set_in_memory_item
from orchestore.stores.retry import RetryPolicy
from orchestore.urls import ArtifactRef, StoreURL, parse_url

#: catalog functions, imported on first use: the catalog needs SQLAlchemy (extra ``catalog``)
_LAZY = {
    name: "orchestore.catalog.api" for name in ("delete_artifact", "list_artifacts", "log_artifact")
}
#: the transfer engine, imported on first use (it starts no threads and imports no SDK, but
#: DAG files that never copy need not pay for concurrent.futures)
_LAZY.update(
    {name: "orchestore.transfer" for name in ("TransferProgress", "TransferSummary", "copy")}
)


def __getattr__(name: str) -> object:
    """Import the artifact catalog or the transfer engine only when asked for."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'orchestore' has no attribute {name!r}")


__all__ = [
    "AlreadyExistsError",
    "ArtifactRef",
    "ChecksumMismatchError",
    "CredentialsError",
    "CredentialsModel",
    "DataItem",
    "FileStat",
    "HttpCredentials",
    "InvalidURLError",
    "MissingDependencyError",
    "NotFoundError",
    "OrchestoreError",
    "PermissionDeniedError",
    "ReadOnlyStoreError",
    "RetryPolicy",
    "StoreManager",
    "StoreURL",
    "StoreUnavailableError",
    "TransferProgress",
    "TransferSummary",
    "UnsupportedOperationError",
    "VaultUnavailableError",
    "__version__",
    "copy",
    "default_manager",
    "delete_artifact",
    "get_dataitem",
    "get_in_memory_item",
    "list_artifacts",
    "log_artifact",
    "parse_url",
    "set_in_memory_item",
]
