"""memory://key: objects held in this process, for tests and for passing data between steps.

Process-local by design: an Airflow task runs in its own process, so memory:// items do NOT
cross tasks (use file://, s3://, ... for that); within one Prefect flow run or one task they do.
Items are bytes, or any object set with ``set_in_memory_item`` (a pandas DataFrame is returned
as is by ``as_df``, without a copy, as MLRun does). Thread-safe: one lock guards the table.
Keys are paths: ``memory://dir/a.csv`` lists under ``memory://dir/``.
"""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime
from typing import BinaryIO

from orchestore.errors import NotFoundError, UnsupportedOperationError
from orchestore.stores.base import AtomicWriter, Buffer, FileStat, Store, guess_content_type
from orchestore.urls import StoreURL, parse_url

__all__ = ["MemoryStore", "get_in_memory_item", "set_in_memory_item"]


class _Item:
    __slots__ = ("modified", "value", "version")

    def __init__(self, value: object, version: int) -> None:
        self.value = value
        self.version = version
        self.modified = datetime.now(UTC)


class _Table:
    """The process-wide item table; every MemoryStore shares it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, _Item] = {}
        self.version = 0

    def set(self, key: str, value: object) -> None:
        with self.lock:
            self.version += 1
            self.items[key] = _Item(value, self.version)

    def get(self, key: str, url: StoreURL) -> object:
        with self.lock:
            item = self.items.get(key)
        if item is None:
            raise NotFoundError("no such memory item", url=url.display())
        return item.value


_TABLE = _Table()


def _key(url: StoreURL) -> str:
    return url.path.lstrip("/")


def set_in_memory_item(key: str, value: bytes | bytearray | str | object) -> str:
    """Store ``value`` under ``memory://<key>`` and return that URL.

    bytes and str are stored as bytes (str as UTF-8); any other object (a DataFrame) as is.
    """
    url = parse_url(key if key.startswith("memory://") else f"memory://{key}")
    if isinstance(value, str):
        value = value.encode()
    elif isinstance(value, bytearray | memoryview):
        value = bytes(value)
    _TABLE.set(_key(url), value)
    return str(url)


def get_in_memory_item(key: str) -> object:
    """The value stored under ``memory://<key>``; NotFoundError when there is none."""
    url = parse_url(key if key.startswith("memory://") else f"memory://{key}")
    return _TABLE.get(_key(url), url)


class _MemoryWriter(AtomicWriter):
    def __init__(self, url: StoreURL) -> None:
        super().__init__(url)
        self._buffer = io.BytesIO()

    def _write(self, data: memoryview) -> None:
        self._buffer.write(data)

    def _commit(self) -> None:
        _TABLE.set(_key(self.url), self._buffer.getvalue())

    def _discard(self) -> None:
        self._buffer = io.BytesIO()


class MemoryStore(Store):
    """The process-wide memory:// table."""

    family = "memory"
    supports_append = True

    def _bytes(self, url: StoreURL) -> bytes:
        value = _TABLE.get(_key(url), url)
        if not isinstance(value, bytes):
            raise UnsupportedOperationError(
                f"holds a {type(value).__name__}, not bytes; read it with as_df() or "
                "get_in_memory_item()",
                url=url.display(),
            )
        return value

    def object(self, url: StoreURL) -> object:
        """The stored value as it was set (a DataFrame stays a DataFrame)."""
        return _TABLE.get(_key(url), url)

    def open_reader(self, url: StoreURL) -> BinaryIO:
        return io.BytesIO(self._bytes(url))

    def open_writer(self, url: StoreURL) -> AtomicWriter:
        self.require_key(url)
        return _MemoryWriter(url)

    def read(self, url: StoreURL, offset: int = 0, size: int | None = None) -> bytes:
        value = self._bytes(url)
        return value[offset:] if size is None else value[offset : offset + size]

    def write(self, url: StoreURL, data: Buffer) -> None:
        self.require_key(url)
        _TABLE.set(_key(url), bytes(data))

    def append(self, url: StoreURL, data: Buffer) -> None:
        self.require_key(url)
        key = _key(url)
        with _TABLE.lock:
            current = _TABLE.items.get(key)
            previous = current.value if current is not None else b""
            if not isinstance(previous, bytes):
                raise UnsupportedOperationError(
                    f"cannot append to a {type(previous).__name__}", url=url.display()
                )
            _TABLE.version += 1
            _TABLE.items[key] = _Item(previous + bytes(data), _TABLE.version)

    def stat(self, url: StoreURL) -> FileStat:
        key = _key(url)
        with _TABLE.lock:
            item = _TABLE.items.get(key) if not key.endswith("/") else None
            is_dir = item is None and any(name.startswith(_prefix(key)) for name in _TABLE.items)
        if is_dir:
            return FileStat(size=0, url=str(url), is_dir=True)
        if item is None:
            raise NotFoundError("no such memory item", url=url.display())
        value = item.value
        return FileStat(
            size=len(value) if isinstance(value, bytes) else 0,
            modified=item.modified,
            etag=f'"{item.version}"',
            content_type=guess_content_type(key),
            url=str(url),
        )

    def ls(self, url: StoreURL) -> list[FileStat]:
        prefix = _prefix(_key(url))
        with _TABLE.lock:
            names = [name for name in _TABLE.items if name.startswith(prefix)]
        if not names:
            raise NotFoundError("no memory items under this prefix", url=url.display())
        children = sorted({name[len(prefix) :].split("/", 1)[0] for name in names})
        folders = {
            name[len(prefix) :].split("/", 1)[0] for name in names if "/" in name[len(prefix) :]
        }
        return [
            self.stat(url.child(child + ("/" if child in folders else ""))) for child in children
        ]

    def delete(self, url: StoreURL, *, recursive: bool = False) -> None:
        key = _key(url)
        with _TABLE.lock:
            if key in _TABLE.items and not key.endswith("/"):
                del _TABLE.items[key]
                return
            below = [name for name in _TABLE.items if name.startswith(_prefix(key))]
            if not below:
                raise NotFoundError("no such memory item", url=url.display())
            if not recursive:
                raise UnsupportedOperationError(
                    "the folder is not empty; delete(recursive=True) removes it with its content",
                    url=url.display(),
                )
            for name in below:
                del _TABLE.items[name]


def _prefix(key: str) -> str:
    return key if key.endswith("/") or not key else key + "/"
