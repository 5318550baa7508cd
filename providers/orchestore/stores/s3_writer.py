"""S3 uploads with parts in flight while the next part fills: the writer behind S3Store.

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
import io
import re
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from orchestore.errors import StoreUnavailableError
from orchestore.stores.base import AtomicWriter
from orchestore.urls import StoreURL

if TYPE_CHECKING:
    from orchestore.stores.s3 import S3Store

__all__ = ["FIXED_PARTS", "S3PartWriter", "etag_digest", "md5_etag", "part_size_for"]

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
