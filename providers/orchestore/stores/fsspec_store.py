"""The shared base of the stores built on an fsspec filesystem (s3fs, adlfs, gcsfs).

The subclass builds the filesystem from its credential model, maps the backend's info dict to
a FileStat and, where fsspec leaves them untranslated, maps SDK errors; everything else lives
here once:

- one filesystem per store, built lazily (the SDK is imported on first use) with fsspec's
  instance and listings caches off: the StoreManager caches stores, and listings must be fresh;
- writes use ``autocommit=False``: parts/blocks are uploaded as they fill, and the object is
  committed only on a clean close; on error the upload is discarded (multipart aborted), so a
  failed write never makes a partial object visible (fsspec's own ``with`` commits it);
- reads go block by block (``block_size``) so memory does not grow with the object.
"""

from __future__ import annotations

import contextlib
import threading
from abc import abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from orchestore.credentials.base import CredentialsModel
from orchestore.errors import (
    InvalidURLError,
    NotFoundError,
    OrchestoreError,
    PermissionDeniedError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from orchestore.stores.base import AtomicWriter, Buffer, FileStat, Store
from orchestore.stores.retry import RetryPolicy
from orchestore.urls import StoreURL

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["FsspecStore"]


class _FsspecWriter(AtomicWriter):
    """An fsspec file opened with autocommit=False: commit() publishes, discard() aborts."""

    def __init__(self, url: StoreURL, file: Any, store: FsspecStore) -> None:
        super().__init__(url)
        self._file, self._store = file, store

    def _write(self, data: memoryview) -> None:
        with self._store.translated(self.url):
            self._file.write(data)

    def _commit(self) -> None:
        with self._store.translated(self.url):
            self._file.close()
            self._file.commit()

    def _discard(self) -> None:
        with contextlib.suppress(Exception):
            self._file.discard()
        with contextlib.suppress(Exception):
            self._file.closed = True  # close() would flush and upload what is buffered


class FsspecStore(Store):
    """A store on one fsspec filesystem; subclasses supply it and map its metadata."""

    #: bytes per read block and per uploaded part: bounds the memory of one open file
    block_size: ClassVar[int] = 16 * 1024 * 1024
    #: the AtomicWriter around an fsspec file opened for writing (a store may refine discard)
    writer_type: ClassVar[type[_FsspecWriter]] = _FsspecWriter
    retry_policy: ClassVar[RetryPolicy | None] = RetryPolicy()
    retry: RetryPolicy

    def __init__(
        self,
        endpoint: StoreURL,
        credentials: CredentialsModel | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        credentials = credentials if credentials is not None else self._default_credentials()
        credentials.check_usable()
        super().__init__(endpoint, credentials, retry=retry)
        self._fs: AbstractFileSystem | None = None
        self._fs_lock = threading.Lock()

    # -- what a subclass supplies -------------------------------------------------------------
    @abstractmethod
    def _make_filesystem(self) -> AbstractFileSystem:
        """Build the fsspec filesystem from ``self.credentials`` (import the SDK here)."""

    @abstractmethod
    def _stat_from_info(self, info: dict[str, Any], url: StoreURL) -> FileStat:
        """Map the filesystem's info dict to a FileStat."""

    def _map_error(self, exc: BaseException, url: StoreURL) -> OrchestoreError | None:
        """Translate an SDK error fsspec left untranslated; None to use the generic mapping."""
        return None

    def _write_options(self, url: StoreURL) -> dict[str, Any]:
        """Extra arguments for the filesystem's ``open(..., "wb")``, e.g. the content type."""
        return {}

    def _default_credentials(self) -> CredentialsModel:
        assert self.credentials_type is not None
        return self.credentials_type()

    # -- shared machinery ---------------------------------------------------------------------
    @property
    def fs(self) -> AbstractFileSystem:
        """The filesystem, built on first use."""
        if self._fs is None:
            with self._fs_lock:
                if self._fs is None:
                    self._fs = self._make_filesystem()
        return self._fs

    def fs_path(self, url: StoreURL) -> str:
        """``bucket/key`` as fsspec addresses it."""
        return f"{url.bucket}/{url.path}".rstrip("/")

    @contextlib.contextmanager
    def translated(self, url: StoreURL) -> Iterator[None]:
        """Map filesystem and SDK errors to the orchestore tree, naming the URL and source."""
        try:
            yield
        except OrchestoreError:
            raise
        except Exception as exc:
            mapped = self._map_error(exc, url)
            if mapped is None:
                mapped = self._generic_error(exc, url)
            raise mapped from None

    def _generic_error(self, exc: BaseException, url: StoreURL) -> OrchestoreError:
        where = url.display()
        source = self.credentials.source if self.credentials is not None else "no credentials"
        if isinstance(exc, FileNotFoundError):
            return NotFoundError("no such object, folder or bucket", url=where)
        if isinstance(exc, PermissionError):
            return PermissionDeniedError(f"access denied (credentials: {source})", url=where)
        if isinstance(exc, IsADirectoryError):
            return InvalidURLError("names a folder, not an object", url=where)
        return StoreUnavailableError(
            f"{self.family} request failed: {type(exc).__name__}", url=where
        )

    # -- the store contract -------------------------------------------------------------------
    def open_reader(self, url: StoreURL) -> BinaryIO:
        self.require_key(url)
        with self.translated(url):
            return self.fs.open(self.fs_path(url), "rb", block_size=self.block_size)

    def open_writer(self, url: StoreURL) -> AtomicWriter:
        self.require_key(url)
        with self.translated(url):
            file = self.fs.open(
                self.fs_path(url),
                "wb",
                block_size=self.block_size,
                autocommit=False,
                **self._write_options(url),
            )
        return self.writer_type(url, file, self)

    def read(self, url: StoreURL, offset: int = 0, size: int | None = None) -> bytes:
        self.require_key(url)
        path = self.fs_path(url)
        end = None if size is None else offset + size
        with self.translated(url):
            try:
                return self.fs.cat_file(path, start=offset or None, end=end)
            except FileNotFoundError:
                raise
            except Exception:
                # Past the end some backends answer 416 instead of nothing: read nothing.
                if offset and self.fs.size(path) <= offset:
                    return b""
                raise

    def write(self, url: StoreURL, data: Buffer) -> None:
        self.require_key(url)
        with self.translated(url):
            if self.fs.isdir(self.fs_path(url)):
                raise InvalidURLError("names a folder, not an object", url=url.display())
        super().write(url, data)

    def stat(self, url: StoreURL) -> FileStat:
        with self.translated(url):
            return self._stat_from_info(self.fs.info(self.fs_path(url)), url)

    def ls(self, url: StoreURL) -> list[FileStat]:
        path = self.fs_path(url)
        with self.translated(url):
            entries = self.fs.ls(path, detail=True)
            only = entries[0] if len(entries) == 1 else None
            if only is not None and only["type"] == "file" and only["name"].rstrip("/") == path:
                raise InvalidURLError(
                    "names an object where a folder is expected", url=url.display()
                )
            stats = [self._child_stat(entry, url) for entry in entries]
        return sorted(stats, key=lambda stat: stat.url)

    def delete(self, url: StoreURL, *, recursive: bool = False) -> None:
        path = self.fs_path(url)
        with self.translated(url):
            info = self.fs.info(path)  # FileNotFoundError -> NotFoundError
            if info["type"] == "directory":
                if not recursive:
                    raise UnsupportedOperationError(
                        "the folder is not empty; delete(recursive=True) removes it with its "
                        "content",
                        url=url.display(),
                    )
                self.fs.rm(path, recursive=True)
            else:
                self.fs.rm_file(path)

    def exists(self, url: StoreURL) -> bool:
        with self.translated(url):
            return bool(self.fs.exists(self.fs_path(url)))

    def copy_within(self, source: StoreURL, target: StoreURL) -> None:
        """A server-side copy (S3 CopyObject, Azure copy-from-URL, GCS rewrite)."""
        self.require_key(source)
        self.require_key(target)
        with self.translated(source):
            self.fs.copy(self.fs_path(source), self.fs_path(target))

    def _child_stat(self, entry: dict[str, Any], parent: StoreURL) -> FileStat:
        name = entry["name"].rstrip("/")
        key = name.split("/", 1)[1] if "/" in name else ""
        return self._stat_from_info(entry, parent.with_path(key))
