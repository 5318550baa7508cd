"""DataStoreHook: DataItem operations on any URL, with credentials from an Airflow connection.

The hook is thin: the URL's scheme picks the store, the connection supplies the credentials
(orchestore.airflow.connections), and the core does the work. Stores come from the process's
``default_manager()``: one client per (store, endpoint, credentials) per process, shared by
every hook, operator and ``get_dataitem`` call, because building a cloud client costs far
more than a small request (a new S3 client per hook made 1 KiB operations ~50x slower).
Connections and credentials are looked up once per hook.

Airflow caches nothing between hooks, and task code often builds a hook per call: the
credentials resolved from a connection are therefore kept for the process, keyed by a keyed
digest of the connection's fields (never the secret itself), so a hook per call pays Airflow's
connection lookup but not the translation, validation and fingerprint again; a changed
connection has another digest and is resolved afresh. Connections that read a Vault secret
are resolved every time (the Vault client's lease-aware cache applies there).

``ds://<conn_id>/<path>`` URLs (MLRun's datastore-profile form) name the connection in the
URL: the connection's root (a ``root`` extra, else its bucket/container field) plus the path
is the real URL, and the connection supplies the credentials.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import secrets
import threading
from typing import IO, Any, ClassVar

from airflow.sdk import BaseHook

from orchestore.airflow.connections import ConnectionSource, get_connection
from orchestore.airflow.connections.base import describe, extras_of
from orchestore.airflow.masking import install_mask_sink
from orchestore.credentials.base import CredentialsModel
from orchestore.credentials.resolver import credentials_model, resolve_credentials
from orchestore.errors import CredentialsError, InvalidURLError, NotFoundError, OrchestoreError
from orchestore.items import DataItem
from orchestore.manager import default_manager
from orchestore.stores.base import FileStat
from orchestore.urls import StoreURL, parse_url

__all__ = ["DS_SCHEME", "DataStoreHook"]

DS_SCHEME = "ds://"

install_mask_sink()


class DataStoreHook(BaseHook):
    """Read, write, list and copy any orchestore URL with one connection's credentials.

    ``conn_id`` None means: no connection (stores that need no credentials, or ds:// URLs,
    which name their own connection).
    """

    conn_name_attr: ClassVar[str] = "conn_id"
    default_conn_name: ClassVar[str] = "orchestore_default"
    conn_type: ClassVar[str] = ""
    hook_name: ClassVar[str] = "orchestore data store"

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self._manager = default_manager()
        self._sources: dict[str, ConnectionSource] = {}
        self._credentials: dict[tuple[str, str], CredentialsModel | None] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # -- connections and credentials ---------------------------------------------------------
    def source(self, conn_id: str | None = None) -> ConnectionSource:
        """The connection ``conn_id`` (default: the hook's) as a credential source, cached."""
        conn_id = conn_id or self.conn_id
        if not conn_id:
            raise CredentialsError(f"{type(self).__name__} has no conn_id")
        with self._lock:
            found = self._sources.get(conn_id)
        if found is None:
            found = ConnectionSource(get_connection(conn_id), get_connection)
            with self._lock:
                self._sources[conn_id] = found
        return found

    def credentials_for(
        self, url: str | StoreURL, conn_id: str | None = None
    ) -> CredentialsModel | None:
        """The credentials for ``url`` (a ds:// URL names its own connection); None: none taken."""
        conn_id, parsed = self._resolve(url, conn_id)
        return self._credentials_for(parsed, conn_id)

    def _credentials_for(self, url: StoreURL, conn_id: str | None) -> CredentialsModel | None:
        if conn_id is None or credentials_model(url) is None:
            return None
        key = (conn_id, url.family)
        with self._lock:
            if key in self._credentials:
                return self._credentials[key]
        found = _resolved(url, self.source(conn_id))
        with self._lock:
            self._credentials[key] = found
        return found

    # -- URLs ----------------------------------------------------------------------------------
    def item(self, url: str | os.PathLike[str] | StoreURL, conn_id: str | None = None) -> DataItem:
        """The DataItem for ``url`` with this hook's (or ``conn_id``'s) credentials."""
        conn_id, parsed = self._resolve(url, conn_id)
        options: dict[str, Any] = {}
        credentials = self._credentials_for(parsed, conn_id)
        if parsed.family == "store" and conn_id is not None:
            options, credentials = self.catalog_settings(conn_id)
        store = self._manager.get_store(parsed, credentials, **options)
        return DataItem(parsed, store)

    def resolve_url(self, url: str | os.PathLike[str] | StoreURL) -> str:
        """The real URL behind ``url`` (a ds:// URL joined to its connection's root)."""
        return str(self._resolve(url, None)[1])

    def _resolve(
        self, url: str | os.PathLike[str] | StoreURL, conn_id: str | None
    ) -> tuple[str | None, StoreURL]:
        text = url if isinstance(url, str) else None
        if text is not None and text.startswith(DS_SCHEME):
            return self._resolve_ds(text)
        return conn_id or self.conn_id, parse_url(url)

    def _resolve_ds(self, url: str) -> tuple[str, StoreURL]:
        conn_id, _, path = url.removeprefix(DS_SCHEME).partition("/")
        if not conn_id:
            raise InvalidURLError(
                "a ds:// URL needs a connection id: ds://<conn_id>/<path>", url=url
            )
        source = self.source(conn_id)
        root = source.adapted.root
        if not root:
            raise InvalidURLError(
                f"{describe(source.conn)} has no root for ds:// URLs: set its 'root' extra "
                "(e.g. s3://bucket/prefix) or its bucket/container field",
                url=url,
            )
        if any(part == ".." for part in path.split("/")):
            raise InvalidURLError("'..' may not leave the connection's root", url=url)
        return conn_id, parse_url(_join(root, path))

    def catalog_settings(self, conn_id: str) -> tuple[dict[str, Any], CredentialsModel | None]:
        """store:// options from a catalog connection, and its artifact store's credentials."""
        source = self.source(conn_id)
        if source.adapted.family != "store":
            return {}, None
        options = dict(source.adapted.options)
        artifact_conn_id = extras_of(source.conn).get("artifact_conn_id")
        root = options.get("artifact_root")
        credentials = None
        if artifact_conn_id and root:
            credentials = self._credentials_for(parse_url(root), artifact_conn_id)
        return options, credentials

    # -- DataItem operations ------------------------------------------------------------------
    def get(self, url: str | StoreURL, offset: int = 0, size: int | None = None) -> bytes:
        return self.item(url).get(offset, size)

    def put(self, url: str | StoreURL, data: bytes | str, append: bool = False) -> None:
        self.item(url).put(data, append=append)

    def open(self, url: str | StoreURL, mode: str = "rb", encoding: str = "utf-8") -> IO[Any]:
        return self.item(url).open(mode, encoding=encoding)

    def stat(self, url: str | StoreURL) -> FileStat:
        return self.item(url).stat()

    def ls(self, url: str | StoreURL, detail: bool = False) -> list[str] | list[FileStat]:
        return self.item(url).ls(detail=detail)

    def exists(self, url: str | StoreURL) -> bool:
        return self.item(url).exists()

    def delete(
        self, url: str | StoreURL, recursive: bool = False, missing_ok: bool = False
    ) -> None:
        self.item(url).delete(recursive=recursive, missing_ok=missing_ok)

    def as_df(self, url: str | StoreURL, format: str | None = None, **kwargs: Any) -> Any:
        return self.item(url).as_df(format, **kwargs)

    def write_df(
        self, df: Any, url: str | StoreURL, format: str | None = None, **kwargs: Any
    ) -> None:
        self.item(url).write_df(df, format, **kwargs)

    def copy(
        self,
        src: str | StoreURL,
        dst: str | StoreURL,
        *,
        dst_conn_id: str | None = None,
        **options: Any,
    ) -> Any:
        """Copy ``src`` (this hook's connection) to ``dst`` (``dst_conn_id``, else the same).

        Uses the transfer engine (``orchestore.transfer.copy``; ``options`` are its keywords:
        recursive, sync, overwrite, checksum, progress, ...) and returns its summary.
        """
        from orchestore.transfer import copy

        return copy(self.item(src), self.item(dst, dst_conn_id), **options)

    # -- Airflow's Test button -----------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """List the connection's root: a real request with the real credentials.

        The message names the connection and what failed, never a secret.
        """
        name = f"connection '{self.conn_id}'"
        try:
            source = self.source()
            name = source.name
            root = source.adapted.root
            if not root:
                return False, (
                    f"{name} has nothing to test against: set its bucket/container field or "
                    "its 'root' extra"
                )
            return True, f"{name}: {self.probe(root, self.conn_id)}"
        except OrchestoreError as exc:
            return False, f"{name}: {type(exc).__name__}: {exc}"
        except Exception as exc:  # the UI needs an answer, not a traceback
            return False, f"{name}: {type(exc).__name__} while testing"

    def probe(self, url: str, conn_id: str | None) -> str:
        """List ``url``; a folder that does not exist yet is fine when its bucket lists."""
        item = self.item(url, conn_id)
        try:
            item.ls()
        except NotFoundError:
            if not item.store_url.key.strip("/"):
                raise
            bucket = item.store_url.with_path("")
            self.item(bucket, conn_id).ls()
            return f"listed {bucket} ({item.url} is empty or does not exist yet)"
        return f"listed {item.url}"

    def close(self) -> None:
        """Nothing to release: the clients are the process's shared ones (closed at exit)."""


#: keyed digest of (URL family, connection fields) -> the credentials they resolve to; the
#: digest's key is random per process, so no key reveals a secret; cleared when full
_RESOLVED: dict[bytes, CredentialsModel | None] = {}
_RESOLVED_MAX = 256
_RESOLVED_KEY = secrets.token_bytes(32)
_RESOLVED_LOCK = threading.Lock()


def _resolved(url: StoreURL, source: ConnectionSource) -> CredentialsModel | None:
    """``resolve_credentials`` for a connection, once per distinct connection and family."""
    key = _connection_digest(source, url.family)
    if key is None:
        return resolve_credentials(url, source=source, allow_env=False)
    with _RESOLVED_LOCK:
        cached = key in _RESOLVED
        found = _RESOLVED.get(key)
    if cached:  # its secrets reached this process's log masker when it was resolved
        return found
    found = resolve_credentials(url, source=source, allow_env=False)
    with _RESOLVED_LOCK:
        if len(_RESOLVED) >= _RESOLVED_MAX:
            _RESOLVED.clear()
        _RESOLVED[key] = found
    return found


def _connection_digest(source: ConnectionSource, family: str) -> bytes | None:
    """What identifies a connection's resolution; None when it may change without the
    connection changing (a Vault secret) or cannot be told apart."""
    conn = source.conn
    extra = extras_of(conn)
    if extra.get("vault_path") or extra.get("vault_conn_id"):
        return None
    fields = [
        family,
        conn.conn_id,
        conn.conn_type,
        conn.host,
        conn.login,
        conn.password,
        conn.schema,
        conn.port,
        extra,
    ]
    try:
        text = json.dumps(fields, sort_keys=True)
    except (TypeError, ValueError):
        return None
    return hashlib.blake2b(text.encode(), key=_RESOLVED_KEY, digest_size=20).digest()


def _join(root: str, path: str) -> str:
    """``root`` + ``path``: a folder root gets the path appended below it."""
    if not path:
        return root
    return (
        root.rstrip("/")
        + "/"
        + posixpath.normpath(path).lstrip("/")
        + ("/" if path.endswith("/") else "")
    )
