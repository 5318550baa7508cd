"""The store contract: a few primitives every scheme implements, the rest derived.

A store serves every URL of one endpoint with one set of credentials, and is shared (the
StoreManager caches it), so it must be thread-safe. The primitives take a parsed StoreURL:

- ``open_reader(url)``  a binary, seekable-where-possible reader
- ``open_writer(url)``  an AtomicWriter: nothing is visible until a clean ``close()``
- ``stat(url)``, ``ls(url)``, ``delete(url, recursive)``

``read``, ``write`` and ``exists`` have default implementations on top of those; stores override
them where the backend does better (ranged GETs, one-shot PUTs). ``append`` is optional and
raises UnsupportedOperationError unless the store declares ``supports_append``.
"""

from __future__ import annotations

import io
import mimetypes
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import BinaryIO, ClassVar

from orchestore.credentials.base import CredentialsModel
from orchestore.credentials.redaction import remember_model
from orchestore.errors import (
    InvalidURLError,
    NotFoundError,
    ReadOnlyStoreError,
    UnsupportedOperationError,
)
from orchestore.stores.retry import RetryPolicy
from orchestore.urls import StoreURL

__all__ = [
    "AtomicWriter",
    "FileStat",
    "ReadOnlyStore",
    "SeekableStream",
    "Store",
    "guess_content_type",
    "reported_content_type",
]

Buffer = bytes | bytearray | memoryview
#: bytes per read/write when a stream is copied through this process
COPY_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileStat:
    """What a store reports about one object or folder."""

    size: int
    modified: datetime | None = None
    etag: str | None = None
    content_type: str | None = None
    url: str = ""
    is_dir: bool = False
    #: the MD5 the store reports with the listing or stat, as lower-case hex (S3's multipart
    #: form ``hex-N`` included), when it reports one there: saves a request per object
    md5: str | None = None
    #: the CRC32C the store reports (GCS, every object), as 8 lower-case hex digits
    crc32c: str | None = None

    @property
    def name(self) -> str:
        """The last segment of ``url``; folders keep a trailing ``/``."""
        trimmed = self.url.rstrip("/")
        name = trimmed.rsplit("/", 1)[-1]
        return f"{name}/" if self.is_dir else name


def guess_content_type(name: str) -> str | None:
    """The MIME type implied by a file name's suffix, if any."""
    return mimetypes.guess_type(name, strict=False)[0]


#: what object stores report when nobody set a content type
GENERIC_CONTENT_TYPES = frozenset({None, "", "binary/octet-stream", "application/octet-stream"})


def reported_content_type(reported: str | None, name: str) -> str | None:
    """The type a store reported, unless it is the generic default: then the name says more."""
    if reported in GENERIC_CONTENT_TYPES:
        return guess_content_type(name) or reported
    return reported


class SeekableStream(io.RawIOBase):
    """Base of readers that stream from a position over ranged requests.

    Reading continues one response; a seek only moves the position and calls ``_restart()``
    so the subclass drops its response and reopens at the new position on the next read.
    Subclasses implement ``readinto``, ``_restart`` and ``_total_size`` (for SEEK_END).
    """

    def __init__(self) -> None:
        super().__init__()
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        else:
            target = self._total_size() + offset
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if target != self._position:
            self._restart()
            self._position = target
        return self._position

    @abstractmethod
    def _restart(self) -> None:
        """Drop the current response: the next read starts at the new position."""

    @abstractmethod
    def _total_size(self) -> int:
        """The object's size in bytes."""


class AtomicWriter(io.BufferedIOBase):
    """A write-only stream whose content becomes visible only when ``close()`` succeeds.

    Leaving a ``with`` block by an exception, calling ``abort()``, or dropping the object
    unclosed discards everything written: unlike fsspec's writers, a failed write never commits
    a partial object. Subclasses implement ``_write``, ``_commit`` and ``_discard``.
    """

    #: the digest the store answered the commit with (an S3 PUT's ETag), when it did: saves
    #: asking for it (Store.reported_digest) after the write; same form as that method's
    reported_digest: str | None = None

    def __init__(self, url: StoreURL) -> None:
        super().__init__()
        self.url = url
        self._finished = False

    def writable(self) -> bool:
        return True

    def write(self, data: Buffer) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed writer")
        view = memoryview(data).cast("B")
        if view.nbytes:
            self._write(view)
        return view.nbytes

    def close(self) -> None:
        if not self._finished:
            self._finished = True
            try:
                self._commit()
            except BaseException:
                self._discard()
                raise
            finally:
                super().close()

    def abort(self) -> None:
        """Discard what was written; the destination keeps its previous content."""
        if not self._finished:
            self._finished = True
            try:
                self._discard()
            finally:
                super().close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self) -> None:
        # An unclosed writer was abandoned (usually by an exception): never commit it.
        if not getattr(self, "_finished", True):
            self.abort()

    @abstractmethod
    def _write(self, data: memoryview) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _discard(self) -> None: ...


