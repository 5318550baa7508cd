"""GCS uploads: one resumable upload in large chunks sent from preallocated buffers.

Why not gcsfs's file: it uploads ``block_size`` (16 MiB) chunks inside ``write()`` from a
growing BytesIO (a chunk is held twice: the buffer and ``getvalue()``), one request after the
other, so reading the source stops while a chunk uploads. Against gcp-storage-emulator that
reached 54 MB/s where google-cloud-storage (100 MiB chunks) did 157 MB/s: each chunk costs the
emulator a read and rewrite of everything received so far, and any server a round trip.

Here a chunk is CHUNK bytes written straight into one preallocated bytearray and POSTed from it
without a copy (multiples of 256 KiB, as GCS requires of every chunk but the last); an object
that fits in one chunk is a single multipart upload on commit (one request, atomic by itself).
Measured, file -> gs, 256 MiB, 2 cores, noisy (2 runs each): gcsfs 16 MiB 63-70 MB/s, 132 MiB
peak RSS; one 32 MiB buffer 76-99 MB/s, 148 MiB; one 48 MiB 84-108 MB/s, 164 MiB; two 24 MiB
(filling one while the other uploads) 70-72 MB/s, 164 MiB; two 32 MiB 82-87 MB/s, 180 MiB.
A process with gcsfs imported already holds ~88 MiB (gcsfs loads google-cloud-storage), so the
150 MiB target leaves room for one chunk of 20 MiB. Through benchmarks.child, 3 runs each:
at load ~10, 16 MiB 50 MB/s at 133 MiB, 24 MiB 60 at 141, 32 MiB 73 at 149; at load ~3, 16 MiB
92 MB/s at 133, 20 MiB 94 at 137, 24 MiB 79 at 141 (the full bench run saw 159 MiB with 32 MiB
and 150 with 24, ~9 MiB above these): OVERLAP is off. Larger chunks pay on the
emulator, which rewrites everything received so far on every chunk; on GCS itself overlapping
would matter more than the chunk size (OVERLAP=True: two buffers).

Atomic like every AtomicWriter: the object appears only when the last chunk (with the total
size) is accepted at commit. A failure or an abort never sends it; the session is cancelled
(DELETE; an emulator may answer 501, and an unfinalised session expires by itself after a week
without ever becoming an object).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from orchestore.stores.base import AtomicWriter
from orchestore.urls import StoreURL

if TYPE_CHECKING:
    from orchestore.stores.gcs import GCSStore

__all__ = ["CHUNK", "GCSChunkWriter"]

#: bytes per resumable chunk (a multiple of 256 KiB), held in one buffer (see the docstring)
CHUNK = 20 * 1024 * 1024
#: fill the next chunk while one uploads: a second buffer (off: see the docstring)
OVERLAP = False
#: seconds an abort waits for the chunk still uploading
DISCARD_WAIT = 30.0
_GENERIC_TYPE = "application/octet-stream"


class GCSChunkWriter(AtomicWriter):
    """Writes one object as a resumable upload of ``chunk_size`` chunks (with ``overlap``,
    filling the next chunk while the previous one uploads)."""

    def __init__(
        self,
        url: StoreURL,
        store: GCSStore,
        *,
        content_type: str | None,
        chunk_size: int = CHUNK,
        overlap: bool = OVERLAP,
    ) -> None:
        super().__init__(url)
        self._store, self._chunk_size, self._overlap = store, chunk_size, overlap
        self._content_type = content_type or _GENERIC_TYPE
        self._buffer = bytearray(chunk_size if chunk_size > 0 else 0)
        self._in_flight: bytearray | None = None  # the buffer of the chunk uploading
        self._spare: bytearray | None = None  # a sent chunk's buffer, to fill again
        self._filled = 0
        self._offset = 0  # bytes of the object sent in earlier chunks
        self._location: str | None = None  # the resumable session's URL
        self._pending: Future[Any] | None = None
        if chunk_size <= 0 or chunk_size % (256 * 1024):
            self._buffer = bytearray()
            raise ValueError("chunk_size must be a multiple of 256 KiB")

    # -- AtomicWriter -------------------------------------------------------------------------
    def _write(self, data: memoryview) -> None:
        while data.nbytes:
            room = self._chunk_size - self._filled
            piece, data = data[:room], data[room:]
            self._buffer[self._filled : self._filled + piece.nbytes] = piece
            self._filled += piece.nbytes
            if self._filled == self._chunk_size:
                self._send_chunk()

    def _commit(self) -> None:
        if self._location is None:  # the whole object is in the buffer: one request
            answer = self._run(self._simple_upload(memoryview(self._buffer)[: self._filled]))
        else:
            self._wait_pending()
            total = self._offset + self._filled
            body = memoryview(self._buffer)[: self._filled]
            answer = self._run(self._post(self._location, body, self._offset, total))
        self.reported_digest = _md5_hex(answer)
        self._release()

    def _discard(self) -> None:
        if self._pending is not None:
            with contextlib.suppress(BaseException):
                self._pending.result(timeout=DISCARD_WAIT)
            self._pending = None
        if self._location is not None:
            fs = self._store.fs
            with contextlib.suppress(BaseException):
                self._submit(fs._call("DELETE", self._location)).result(timeout=DISCARD_WAIT)
        self._release()

    # -- chunks -------------------------------------------------------------------------------
    def _send_chunk(self) -> None:
        if self._location is None:
            self._location = self._run(self._initiate())
        self._wait_pending()  # chunks of one session go in order, one at a time
        body, offset = memoryview(self._buffer)[: self._filled], self._offset
        self._pending = self._submit(self._post(self._location, body, offset, None))
        if not self._overlap:
            self._wait_pending()
            self._in_flight = None
            self._offset += self._filled
            self._filled = 0
            return
        self._in_flight, self._buffer = self._buffer, self._spare or bytearray(self._chunk_size)
        self._spare = None
        self._offset += self._filled
        self._filled = 0

    def _wait_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            with self._store.translated(self.url):
                pending.result()
            self._spare, self._in_flight = self._in_flight, None  # it fills the next chunk

    async def _initiate(self) -> str:
        from gcsfs.core import initiate_upload

        return str(
            await initiate_upload(
                self._store.fs, self.url.bucket, self.url.path, self._content_type
            )
        )

    async def _post(
        self, location: str, body: memoryview, offset: int, total: int | None
    ) -> dict[str, Any] | None:
        """One chunk (the last when ``total`` is given); a chunk the server kept only in part
        (308 with a shorter Range) is continued from where it stopped."""
        fs = self._store.fs
        while True:
            size = body.nbytes
            if size:
                span = f"bytes {offset}-{offset + size - 1}/{'*' if total is None else total}"
            else:
                span = f"bytes */{total}"
            headers = {"Content-Range": span, "Content-Type": self._content_type}
            headers["Content-Length"] = str(size)
            answer_headers, text = await fs._call(
                "POST", location, headers=headers, data=body if size else None
            )
            kept = answer_headers.get("Range")
            if kept is None or (total is not None and not size):
                return json.loads(text) if text else None
            end = int(kept.split("-")[1])
            shortfall = offset + size - 1 - end
            if shortfall <= 0:
                return json.loads(text) if text else None
            body, offset = body[size - shortfall :], end + 1

    async def _simple_upload(self, body: memoryview) -> dict[str, Any] | None:
        from gcsfs.core import simple_upload

        answer = await simple_upload(
            self._store.fs,
            self.url.bucket,
            self.url.path,
            body,  # joined with the multipart envelope: one copy
            content_type=self._content_type,
        )
        return answer if isinstance(answer, dict) else None

    # -- helpers ------------------------------------------------------------------------------
    def _submit(self, coroutine: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._store.fs.loop)

    def _run(self, coroutine: Any) -> Any:
        with self._store.translated(self.url):
            return self._submit(coroutine).result()

    def _release(self) -> None:
        self._buffer, self._spare, self._in_flight = bytearray(), None, None


def _md5_hex(answer: dict[str, Any] | None) -> str | None:
    """The object's md5Hash from the finalising answer, as hex (None for none)."""
    encoded = answer.get("md5Hash") if isinstance(answer, dict) else None
    return base64.b64decode(encoded).hex() if encoded else None
