"""DataItem: one URL's data, with the same methods for every scheme (MLRun's names).

A DataItem is cheap: a parsed URL plus a shared store from the StoreManager. Every method
validates its input and lets the store's typed errors through; nothing here knows a scheme.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import weakref
from types import TracebackType
from typing import IO, Any

from orchestore import dataframes
from orchestore.credentials.base import CredentialsModel
from orchestore.errors import ReadOnlyStoreError
from orchestore.manager import default_manager
from orchestore.stores.base import COPY_CHUNK, AtomicWriter, FileStat, Store
from orchestore.urls import StoreURL, parse_url

__all__ = ["DataItem", "get_dataitem"]

_READ_MODES = frozenset({"r", "rb", "rt"})
_WRITE_MODES = frozenset({"w", "wb", "wt"})


def get_dataitem(
    url: str | os.PathLike[str] | StoreURL,
    credentials: CredentialsModel | dict[str, Any] | None = None,
    **options: Any,
) -> DataItem:
    """The DataItem for ``url``; ``credentials`` is the scheme's model (or a dict of its fields).

    ``options`` are store options, e.g. ``root=`` to sandbox the file store.
    """
    parsed = parse_url(url)
    return DataItem(parsed, default_manager().get_store(parsed, credentials, **options))


class DataItem:
    """Read, write, list and convert the data at one URL."""

    def __init__(self, url: StoreURL, store: Store) -> None:
        self.store_url = url
        self.store = store
        self._temp_dirs: list[str] = []
        # the finalizer that removes local()'s copies is registered by the first copy: most
        # items never make one, and a DataItem per call should cost next to nothing
        self._cleanup: weakref.finalize[Any, Any] | None = None

    def __repr__(self) -> str:
        return f"DataItem({self.url!r})"

    def __enter__(self) -> DataItem:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the temporary copies that ``local()`` made."""
        _remove_dirs(self._temp_dirs)

    # -- naming -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The URL with credentials and signature query values stripped."""
        return self.store_url.display()

    @property
    def kind(self) -> str:
        """The store family: file, memory, http, s3, azure, gcs, v3io, store."""
        return self.store_url.family

    @property
    def key(self) -> str:
        """The object key (the path within the bucket or container)."""
        return self.store_url.key

    @property
    def suffix(self) -> str:
        """The lower-cased file extension, e.g. ``.csv``."""
        return self.store_url.suffix

    @property
    def meta(self) -> Any:
        """The catalog record behind a store:// item (its version now); None for other stores."""
        describe = getattr(self.store, "artifact_meta", None)
        return describe(self.store_url) if describe is not None else None

    @property
    def artifact_url(self) -> str | None:
        """The store:// URL pinned to that version's uid (it never moves); None elsewhere."""
        return getattr(self.meta, "url", None)

    # -- bytes ------------------------------------------------------------------------------------
    def get(self, offset: int = 0, size: int | None = None) -> bytes:
        """Bytes from ``offset``; ``size=None`` or ``0`` reads to the end (as MLRun does)."""
        _check_range(offset, size)
        return self.store.read(self.store_url, offset, size or None)

    def put(self, data: bytes | bytearray | memoryview | str, append: bool = False) -> None:
        """Write ``data`` (str as UTF-8), replacing the object atomically, or append to it."""
        payload = _as_buffer(data)
        if append:
            # Stores without append raise (Unsupported/ReadOnly) rather than overwrite.
            self.store.append(self.store_url, payload)
        else:
            self.store.write(self.store_url, payload)

    def open(self, mode: str = "rb", encoding: str = "utf-8") -> IO[Any]:
        """A streaming file object: ``rb``/``r`` to read, ``wb``/``w`` to write.

        A write becomes visible only when the file is closed without an error; leaving a
        ``with`` block by an exception discards it.
        """
        if mode in _READ_MODES:
            reader = self.store.open_reader(self.store_url)
            return reader if "b" in mode else io.TextIOWrapper(reader, encoding=encoding)
        if mode in _WRITE_MODES:
            writer = self.store.open_writer(self.store_url)
            return writer if "b" in mode else _AtomicTextWriter(writer, encoding=encoding)
        raise ValueError(f"unsupported mode {mode!r}; use 'rb', 'r', 'wb' or 'w'")

    def download(self, local_path: str | os.PathLike[str]) -> None:
        """Copy the object to a local file, atomically (the file appears complete or not at all)."""
        target = get_dataitem(os.path.abspath(os.fspath(local_path)))
        with self.open("rb") as reader, target.open("wb") as writer:
            shutil.copyfileobj(reader, writer, COPY_CHUNK)

    def upload(self, local_path: str | os.PathLike[str]) -> None:
        """Copy a local file to this URL, atomically."""
        source = get_dataitem(os.path.abspath(os.fspath(local_path)))
        with source.open("rb") as reader, self.open("wb") as writer:
            shutil.copyfileobj(reader, writer, COPY_CHUNK)

    def copy_to(
        self,
        target: str | os.PathLike[str] | StoreURL | DataItem,
        credentials: CredentialsModel | dict[str, Any] | None = None,
    ) -> DataItem:
        """Copy this object to ``target`` with ``orchestore.copy``: server-side within one
        store, else streamed and checksum-verified.

        Returns the target's DataItem. The target appears complete or not at all.
        """
        from orchestore.transfer import copy

        destination = target if isinstance(target, DataItem) else self._sibling(target, credentials)
        copy(self, destination)
        return destination

    def _sibling(
        self,
        target: str | os.PathLike[str] | StoreURL,
        credentials: CredentialsModel | dict[str, Any] | None,
    ) -> DataItem:
        """The target's DataItem; a URL on this store's endpoint reuses its credentials."""
        url = parse_url(target)
        same_endpoint = url.family == self.kind and (
            self.store.endpoint_key(url) == self.store.endpoint_key(self.store_url)
        )
        if credentials is None and same_endpoint:
            credentials = self.store.credentials
        return get_dataitem(url, credentials)

    # -- metadata -----------------------------------------------------------------------------
    def stat(self) -> FileStat:
        """Size, modification time, etag and content type."""
        return self.store.stat(self.store_url)

    def exists(self) -> bool:
        return self.store.exists(self.store_url)

    def listdir(self) -> list[str]:
        """Names of the direct children of this folder (folders end with ``/``), sorted."""
        return [entry.name for entry in self._list()]

    def ls(self, detail: bool = False) -> list[str] | list[FileStat]:
        """The children's URLs, or their FileStat with ``detail=True``."""
        entries = self._list()
        return entries if detail else [entry.url for entry in entries]

    def delete(self, recursive: bool = False, missing_ok: bool = False) -> None:
        """Remove the object (a folder with ``recursive``); NotFoundError unless ``missing_ok``."""
        try:
            self.store.delete(self.store_url, recursive=recursive)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def local(self) -> str:
        """A local path holding the data: the file itself for file URLs, else a temp copy.

        Temp copies are removed by ``close()``, at the end of a ``with`` block, or when the
        DataItem is garbage-collected.
        """
        path = self.store.local_path(self.store_url)
        if path is not None:
            return path
        folder = tempfile.mkdtemp(prefix="orchestore-")
        self._temp_dirs.append(folder)
        if self._cleanup is None:
            self._cleanup = weakref.finalize(self, _remove_dirs, self._temp_dirs)
        target = os.path.join(folder, self.store_url.name or "data")
        self.download(target)
        return target

    # -- DataFrames ---------------------------------------------------------------------------
    def as_df(self, format: str | None = None, **kwargs: Any) -> Any:
        """Read a pandas DataFrame; the format comes from the suffix unless ``format`` is given.

        A store:// key without a suffix takes the suffix of the version's stored bytes.
        """
        fmt = dataframes.format_for(self._data_suffix(), format, self.url)
        held = getattr(self.store, "object", None)
        if held is not None:
            value = held(self.store_url)
            if not isinstance(value, bytes):
                return value
        path = self.store.local_path(self.store_url)
        if path is not None:
            return dataframes.read_dataframe(path, fmt, **kwargs)
        with self.open("rb") as reader:
            return dataframes.read_dataframe(reader, fmt, **kwargs)

    def _data_suffix(self) -> str:
        if self.suffix in dataframes.FORMATS:
            return self.suffix
        target = getattr(self.meta, "target_path", None)
        return parse_url(target).suffix if target else self.suffix

    def write_df(self, df: Any, format: str | None = None, **kwargs: Any) -> None:
        """Write a DataFrame atomically; the format comes from the suffix unless given."""
        fmt = dataframes.format_for(self.suffix, format, self.url)
        if self.store.readonly:
            raise ReadOnlyStoreError(
                f"the {self.kind} store is read-only: cannot write", url=self.url
            )
        with self.open("wb") as writer:
            dataframes.write_dataframe(df, writer, fmt, **kwargs)

    def _list(self) -> list[FileStat]:
        return self.store.ls(self.store_url)


class _AtomicTextWriter(io.TextIOWrapper):
    """Text over an AtomicWriter that discards, rather than commits, on an exception."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            writer = self.buffer
            if isinstance(writer, AtomicWriter):
                writer.abort()
        super().__exit__(exc_type, exc, traceback)


def _as_buffer(data: object) -> bytes | bytearray | memoryview:
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, bytes | bytearray | memoryview):
        return data
    raise TypeError(
        f"put() takes bytes, bytearray, memoryview or str, not {type(data).__name__}; "
        "use write_df() for DataFrames"
    )


def _check_range(offset: int, size: int | None) -> None:
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a non-negative int, got {offset!r}")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise ValueError(f"size must be a non-negative int or None, got {size!r}")


def _remove_dirs(folders: list[str]) -> None:
    while folders:
        with contextlib.suppress(OSError):
            shutil.rmtree(folders.pop())
