"""orchestore: one URL, any store, credentials from the orchestrator.

    >>> import orchestore
    >>> item = orchestore.get_dataitem("memory://demo/hello.txt")
    >>> item.put("hello")
    >>> item.get()
    b'hello'

Importing this package is cheap: it needs only fsspec and pydantic; store SDKs and pandas are
imported when a URL of theirs is first used.
"""

from typing import TYPE_CHECKING

from orchestore._version import __version__
from orchestore.errors import (  # the error tree imports nothing but the standard library
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

if TYPE_CHECKING:
    from orchestore.catalog.api import delete_artifact, list_artifacts, log_artifact
    from orchestore.credentials import CredentialsModel, HttpCredentials
    from orchestore.items import DataItem, get_dataitem
    from orchestore.manager import StoreManager, default_manager
    from orchestore.stores.base import FileStat
    from orchestore.stores.memory import get_in_memory_item, set_in_memory_item
    from orchestore.stores.retry import RetryPolicy
    from orchestore.transfer import TransferProgress, TransferSummary, copy
    from orchestore.urls import ArtifactRef, StoreURL, parse_url

#: Every public name, imported on first use. The credential models are pydantic models whose
#: class construction costs ~0.2 s: `orchestore --help`, `orchestore.cli` and the Airflow
#: provider's metadata need none of them; the catalog needs SQLAlchemy (extra ``catalog``).
#: The errors are imported at once: they need only the standard library.
_LAZY = {
    "delete_artifact": "orchestore.catalog.api",
    "list_artifacts": "orchestore.catalog.api",
    "log_artifact": "orchestore.catalog.api",
    "CredentialsModel": "orchestore.credentials",
    "HttpCredentials": "orchestore.credentials",
    "DataItem": "orchestore.items",
    "get_dataitem": "orchestore.items",
    "StoreManager": "orchestore.manager",
    "default_manager": "orchestore.manager",
    "FileStat": "orchestore.stores.base",
    "get_in_memory_item": "orchestore.stores.memory",
    "set_in_memory_item": "orchestore.stores.memory",
    "RetryPolicy": "orchestore.stores.retry",
    "TransferProgress": "orchestore.transfer",
    "TransferSummary": "orchestore.transfer",
    "copy": "orchestore.transfer",
    "ArtifactRef": "orchestore.urls",
    "StoreURL": "orchestore.urls",
    "parse_url": "orchestore.urls",
}


def __getattr__(name: str) -> object:
    """Import a public name's module when the name is first asked for, and keep the name."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'orchestore' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


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
