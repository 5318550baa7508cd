"""StoreManager: scheme -> store class in one table, and one shared store per endpoint.

Store modules are imported lazily, so ``import orchestore`` never pulls in a cloud SDK, and a
missing SDK is reported with the extra to install. Stores are cached per (family, endpoint,
credentials fingerprint, options): every task and hook in the process reuses one client and its
connection pool. The fingerprint is a keyed hash, never the secret.

A lookup is on the path of every ``get_dataitem`` call, so it is kept to a few microseconds:
store classes are remembered per family, and a credentials model (immutable) is fingerprinted
once per instance (a fingerprint costs ~20 µs: a JSON dump and an HMAC).
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import json
import secrets
import threading
import weakref
from collections.abc import Callable
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


_CLASSES: dict[str, type[Store]] = {}


def store_class(url: StoreURL) -> type[Store]:
    """The class serving ``url``'s family, imported on first use."""
    found = _CLASSES.get(url.family)
    if found is not None:
        return found
    module_name, class_name, extra = STORES[url.family]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if not extra or (exc.name or "").startswith("orchestore"):
            raise
        raise MissingDependencyError(f"the {url.scheme}:// store", extra=extra) from None
    found = _CLASSES[url.family] = getattr(module, class_name)
    return found


#: id(model) -> (a weak reference to it, its fingerprint); an entry leaves with its model
_FINGERPRINTS: dict[int, tuple[weakref.ref[CredentialsModel], str]] = {}


def fingerprint_of(credentials: CredentialsModel | None) -> str:
    """``credentials.fingerprint()``, computed once per model instance (models are frozen)."""
    if credentials is None:
        return ""
    key = id(credentials)
    entry = _FINGERPRINTS.get(key)
    if entry is not None and entry[0]() is credentials:
        return entry[1]
    value = credentials.fingerprint()
    _FINGERPRINTS[key] = (weakref.ref(credentials, _forgetter(key, _FINGERPRINTS)), value)
    return value


def _forgetter(
    key: int, table: dict[int, tuple[weakref.ref[CredentialsModel], str]]
) -> Callable[[weakref.ref[CredentialsModel]], None]:
    """The weak reference's callback: drops the entry (not a newer model's at the same id).
    It holds the table itself: at interpreter exit module globals may already be gone."""

    def forget(reference: weakref.ref[CredentialsModel]) -> None:
        entry = table.get(key)
        if entry is not None and entry[0] is reference:
            del table[key]

    return forget


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
        options_key = tuple(sorted(options.items())) if options else ()
        key = (cls, cls.endpoint_key(url), fingerprint_of(credentials), options_key)
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
        return _model_from_dict(expected, credentials)
    if not isinstance(credentials, expected):
        raise CredentialsError(
            f"{url.scheme}:// takes {expected.__name__}, not {type(credentials).__name__}",
            url=url.display(),
        )
    return credentials


#: keyed digest of (model class, fields) -> the model built from them; never holds a secret
#: in a key (the digest's key is random per process); bounded: cleared when full
_MODELS: dict[bytes, CredentialsModel] = {}
_MODELS_MAX = 256
_MODELS_KEY = secrets.token_bytes(32)


def _model_from_dict(expected: type[CredentialsModel], fields: dict[str, Any]) -> CredentialsModel:
    """The model for a dict of fields, validated once per distinct dict (task code that passes
    the same dict on every call does not pay pydantic's validation and a fingerprint each time)."""
    try:
        text = json.dumps([expected.__qualname__, fields], sort_keys=True)
    except (TypeError, ValueError):  # values JSON cannot show: build it every time
        return expected(**fields)
    digest = hashlib.blake2b(text.encode(), key=_MODELS_KEY, digest_size=20).digest()
    model = _MODELS.get(digest)
    if model is None or type(model) is not expected:
        model = expected(**fields)
        if len(_MODELS) >= _MODELS_MAX:
            _MODELS.clear()
        _MODELS[digest] = model
    return model


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