class Store(ABC):
    """One backend endpoint with one set of credentials; shared and thread-safe."""

    #: the store family (file, memory, http, s3, ...), as urls.SCHEMES names it
    family: ClassVar[str]
    #: the credential model this store takes, or None when it takes none
    credentials_type: ClassVar[type[CredentialsModel] | None] = None
    readonly: ClassVar[bool] = False
    supports_append: ClassVar[bool] = False
    supports_listing: ClassVar[bool] = True
    #: the default retry policy of a network store (None: local, nothing to retry); an
    #: instance takes another through the store option ``retry`` (see stores/retry.py)
    retry_policy: ClassVar[RetryPolicy | None] = None

    def __init__(
        self,
        endpoint: StoreURL,
        credentials: CredentialsModel | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.credentials = credentials
        self.retry = retry if retry is not None else self.retry_policy
        remember_model(credentials)  # its secrets are redacted from SDK debug logs from now on

    @classmethod
    def endpoint_key(cls, url: StoreURL) -> str:
        """What distinguishes one instance of this store from another, besides credentials."""
        return url.endpoint

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint_key(self.endpoint)!r})"

    # -- primitives ---------------------------------------------------------------------------
    @abstractmethod
    def open_reader(self, url: StoreURL) -> BinaryIO:
        """A binary reader positioned at 0; raises NotFoundError when absent."""

    @abstractmethod
    def open_writer(self, url: StoreURL) -> AtomicWriter:
        """A writer that replaces the object atomically on close."""

    @abstractmethod
    def stat(self, url: StoreURL) -> FileStat:
        """Size, modification time, etag and content type of an object or folder."""

    @abstractmethod
    def ls(self, url: StoreURL) -> list[FileStat]:
        """The direct children of a folder, sorted by URL."""

    @abstractmethod
    def delete(self, url: StoreURL, *, recursive: bool = False) -> None:
        """Remove an object, or a folder (its content too with ``recursive``)."""

    # -- derived, overridable -----------------------------------------------------------------
    def read(self, url: StoreURL, offset: int = 0, size: int | None = None) -> bytes:
        """Bytes ``[offset, offset + size)``; ``size=None`` reads to the end."""
        with self.open_reader(url) as reader:
            if offset:
                reader.seek(offset)
            return reader.read() if size is None else reader.read(size)

    def write(self, url: StoreURL, data: Buffer) -> None:
        """Create or replace the object with ``data``, atomically."""
        with self.open_writer(url) as writer:
            writer.write(data)

    def append(self, url: StoreURL, data: Buffer) -> None:
        """Append ``data``, creating the object when missing."""
        raise UnsupportedOperationError(
            f"the {self.family} store cannot append; write the whole object instead",
            url=url.display(),
        )

    def copy_within(self, source: StoreURL, target: StoreURL) -> None:
        """Copy an object to another URL of this store; cloud stores copy server-side."""
        with self.open_reader(source) as reader, self.open_writer(target) as writer:
            shutil.copyfileobj(reader, writer, COPY_CHUNK)

    def reported_digest(self, url: StoreURL) -> str | None:
        """The MD5 the store itself computed over the stored bytes, as lower-case hex.

        S3 reports a multipart object's digest as ``<md5 of the parts' md5s>-<parts>``; see
        ``digest_part_size``. None when the store reports no digest: a copy that must verify
        re-reads the object instead.
        """
        return None

    def reports_md5(self, url: StoreURL, size: int | None) -> bool:
        """Whether an object of ``size`` bytes written through ``open_writer`` gets an MD5 from
        ``reported_digest``: a copy is then verified by comparing digests, otherwise by reading
        it back (with a cheaper checksum)."""
        return False

    def digest_part_size(self, url: StoreURL) -> int | None:
        """Bytes per part of an object this store writes through ``open_writer``, when its
        reported digest combines per-part MD5s (S3 multipart ETags); None: the whole MD5."""
        return None

    def exists(self, url: StoreURL) -> bool:
        try:
            self.stat(url)
        except NotFoundError:
            return False
        return True

    def local_path(self, url: StoreURL) -> str | None:
        """A path on this machine holding the object, when the store has one (file store)."""
        return None

    def walk_files(self, url: StoreURL) -> Iterator[FileStat]:
        """Every object below a folder, depth first."""
        for entry in self.ls(url):
            if entry.is_dir:
                yield from self.walk_files(url.with_path(_path_of(url, entry)))
            else:
                yield entry

    def close(self) -> None:  # noqa: B027 - optional: only stores holding clients override it
        """Release connections and clients; the store may not be used afterwards."""

    # -- helpers for subclasses ---------------------------------------------------------------
    def require_key(self, url: StoreURL) -> None:
        """Object operations need a key; a bucket or folder URL is not an object."""
        if not url.path or url.path.endswith("/"):
            raise InvalidURLError(
                "this operation needs an object key, not a folder", url=url.display()
            )


def _path_of(parent: StoreURL, entry: FileStat) -> str:
    base = parent.path if (not parent.path or parent.path.endswith("/")) else parent.path + "/"
    return base + entry.name


class ReadOnlyStore(Store):
    """A store whose every write, append and delete raises ReadOnlyStoreError."""

    readonly = True

    def _refuse(self, url: StoreURL, operation: str) -> ReadOnlyStoreError:
        return ReadOnlyStoreError(
            f"the {self.family} store is read-only: cannot {operation}", url=url.display()
        )

    def open_writer(self, url: StoreURL) -> AtomicWriter:
        raise self._refuse(url, "write")

    def write(self, url: StoreURL, data: Buffer) -> None:
        raise self._refuse(url, "write")

    def append(self, url: StoreURL, data: Buffer) -> None:
        raise self._refuse(url, "append")

    def delete(self, url: StoreURL, *, recursive: bool = False) -> None:
        raise self._refuse(url, "delete")
