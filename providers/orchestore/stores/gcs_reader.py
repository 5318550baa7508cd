"""GCS reads as one streamed GET that resumes where a cut stopped.

Why not gcsfs's file: its read-ahead cache fetches 8 MiB blocks one request after another (a
round trip each, and gcp-storage-emulator reads the whole object from disk for every ranged
GET, so a 256 MiB object cost 32 whole-object reads). google-cloud-storage downloads with one
streamed GET; so does this reader, at gcsfs's session, credentials and timeouts. The response
body is read straight into the caller's buffer on gcsfs's event loop (no intermediate copy).

Resumable and exact: the object's generation is pinned at open, so a resumed ranged GET reads
the same version (an overwritten object is an error, never a mix of two); a cut, reset or
stalled body (the read timeout) resumes at the position, up to the policy's attempts per cut.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orchestore.errors import OrchestoreError, StoreUnavailableError
from orchestore.stores.base import SeekableStream
from orchestore.urls import StoreURL

if TYPE_CHECKING:
    from gcsfs.core import GCSFileSystem

    from orchestore.stores.retry import RetryPolicy

__all__ = ["GCSStreamReader"]


class _Cut(Exception):
    """The body ended before the object's size: resumed like a dropped connection."""


class GCSStreamReader(SeekableStream):
    """A seekable stream over one GET at a time (see the module docstring)."""

    def __init__(
        self,
        fs: GCSFileSystem,
        url: StoreURL,
        size: int,
        generation: str | None,
        translate: Callable[[BaseException], OrchestoreError],
        retry: RetryPolicy,
    ) -> None:
        super().__init__()
        self._fs, self._url, self._size, self._generation = fs, url, size, generation
        self._translate, self._retry = translate, retry
        self._response: Any = None

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if not view.nbytes or self._position >= self._size:
            return 0
        view = view[: self._size - self._position]
        attempts = self._retry.attempts
        for attempt in range(1, attempts + 1):
            try:
                count = self._run(self._fill(view))
            except OrchestoreError:
                self._restart()
                raise
            except Exception as exc:
                self._restart()
                if attempt == attempts or not _resumable(exc):
                    if isinstance(exc, _Cut):
                        raise StoreUnavailableError(
                            f"the object's body ended after {self._position} of {self._size} "
                            f"bytes (truncated), {attempts} attempts",
                            url=self._url.display(),
                        ) from None
                    raise self._translate(exc) from None
                time.sleep(self._retry.delay(attempt))
                continue
            self._position += count
            return count
        raise AssertionError("unreachable")  # pragma: no cover

    async def _fill(self, view: memoryview) -> int:
        """Read into ``view`` (on the event loop) until it is full or the object ends."""
        if self._response is None:
            self._response = await self._open(self._position)
        filled = 0
        while filled < view.nbytes:
            chunk = await self._response.content.read(view.nbytes - filled)
            if not chunk:
                raise _Cut()
            view[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
        return filled

    async def _open(self, start: int) -> Any:
        from gcsfs.retry import validate_response

        fs = self._fs
        await fs._set_session()
        path = f"{self._url.bucket}/{self._url.path}"
        response = await fs.session.get(
            fs.url(path, generation=self._generation),
            headers=fs._get_headers({"Range": f"bytes={start}-"}),
            timeout=fs.requests_timeout,
        )
        if response.status >= 400:
            contents = await response.read()
            response.release()
            validate_response(response.status, contents, path, ())
        if self._changed(response):
            response.release()
            raise OrchestoreError(
                "the object changed while it was being read; read it again",
                url=self._url.display(),
            )
        return response

    def _changed(self, response: Any) -> bool:
        """Another generation or size than the one opened (GCS itself refuses a generation
        that is gone; gcp-storage-emulator ignores the parameter and sends no generation)."""
        generation = response.headers.get("x-goog-generation")
        if generation and self._generation and str(generation) != str(self._generation):
            return True
        total = response.headers.get("Content-Range", "").rpartition("/")[2]
        return total.isdigit() and int(total) != self._size

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._fs.loop).result()

    def _restart(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            self._fs.loop.call_soon_threadsafe(response.close)

    def _total_size(self) -> int:
        return self._size

    def close(self) -> None:
        self._restart()
        super().close()


def _resumable(exc: BaseException) -> bool:
    """A dropped, cut or stalled body (not a refusal or a missing object)."""
    import aiohttp

    if isinstance(exc, _Cut | aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return True
    if isinstance(exc, aiohttp.ClientConnectionError | asyncio.TimeoutError | ConnectionError):
        return True
    from gcsfs.retry import HttpError

    return isinstance(exc, HttpError) and exc.code in (408, 429, 500, 502, 503, 504)
