"""v3io:// and v3ios://: Iguazio's v3io web API, on our own client (stores/v3io_fs.py).

``v3io:///container/path`` goes to the credentials' ``api_url`` (V3IO_API);
``v3ios://host[:port]/container/path`` goes to that host over HTTPS. One store serves every
container of one web API with one set of credentials.

Writes: the web API has no rename or commit, so ``open("wb")`` spools what the caller writes
to a local temp file (in memory up to one chunk, then on disk: bounded memory) and uploads it
on a clean close: one PUT when it fits one chunk, else a PUT of the first chunk and
``Range: -1`` appends of 10 MiB chunks (MLRun's pattern). An exception inside the ``with``
block discards the spool: the object is never touched and keeps its previous content. A
connection error during the upload never re-sends an append (it could apply twice): the whole
upload is retried from the spool, a bounded number of times, and if it still fails the
partially written object is deleted and StoreUnavailableError raised. During the upload a
concurrent reader can see a growing object: the protocol has nothing to publish atomically.

Appends (``put(append=True)``) are native: ``Range: -1`` creates the object when missing, and
an append interrupted by a connection error is reported, never re-sent.
"""

from __future__ import annotations

import io
import tempfile
from typing import BinaryIO

from orchestore.credentials.v3io import V3ioCredentials
from orchestore.errors import InvalidURLError, NotFoundError, StoreUnavailableError
from orchestore.stores._http_client import Response
from orchestore.stores.base import (
    AtomicWriter,
    Buffer,
    FileStat,
    SeekableStream,
    Store,
    guess_content_type,
)
from orchestore.stores.retry import RetryPolicy
from orchestore.stores.v3io_fs import Entry, V3ioClient, V3ioFileSystem
from orchestore.urls import StoreURL

__all__ = ["V3ioStore"]

_READ_BUFFER = 1024 * 1024


class _V3ioWriter(AtomicWriter):
    """Spools locally; a clean close uploads (with whole-upload retries), abort forgets."""

    def __init__(self, url: StoreURL, client: V3ioClient) -> None:
        super().__init__(url)
        self._client = client
        # Closed by _commit or _discard: the spool lives as long as the writer.
        self._spool = tempfile.SpooledTemporaryFile(max_size=client.chunk_size)  # noqa: SIM115

    def _write(self, data: memoryview) -> None:
        self._spool.write(data)

    def _commit(self) -> None:
        with self._spool as spool:
            self._client.upload(self.url.bucket, self.url.path, spool, spool.tell())

    def _discard(self) -> None:
        self._spool.close()


