"""Local files: plain paths and file:// URLs, optionally sandboxed under a root folder.

Writes go to a hidden temp file in the destination's folder, are fsynced, then renamed over the
real name, so a crash or a failed source never leaves a half-written file under that name.
The one fsync is at commit; while a large file is written, a helper thread asks the kernel to
write back what has arrived so far (every WRITEBACK_BYTES), so that the commit's fsync does not
flush the whole file at once after the last byte (256 MiB: ~0.1 s on this machine's disk).
Appends truncate back to the previous size when they fail.

With ``root``, every path is resolved (``..`` and symlinks included) and must stay inside it;
relative paths are taken from ``root`` (from the working directory without one).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from orchestore.errors import (
    InvalidURLError,
    NotFoundError,
    OrchestoreError,
    PermissionDeniedError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from orchestore.stores.base import AtomicWriter, Buffer, FileStat, Store, guess_content_type
from orchestore.urls import StoreURL

__all__ = ["FileStore"]

TEMP_SUFFIX = ".orchestore-tmp"
#: bytes per copy_file_range/sendfile call of a copy within the file store
_KERNEL_CHUNK = 64 * 1024 * 1024
#: bytes written between two background write-backs of a file being written
WRITEBACK_BYTES = 32 * 1024 * 1024
#: bytes per write() call: measured on this machine (Linux 6.18, ext4), 256 MiB written in
#: 4 MiB calls took 0.63 s and in 1 or 2 MiB calls 0.05 s (the kernel's large-folio path)
WRITE_PIECE = 1024 * 1024


def _read_umask() -> int:
    """The process umask, read without the thread-unsafe os.umask() dance where possible."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


_FILE_MODE = 0o666 & ~_read_umask()


@contextlib.contextmanager
def _translated(url: StoreURL) -> Iterator[None]:
    """Map OSErrors to the orchestore error tree, naming the URL."""
    try:
        yield
    except OrchestoreError:
        raise
    except FileNotFoundError:
        raise NotFoundError("no such file or folder", url=url.display()) from None
    except IsADirectoryError:
        raise InvalidURLError("names a folder, not a file", url=url.display()) from None
    except NotADirectoryError:
        raise InvalidURLError(
            "names a file where a folder is expected", url=url.display()
        ) from None
    except PermissionError as exc:
        raise PermissionDeniedError(
            f"permission denied ({exc.strerror})", url=url.display()
        ) from None
    except OSError as exc:
        if exc.errno == errno.ENOTEMPTY:
            raise UnsupportedOperationError(
                "the folder is not empty; delete(recursive=True) removes it with its content",
                url=url.display(),
            ) from None
        raise StoreUnavailableError(
            f"file system error: {exc.strerror}", url=url.display()
        ) from exc


class _FileWriter(AtomicWriter):
    """Writes to ``.<name>.<random>.orchestore-tmp`` beside the target, renamed on commit."""

    def __init__(self, url: StoreURL, target: str) -> None:
        folder, name = os.path.split(target)
        with _translated(url):
            if os.path.isdir(target):
                raise InvalidURLError("names a folder, not a file", url=url.display())
            os.makedirs(folder or ".", exist_ok=True)
            temp = _temp_name(folder, name)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        super().__init__(url)
        self._target, self._temp, self._fd = target, temp, fd
        self._unsynced = 0
        self._writeback: threading.Thread | None = None
        self._writeback_error: OSError | None = None

    def _write(self, data: memoryview) -> None:
        with _translated(self.url):
            while data:
                written = os.write(self._fd, data[:WRITE_PIECE])
                data = data[written:]
                self._unsynced += written
        if self._unsynced >= WRITEBACK_BYTES:
            self._start_writeback()

    def _start_writeback(self) -> None:
        """Write back the file so far in a helper thread, unless one is still at it."""
        if self._writeback is not None and self._writeback.is_alive():
            return
        self._unsynced = 0
        self._writeback = threading.Thread(
            target=self._write_back, name="orchestore-file-writeback", daemon=True
        )
        self._writeback.start()

    def _write_back(self) -> None:
        try:
            os.fdatasync(self._fd)
        except OSError as exc:  # the kernel reports a write error once: keep it for commit
            self._writeback_error = exc

    def _end_writeback(self) -> None:
        """Wait for the helper thread: the descriptor must outlive it."""
        if self._writeback is not None:
            self._writeback.join()
            self._writeback = None

    def copy_from(self, source_fd: int) -> int:
        """Copy a whole open file into this writer in the kernel (no bytes through Python)."""
        copied = 0
        with _translated(self.url):
            while True:
                try:
                    count = os.copy_file_range(source_fd, self._fd, _KERNEL_CHUNK)
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                        raise
                    count = os.sendfile(self._fd, source_fd, None, _KERNEL_CHUNK)
                if not count:
                    return copied
                copied += count

    def _commit(self) -> None:
        self._end_writeback()
        with _translated(self.url):
            if self._writeback_error is not None:
                raise self._writeback_error
            os.fchmod(self._fd, _FILE_MODE)
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            os.replace(self._temp, self._target)

    def _discard(self) -> None:
        self._end_writeback()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._temp)


