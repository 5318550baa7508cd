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
from orchestore.urls import ArtifactRef, StoreURL, parse_url

__all__ = [
    "ArtifactRef",
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
    "StoreManager",
    "StoreURL",
    "StoreUnavailableError",
    "UnsupportedOperationError",
    "VaultUnavailableError",
    "__version__",
    "default_manager",
    "get_dataitem",
    "get_in_memory_item",
    "parse_url",
    "set_in_memory_item",
]