class _V3ioReader(SeekableStream):
    """Streams one ranged GET from the position; a seek reopens at the new position."""

    def __init__(self, client: V3ioClient, url: StoreURL) -> None:
        super().__init__()
        self._client, self._url = client, url
        self._response: Response | None = None
        self._eof = False
        self._size: int | None = None

    def _restart(self) -> None:
        self._drop()
        self._eof = False

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._eof or not len(buffer):
            return 0
        view = memoryview(buffer).cast("B")
        # A body cut short mid-stream resumes from the position reached (a GET is idempotent),
        # up to the retry policy's attempts per read; opening a response retries by itself.
        resumes = self._client.request_attempts - 1
        while True:
            if self._response is None:
                self._response = self._client.open_range(
                    self._url.bucket, self._url.path, self._position, None
                )
                if self._response is None:  # past the end
                    count = 0
                    break
            try:
                count = self._response.readinto(view)
                break
            except StoreUnavailableError:
                self._drop()
                if resumes <= 0:
                    raise
                resumes -= 1
        if count == 0:
            self._drop()
            self._eof = True
        self._position += count
        return count

    def close(self) -> None:
        self._drop()
        super().close()

    def _drop(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def _total_size(self) -> int:
        if self._size is None:
            self._size = self._client.stat(self._url.bucket, self._url.path).size
        return self._size


class V3ioStore(Store):
    """v3io(s):// with one V3ioCredentials (access key or Basic auth); appends supported."""

    family = "v3io"
    credentials_type = V3ioCredentials
    supports_append = True
    credentials: V3ioCredentials

    #: the default retry policy: ``attempts`` per idempotent request and per whole upload
    #: (an append is never re-sent), ``backoff`` doubling; its timeouts are replaced by the
    #: credentials' ``timeout`` unless a ``retry`` store option is given
    retry_policy = RetryPolicy(attempts=3, backoff=0.1, connect_timeout=60.0, read_timeout=60.0)
    retry: RetryPolicy

    def __init__(
        self,
        endpoint: StoreURL,
        credentials: V3ioCredentials | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        credentials = credentials if credentials is not None else V3ioCredentials()
        credentials.check_usable()
        if retry is None:
            retry = self.retry_policy.model_copy(
                update={"connect_timeout": credentials.timeout, "read_timeout": credentials.timeout}
            )
        super().__init__(endpoint, credentials, retry=retry)
        origin = StoreURL(scheme=endpoint.scheme, host=endpoint.host, port=endpoint.port)
        self.fs = V3ioFileSystem(
            credentials=credentials, endpoint=_endpoint_text(origin), retry=retry
        )
        self.client = self.fs.client

    @classmethod
    def endpoint_key(cls, url: StoreURL) -> str:
        """``v3ios://host:port`` for URLs naming a host; every ``v3io:///`` URL shares api_url."""
        return f"{url.scheme}://{url.endpoint}" if url.host else "v3io://"

    # -- the store contract -------------------------------------------------------------------
    def open_reader(self, url: StoreURL) -> BinaryIO:
        self.require_key(url)
        return io.BufferedReader(_V3ioReader(self.client, url), buffer_size=_READ_BUFFER)  # type: ignore[return-value]

    def open_writer(self, url: StoreURL) -> AtomicWriter:
        self.require_key(url)
        return _V3ioWriter(url, self.client)

    def read(self, url: StoreURL, offset: int = 0, size: int | None = None) -> bytes:
        """One ranged GET; a body cut short continues through the resuming reader from where
        it stopped (the request itself is retried by the client)."""
        self.require_key(url)
        end = None if size is None else offset + size
        response = self.client.open_range(url.bucket, url.path, offset, end)
        if response is None:
            return b""
        try:
            return response.read_all()
        except StoreUnavailableError as error:
            if self.client.request_attempts <= 1:
                raise
            got = getattr(error, "partial", b"")
        rest = None if size is None else size - len(got)
        # open_reader resumes cut bodies up to the policy's attempts per read
        return got + Store.read(self, url, offset + len(got), rest)

    def append(self, url: StoreURL, data: Buffer) -> None:
        self.require_key(url)
        self.client.append(url.bucket, url.path, data)

    def stat(self, url: StoreURL) -> FileStat:
        return self._file_stat(self.client.stat(url.bucket, url.path), url)

    def ls(self, url: StoreURL) -> list[FileStat]:
        try:
            entries = list(self.client.list_dir(url.bucket, url.path))
        except NotFoundError:
            if url.path.strip("/") and not self.client.stat(url.bucket, url.path).is_dir:
                raise InvalidURLError(
                    "names an object where a folder is expected", url=url.display()
                ) from None
            raise
        stats = [self._file_stat(entry, url.with_path(entry.key)) for entry in entries]
        return sorted(stats, key=lambda stat: stat.url)

    def delete(self, url: StoreURL, *, recursive: bool = False) -> None:
        entry = self.client.stat(url.bucket, url.path)
        if not entry.is_dir:
            self.client.delete(url.bucket, url.path)
        elif recursive:
            self.fs._rm_tree(url.bucket, entry.key)
        elif entry.key:
            self.client.delete(url.bucket, entry.key, folder=True)  # 409 when not empty

    def close(self) -> None:
        self.client.close()

    @staticmethod
    def _file_stat(entry: Entry, url: StoreURL) -> FileStat:
        if entry.is_dir and url.path and not url.path.endswith("/"):
            url = url.with_path(url.path + "/")
        return FileStat(
            size=entry.size,
            modified=entry.modified,
            content_type=None if entry.is_dir else guess_content_type(entry.key),
            url=str(url),
            is_dir=entry.is_dir,
        )


def _endpoint_text(origin: StoreURL) -> str | None:
    """``v3ios://host:port`` for the filesystem, or None to use the credentials' api_url."""
    if not origin.host:
        return None
    return f"{origin.scheme}://{origin.endpoint}"