def _temp_name(folder: str, name: str) -> str:
    return os.path.join(folder, f".{name}.{os.urandom(6).hex()}{TEMP_SUFFIX}")


class FileStore(Store):
    """The local file system; ``root`` confines every path to one folder."""

    family = "file"
    supports_append = True

    def __init__(
        self,
        endpoint: StoreURL,
        credentials: None = None,
        *,
        root: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(endpoint, credentials)
        self.root = os.path.realpath(os.fspath(root)) if root is not None else None

    def __repr__(self) -> str:
        return f"FileStore(root={self.root!r})"

    def resolve(self, url: StoreURL) -> str:
        """The absolute path ``url`` names, checked against the sandbox root."""
        path = url.path
        if self.root is None:
            return os.path.abspath(path)
        resolved = os.path.realpath(os.path.join(self.root, path))
        if os.path.commonpath([resolved, self.root]) != self.root:
            raise PermissionDeniedError(
                f"resolves outside the store's root folder {self.root}", url=url.display()
            )
        return resolved

    def open_reader(self, url: StoreURL) -> BinaryIO:
        with _translated(url):
            return open(self.resolve(url), "rb")

    def open_writer(self, url: StoreURL) -> AtomicWriter:
        self.require_key(url)
        return _FileWriter(url, self.resolve(url))

    def read(self, url: StoreURL, offset: int = 0, size: int | None = None) -> bytes:
        with _translated(url), open(self.resolve(url), "rb") as reader:
            if offset:
                reader.seek(offset)
            return reader.read() if size is None else reader.read(size)

    def append(self, url: StoreURL, data: Buffer) -> None:
        self.require_key(url)
        path = self.resolve(url)
        view = memoryview(data).cast("B")
        with _translated(url):
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _FILE_MODE)
            try:
                previous_size = os.fstat(fd).st_size
                try:
                    while view:
                        view = view[os.write(fd, view[:WRITE_PIECE]) :]
                except BaseException:
                    os.ftruncate(fd, previous_size)
                    raise
            finally:
                os.close(fd)

    def copy_within(self, source: StoreURL, target: StoreURL) -> None:
        """A kernel-side copy (copy_file_range, else sendfile) into an atomic temp file."""
        self.require_key(source)
        with (
            _translated(source),
            open(self.resolve(source), "rb") as reader,
            self.open_writer(target) as writer,
        ):
            assert isinstance(writer, _FileWriter)
            writer.copy_from(reader.fileno())

    def stat(self, url: StoreURL) -> FileStat:
        with _translated(url):
            return self._stat_path(self.resolve(url), str(url))

    def ls(self, url: StoreURL) -> list[FileStat]:
        with _translated(url):
            folder = self.resolve(url)
            with os.scandir(folder) as entries:
                names = sorted(e.name for e in entries if not e.name.endswith(TEMP_SUFFIX))
            return [
                self._stat_path(os.path.join(folder, name), str(url.child(name))) for name in names
            ]

    def delete(self, url: StoreURL, *, recursive: bool = False) -> None:
        with _translated(url):
            path = self.resolve(url)
            if self.root is not None and path == self.root:
                raise PermissionDeniedError(
                    "refusing to delete the store's root", url=url.display()
                )
            if not os.path.isdir(path) or os.path.islink(path):
                os.remove(path)
            elif recursive:
                shutil.rmtree(path)
            else:
                os.rmdir(path)

    def local_path(self, url: StoreURL) -> str | None:
        return self.resolve(url)

    @staticmethod
    def _stat_path(path: str, url: str) -> FileStat:
        info = os.stat(path)
        is_dir = os.path.isdir(path)
        return FileStat(
            size=0 if is_dir else info.st_size,
            modified=datetime.fromtimestamp(info.st_mtime, tz=UTC),
            etag=None if is_dir else f'"{info.st_mtime_ns:x}-{info.st_size:x}"',
            content_type=None if is_dir else guess_content_type(path),
            url=url,
            is_dir=is_dir,
        )
