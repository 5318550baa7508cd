"""S3 uploads with parts in flight while the next part fills: the writers behind S3Store.

S3StreamWriter (the default) hands the parts to obstore (s3_transport.py); S3PartWriter, on
s3fs's client, serves where obstore cannot (see s3_transport.transport_refusal).

s3fs's file uploads each part inside ``write()`` (one at a time, the caller waits) and copies
its buffer once more on upload. This writer fills a part in a BytesIO (botocore sends a BytesIO
as it is), hands it to an UploadPart on s3fs's event loop and fills the next; at most
``parallel`` parts are in flight, so memory stays near ``(parallel + 1) * part_size`` whatever
the object's size. Parts are ``part_size`` bytes up to FIXED_PARTS (so the multipart ETag of
objects up to 39 GiB with 8 MiB parts is predictable: Store.digest_part_size), then grow (see
part_size_for) with fewer in flight, so 10,000 parts still reach 156 GiB.

Atomic like every AtomicWriter: an object below one part is a single PutObject on commit; a
larger one becomes visible only at CompleteMultipartUpload; a failure (or an abort) aborts the
multipart upload, so nothing partial is left, not even stored parts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import queue
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from orchestore.errors import StoreUnavailableError, UnsupportedOperationError
from orchestore.stores.base import AtomicWriter
from orchestore.urls import StoreURL

if TYPE_CHECKING:
    from orchestore.stores.s3 import S3Store
    from orchestore.stores.s3_transport import S3Transport

__all__ = [
    "FIXED_PARTS",
    "S3PartWriter",
    "S3StreamWriter",
    "etag_digest",
    "md5_etag",
    "part_size_for",
]

#: seconds an abort waits for each part still uploading before aborting the upload
DISCARD_WAIT = 30.0
#: parts of the first size; after them the size doubles every GROWTH_PARTS parts
FIXED_PARTS = 5_000
GROWTH_PARTS = 2_500

#: an ETag that is an MD5: of the object, or of its parts' MD5s followed by "-<parts>"
_MD5_ETAG = re.compile(r"[0-9a-f]{32}(-[0-9]+)?")


def part_size_for(number: int, first: int) -> int:
    """The size of part ``number`` (from 1): ``first`` up to part FIXED_PARTS, then twice as
    large every GROWTH_PARTS parts, so S3's 10,000 parts hold 20,000 x ``first`` (156 GiB for
    8 MiB) while objects up to FIXED_PARTS x ``first`` (39 GiB) keep a predictable ETag."""
    if number <= FIXED_PARTS:
        return first
    return first * 2 ** ((number - FIXED_PARTS - 1) // GROWTH_PARTS + 1)


def md5_etag(etag: object) -> str | None:
    """An ETag as a digest (``hex`` or ``hex-N``); None for opaque tags (see ``etag_digest``
    for SSE-KMS/C objects, whose ETags look like MD5s but are not)."""
    text = str(etag or "").strip('"').lower()
    return text if _MD5_ETAG.fullmatch(text) else None


#: server-side encryption whose ETag is not the MD5 of the object's bytes
_OPAQUE_ETAG_ENCRYPTION = ("aws:kms", "aws:kms:dsse")


def etag_digest(response: Mapping[str, Any]) -> str | None:
    """The digest an S3 response (PUT, Complete, HEAD) reports: its ETag, unless the object
    is encrypted with SSE-KMS or a customer key (SSE-C): then the ETag is not an MD5 and a
    copy must be verified another way."""
    if response.get("SSECustomerAlgorithm") or (
        response.get("ServerSideEncryption") in _OPAQUE_ETAG_ENCRYPTION
    ):
        return None
    return md5_etag(response.get("ETag"))


class S3PartWriter(AtomicWriter):
    """Writes one S3 object in ``part_size`` parts, ``parallel`` of them uploading at once."""

    def __init__(
        self,
        url: StoreURL,
        store: S3Store,
        *,
        part_size: int,
        parallel: int,
        extra: dict[str, Any],
    ) -> None:
        super().__init__(url)
        self._store, self._part_size, self._parallel = store, part_size, parallel
        self._extra = extra
        self._ids = {"Bucket": url.bucket, "Key": url.path}
        self._upload_id: str | None = None
        self._buffer = io.BytesIO()
        self._filled = 0
        self._pending: deque[Future[dict[str, Any]]] = deque()
        self._done: list[dict[str, Any]] = []

    # -- AtomicWriter -------------------------------------------------------------------------
    @property
    def _next_number(self) -> int:
        return len(self._done) + len(self._pending) + 1

    def _write(self, data: memoryview) -> None:
        while data.nbytes:
            size = part_size_for(self._next_number, self._part_size)
            room = size - self._filled
            piece, data = data[:room], data[room:]
            self._buffer.write(piece)
            self._filled += piece.nbytes
            if self._filled == size:
                self._send_part()

    def _commit(self) -> None:
        if self._upload_id is None:  # below one part: a single PutObject, atomic by itself
            self._buffer.seek(0)
            done = self._call("put_object", Body=self._buffer, **self._ids, **self._extra)
            self.reported_digest = etag_digest(done)
            return
        if self._filled:
            self._send_part()
        while self._pending:
            self._collect_oldest()
        parts = sorted(self._done, key=lambda part: part["PartNumber"])
        done = self._call(
            "complete_multipart_upload",
            MultipartUpload={"Parts": parts},
            UploadId=self._upload_id,
            **self._ids,
        )
        self.reported_digest = etag_digest(done)

    def _discard(self) -> None:
        for future in self._pending:
            future.cancel()
        for future in self._pending:  # a running part cannot be cancelled: let it end
            with contextlib.suppress(BaseException):
                future.result(timeout=DISCARD_WAIT)  # bounded: the loop may be gone at exit
        self._pending.clear()
        if self._upload_id is not None:
            with contextlib.suppress(Exception):
                self._call("abort_multipart_upload", UploadId=self._upload_id, **self._ids)

    # -- parts --------------------------------------------------------------------------------
    def _send_part(self) -> None:
        if self._upload_id is None:
            started = self._call("create_multipart_upload", **self._ids, **self._extra)
            self._upload_id = started["UploadId"]
        number = self._next_number
        # the bytes in flight stay those of ``parallel`` first-size parts as parts grow
        in_flight = max(
            1, self._parallel * self._part_size // part_size_for(number, self._part_size)
        )
        while len(self._pending) >= in_flight:
            self._collect_oldest()
        body = self._buffer
        body.seek(0)
        self._pending.append(self._submit(number, body))
        self._buffer, self._filled = io.BytesIO(), 0

    def _submit(self, number: int, body: io.BytesIO) -> Future[dict[str, Any]]:
        # The coroutine must not hold the writer: an abandoned writer is aborted by __del__.
        fs = self._store.fs
        upload = _upload_part(fs, number, body, UploadId=self._upload_id, **self._ids)
        return asyncio.run_coroutine_threadsafe(upload, fs.loop)

    def _collect_oldest(self) -> None:
        """The oldest part's answer, waited for at most the retry policy's worst case: a part
        whose coroutine waits on a dead server (e.g. for a pool slot) must not hang the copy."""
        future = self._pending.popleft()
        limit = self._store.retry.worst_case_seconds
        with self._store.translated(self.url):
            try:
                answer = future.result(timeout=limit)
            except TimeoutError:
                if future.done():  # the part itself failed with a timeout: map it as such
                    raise
                future.cancel()
                raise StoreUnavailableError(
                    f"a part upload did not finish within {limit:.0f} s (the retry policy's "
                    "worst case); the upload is aborted",
                    url=self.url.display(),
                ) from None
            self._done.append(answer)

    def _call(self, method: str, **kwargs: Any) -> Any:
        with self._store.translated(self.url):
            return self._store.fs.call_s3(method, **kwargs)


async def _upload_part(fs: Any, number: int, body: io.BytesIO, **ids: Any) -> dict[str, Any]:
    result = await fs._call_s3("upload_part", PartNumber=number, Body=body, **ids)
    return {"PartNumber": number, "ETag": result["ETag"]}


class S3StreamWriter(AtomicWriter):
    """Writes one S3 object through obstore: one PUT up to ``part_size`` bytes; above, a
    multipart upload of ``part_size`` parts, ``parallel`` in flight.

    obstore.put takes an iterator and uploads its parts on its own threads (no GIL), aborting
    the upload when the iterator raises or a request fails. That put runs in a worker thread
    fed through a queue of QUEUE_DEPTH writes (obstore cuts them into parts): ``write`` returns
    while earlier parts upload, and memory stays near ``(parallel + 2) * part_size`` whatever
    the object's size.
    Discarding makes the iterator raise, so obstore aborts: no part is left behind.

    Parts keep one size (obstore's ``chunk_size``), so an object has at most 10,000 x
    ``part_size`` bytes (78 GiB with 8 MiB parts) and its ETag is predictable at any size.
    """

    #: writes (of at most a part) waiting for obstore while it uploads ``parallel`` parts
    QUEUE_DEPTH = 1
    #: S3's limit of parts per upload
    MAX_PARTS = 10_000

    def __init__(
        self,
        url: StoreURL,
        transport: S3Transport,
        *,
        part_size: int,
        parallel: int,
        content_type: str | None,
        digest_of: Callable[[str | None], str | None],
    ) -> None:
        super().__init__(url)
        self._transport, self._part_size, self._parallel = transport, part_size, parallel
        self._content_type, self._digest_of = content_type, digest_of
        self._buffer = bytearray()
        self._feed: _PartFeed | None = None
        self._written = 0

    def _write(self, data: memoryview) -> None:
        self._written += data.nbytes
        if self._written > self.MAX_PARTS * self._part_size:
            limit = self.MAX_PARTS * self._part_size / 2**30
            raise UnsupportedOperationError(
                f"an object above {limit:.0f} GiB ({self.MAX_PARTS:,} parts of "
                f"{self._part_size // 2**20} MiB) cannot be written in one upload",
                url=self.url.display(),
            )
        if self._feed is None:
            if len(self._buffer) + data.nbytes <= self._part_size:
                self._buffer += data  # may still become a single PUT
                return
            upload = functools.partial(  # not a method: the upload thread must not hold self
                self._transport.put_parts,
                self.url,
                content_type=self._content_type,
                part_size=self._part_size,
                parallel=self._parallel,
            )
            self._feed = _PartFeed(upload, self.QUEUE_DEPTH, self.url)
            self._feed.put(bytes(self._buffer))
            self._buffer = bytearray()
        # obstore cuts what it is given into parts of exactly part_size: no buffering here
        for start in range(0, data.nbytes, self._part_size):
            self._feed.put(data[start : start + self._part_size].tobytes())

    def _commit(self) -> None:
        if self._feed is None:
            etag = self._transport.put(self.url, bytes(self._buffer), self._content_type)
        else:
            etag = self._feed.finish()
        self.reported_digest = self._digest_of(etag)

    def _discard(self) -> None:
        self._buffer = bytearray()
        if self._feed is not None:
            self._feed.abort()


#: what the feeding queue carries besides parts
_END, _ABORT = object(), object()
#: seconds between checks, while blocked on the queue, whether the upload already ended
_POLL = 0.5


class _Aborted(Exception):
    """Raised into obstore's put by the iterator of a discarded writer: obstore aborts."""


class _PartFeed:
    """A worker thread running one obstore multipart put over the parts of a queue.

    The thread holds the queue and the upload callable, not the writer: a writer dropped
    unclosed is collected, and its ``__del__`` aborts the upload through the queue."""

    def __init__(self, upload: Callable[[Iterator[Any]], str | None], depth: int, url: StoreURL):
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._outcome: list[Any] = []
        self._url = url
        self._thread = threading.Thread(
            target=_run_upload,
            args=(upload, self._queue, self._outcome),
            name="orchestore-s3-upload",
            daemon=True,
        )
        self._thread.start()

    def put(self, item: object) -> None:
        """Queue a part (or a marker); raises the upload's error if it already failed."""
        while True:
            if not self._thread.is_alive():
                self._raise_failure()
                raise StoreUnavailableError(
                    "the upload ended before all its parts were sent", url=self._url.display()
                )
            try:
                self._queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def finish(self) -> str | None:
        """Send the end, wait for CompleteMultipartUpload; the ETag."""
        self.put(_END)
        self._thread.join()
        self._raise_failure()
        return self._outcome[0] if self._outcome else None

    def abort(self) -> None:
        """Make the iterator raise (obstore aborts the upload) and wait, bounded, for it."""
        while self._thread.is_alive():
            try:
                self._queue.put(_ABORT, timeout=_POLL)
                break
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()  # a part nobody will upload: make room
        self._thread.join(timeout=DISCARD_WAIT)

    def _raise_failure(self) -> None:
        if self._outcome and isinstance(self._outcome[0], BaseException):
            raise self._outcome[0]


def _run_upload(
    upload: Callable[[Iterator[Any]], str | None], parts: queue.Queue[Any], outcome: list[Any]
) -> None:
    try:
        outcome.append(upload(_queued(parts)))
    except BaseException as exc:  # handed to the writing thread
        outcome.append(exc)
    finally:
        while True:  # unblock a writer waiting on a full queue
            try:
                parts.get_nowait()
            except queue.Empty:
                break


def _queued(parts: queue.Queue[Any]) -> Iterator[Any]:
    while True:
        item = parts.get()
        if item is _END:
            return
        if item is _ABORT:
            raise _Aborted("the write was discarded")
        yield item
