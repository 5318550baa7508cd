"""StoreManager: scheme -> store class in one table, and one shared store per endpoint.

Store modules are imported lazily, so ``import orchestore`` never pulls in a cloud SDK, and a
missing SDK is reported with the extra to install. Stores are cached per (family, endpoint,
credentials fingerprint, options): every task and hook in the process reuses one client and its
connection pool. The fingerprint is a keyed hash, never the secret.
"""

from __future__ import annotations

import atexit
import importlib
import threading
from typing import Any, Final

from orchestore.credentials.base import CredentialsModel
from orchestore.errors import CredentialsError, MissingDependencyError
from orchestore.stores.base import Store
from orchestore.urls import SCHEMES, StoreURL, parse_url

__all__ = ["STORES", "StoreManager", "default_manager"]

#: store family -> (module, class, extra that installs its SDK; "" when the core suffices)
STORES: Final[dict[str, tuple[str, str, str]]] = {
    "azure": ("orchestore.stores.azure", "AzureStore", "azure"),
    "file": ("orchestore.stores.file", "FileStore", ""),
    "gcs": ("orchestore.stores.gcs", "GCSStore", "gcs"),
    "http": ("orchestore.stores.http", "HttpStore", ""),
    "memory": ("orchestore.stores.memory", "MemoryStore", ""),
    "s3": ("orchestore.stores.s3", "S3Store", "s3"),
    "store": ("orchestore.stores.artifacts", "ArtifactStore", "catalog"),
    "v3io": ("orchestore.stores.v3io", "V3ioStore", "v3io"),
}
assert set(STORES) == set(SCHEMES.values()), "every URL family needs a row in STORES"


def store_class(url: StoreURL) -> type[Store]:
    """The class serving ``url``'s family, imported on first use."""
    module_name, class_name, extra = STORES[url.family]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if not extra or (exc.name or "").startswith("orchestore"):
            raise
        raise MissingDependencyError(f"the {url.scheme}:// store", extra=extra) from None
    return getattr(module, class_name)


class StoreManager:
    """Hands out shared, cached store instances; thread-safe."""

    def __init__(self) -> None:
        self._stores: dict[tuple[object, ...], Store] = {}
        self._lock = threading.Lock()

    def get_store(
        self,
        url: StoreURL | str,
        credentials: CredentialsModel | dict[str, Any] | None = None,
        **options: Any,
    ) -> Store:
        """The store for ``url``'s endpoint with these credentials and options."""
        url = parse_url(url)
        cls = store_class(url)
        credentials = _typed_credentials(cls, url, credentials)
        fingerprint = credentials.fingerprint() if credentials is not None else ""
        key = (cls, cls.endpoint_key(url), fingerprint, tuple(sorted(options.items())))
        with self._lock:
            store = self._stores.get(key)
            if store is None:
                endpoint = url if not url.path else url.with_path("")
                store = cls(endpoint, credentials, **options)
                self._stores[key] = store
            return store

    def close(self) -> None:
        """Close every cached store (their connection pools) and forget them."""
        with self._lock:
            stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            store.close()

    def __len__(self) -> int:
        return len(self._stores)


def _typed_credentials(
    cls: type[Store], url: StoreURL, credentials: CredentialsModel | dict[str, Any] | None
) -> CredentialsModel | None:
    expected = cls.credentials_type
    if credentials is None:
        return None
    if expected is None:
        raise CredentialsError(
            f"the {url.scheme or 'file'} store takes no credentials", url=url.display()
        )
    if isinstance(credentials, dict):
        return expected(**credentials)
    if not isinstance(credentials, expected):
        raise CredentialsError(
            f"{url.scheme}:// takes {expected.__name__}, not {type(credentials).__name__}",
            url=url.display(),
        )
    return credentials


_DEFAULT: StoreManager | None = None
_DEFAULT_LOCK = threading.Lock()


def default_manager() -> StoreManager:
    """The process-wide manager that ``get_dataitem`` uses."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = StoreManager()
            atexit.register(_DEFAULT.close)
        return _DEFAULT
