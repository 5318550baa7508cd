"""http(s)://: a read-only store on the standard library's http.client.

Why not fsspec's HTTP filesystem: it needs aiohttp (the core depends on fsspec and pydantic
only), it follows redirects across schemes, and it hands truncated bodies back as short files.
Here:
- keep-alive connections are pooled per store (one store per scheme, host and port);
- ``get(offset, size)`` is one ranged GET; a server that ignores Range is handled by skipping;
- ``open()`` streams and seeks (a seek reopens with a Range), so pyarrow can read parquet;
- redirects are followed within the same scheme only, and credentials are dropped when a
  redirect leaves the original host;
- a body shorter than its Content-Length is a StoreUnavailableError, never a short file;
- internal addresses (loopback, private, link-local: 169.254.169.254) are refused before
  connecting, on the first request and on every redirect, unless the credentials' ``allowed_hosts``
  lists them (stores/_address_guard.py); responses above ``max_response_bytes`` are cut off;
- the retry policy (store option ``retry``; default: 3 attempts, timeouts from the credentials'
  ``timeout``) retries GET and HEAD on connection errors, 408, 429 and 5xx, and a reader whose
  body is cut short resumes from its position with a ranged GET; a server that trickles is cut
  off after ``read_timeout`` per MiB (stores/_http_client.py).
"""

from __future__ import annotations

import base64
import io
import ssl
import time
from email.utils import parsedate_to_datetime
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

from orchestore._version import __version__
from orchestore.credentials.http import HttpCredentials
from orchestore.credentials.redaction import SecretHeaders
from orchestore.errors import (
    CredentialsError,
    NotFoundError,
    OrchestoreError,
    PermissionDeniedError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from orchestore.stores._address_guard import AddressGuard
from orchestore.stores._http_client import Pool as _Pool
from orchestore.stores._http_client import Response as _Response
from orchestore.stores._http_client import send, tls_context, too_large
from orchestore.stores.base import FileStat, ReadOnlyStore, SeekableStream, Store
from orchestore.stores.retry import RetryPolicy
from orchestore.urls import StoreURL, redact_url

__all__ = ["HttpStore"]

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NO_HEAD = frozenset({405, 501})  # servers that refuse HEAD: stat falls back to a ranged GET
_READ_BUFFER = 1 << 20
#: statuses worth another attempt (the server may answer differently next time)
_RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class _HttpReader(SeekableStream):
    """A seekable stream over ranged GETs: reading continues one response, seeking reopens."""

    def __init__(self, store: HttpStore, url: StoreURL) -> None:
        super().__init__()
        self._store, self._url = store, url
        self._size: int | None = None
        self._response: _Response | None = None
        self._eof = False
        self._etag: str | None = None  # of the first response: a resumed read must match it

    def _restart(self) -> None:
        self._drop_response()
        self._eof = False

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Read on; a body cut short resumes at the position, up to the policy's attempts."""
        if self._eof or not len(buffer):
            return 0
        view = memoryview(buffer).cast("B")
        attempts = self._store.retry.attempts
        for attempt in range(1, attempts + 1):
            try:
                return self._read_some(view)
            except StoreUnavailableError:
                self._drop_response()
                if attempt == attempts:
                    raise
                time.sleep(self._store.retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_some(self, view: memoryview) -> int:
        if self._response is None:
            self._response = self._store.open_range(self._url, self._position)
            if self._response is None:
                self._eof = True
                return 0
            self._check_same_object(self._response)
        count = self._response.readinto(view)
        if count == 0:
            self._drop_response()
            self._eof = True
        self._position += count
        limit = self._store.max_response_bytes
        if limit is not None and self._position > limit:
            self._drop_response()
            raise too_large(self._url, limit)
        return count

    def _check_same_object(self, response: _Response) -> None:
        etag = response.header("ETag")
        if self._etag is None:
            self._etag = etag
        elif etag is not None and etag != self._etag:
            self._drop_response()
            raise OrchestoreError(
                "the object changed while it was being read; read it again",
                url=self._url.display(),
            )

    def close(self) -> None:
        self._drop_response()
        super().close()

    def _drop_response(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def _total_size(self) -> int:
        if self._size is None:
            self._size = self._store.stat(self._url).size
        return self._size


class HttpStore(ReadOnlyStore):
    """Read-only HTTP(S) with basic or bearer auth, extra headers and TLS verification."""

    family = "http"
    credentials_type = HttpCredentials
    supports_listing = False

    #: the default policy; its timeouts are replaced by the credentials' ``timeout``
    retry_policy = RetryPolicy(attempts=3, backoff=0.25, connect_timeout=30.0, read_timeout=30.0)
    retry: RetryPolicy

    def __init__(
        self,
        endpoint: StoreURL,
        credentials: HttpCredentials | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        credentials = credentials or HttpCredentials()
        if retry is None:
            retry = self.retry_policy.model_copy(
                update={"connect_timeout": credentials.timeout, "read_timeout": credentials.timeout}
            )
        super().__init__(endpoint, credentials, retry=retry)
        self._credentials = credentials
        self._tls = _tls_context(credentials) if endpoint.scheme == "https" else None
        self._guard = AddressGuard.build(
            credentials.allowed_hosts, credentials.allow_private_networks
        )
        self._pool = self._new_pool(endpoint)

    def _new_pool(self, origin: StoreURL) -> _Pool:
        return _Pool(
            origin.scheme,
            origin.host,
            origin.port,
            self.retry.connect_timeout,
            self._tls,
            read_timeout=self.retry.read_timeout,
            guard=self._guard,
        )

    @property
    def max_response_bytes(self) -> int | None:
        """Responses larger than this are refused and cut off (None: no limit)."""
        return self._credentials.max_response_bytes

    @classmethod
    def endpoint_key(cls, url: StoreURL) -> str:
        return f"{url.scheme}://{url.endpoint}"

    # -- the store contract -------------------------------------------------------------------
    def open_reader(self, url: StoreURL) -> BinaryIO:
        return io.BufferedReader(_HttpReader(self, url), buffer_size=_READ_BUFFER)  # type: ignore[return-value]

    def read(self, url: StoreURL, offset: int = 0, size: int | None = None) -> bytes:
        """One GET (ranged when asked); a body cut short continues through the resuming reader
        from where it stopped (the request itself is retried by ``_request``)."""
        if size is not None and size <= 0:
            return b""
        end = None if size is None else offset + size - 1
        response = self.open_range(url, offset, end)
        if response is None:
            return b""
        whole = response.status == 200 and (offset or size is not None)
        try:
            if whole:
                return _slice_full_body(response, offset, size)
            return response.read_all(self.max_response_bytes)
        except StoreUnavailableError as error:
            if self.retry.attempts <= 1:
                raise
            got = b"" if whole else getattr(error, "partial", b"")
        time.sleep(self.retry.delay(1))
        rest = None if size is None else size - len(got)
        # open_reader resumes cut bodies up to the policy's attempts per read
        return got + Store.read(self, url, offset + len(got), rest)

    def stat(self, url: StoreURL) -> FileStat:
        response = self._request("HEAD", url, tolerate=_NO_HEAD)
        if response.status in _NO_HEAD:
            response.close()
            return self._stat_with_get(url)
        response.read_all()
        length = response.header("Content-Length")
        if length is None or not length.isdigit():
            return self._stat_with_get(url)
        return self._file_stat(url, response, int(length))

    def ls(self, url: StoreURL) -> list[FileStat]:
        raise UnsupportedOperationError("HTTP has no directory listing", url=url.display())

    def close(self) -> None:
        self._pool.close()

    # -- requests -----------------------------------------------------------------------------
    def open_range(self, url: StoreURL, start: int, end: int | None = None) -> _Response | None:
        """A GET response from byte ``start`` (to ``end`` inclusive); None past the end."""
        headers = {}
        if start or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        response = self._request("GET", url, headers)
        if response.status == 416:
            response.close()
            return None
        if response.status == 200 and start:
            _skip(response, start)
        return response

    def _stat_with_get(self, url: StoreURL) -> FileStat:
        """For servers without HEAD: a one-byte ranged GET tells the total size."""
        response = self._request("GET", url, {"Range": "bytes=0-0"})
        content_range = response.header("Content-Range") or ""
        total = content_range.rpartition("/")[2]
        length = response.header("Content-Length")
        response.close()
        if response.status == 206 and total.isdigit():
            return self._file_stat(url, response, int(total))
        if response.status == 200 and length is not None and length.isdigit():
            return self._file_stat(url, response, int(length))
        if response.status == 416:
            return self._file_stat(url, response, 0)
        raise UnsupportedOperationError("the server does not report the size", url=url.display())

    @staticmethod
    def _file_stat(url: StoreURL, response: _Response, size: int) -> FileStat:
        modified = response.header("Last-Modified")
        content_type = response.header("Content-Type")
        return FileStat(
            size=size,
            modified=parsedate_to_datetime(modified) if modified else None,
            etag=response.header("ETag"),
            content_type=content_type.split(";")[0].strip() if content_type else None,
            url=str(url),
        )

    def _request(
        self,
        method: str,
        url: StoreURL,
        extra: dict[str, str] | None = None,
        tolerate: frozenset[int] = frozenset(),
    ) -> _Response:
        """Send ``method``, following same-scheme redirects; raise on error statuses."""
        target, pool = url, self._pool
        headers = SecretHeaders({**self._auth_headers(), **(extra or {})})
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send_with_retries(pool, method, target, headers)
            if response.status not in _REDIRECTS:
                if response.status not in tolerate:
                    _raise_for_status(response, url)
                return response
            location = response.header("Location")
            response.close()
            if not location:
                raise StoreUnavailableError("redirect without a Location header", url=url.display())
            target, pool, headers = self._redirected(url, target, location, pool, headers)
        raise StoreUnavailableError(f"more than {MAX_REDIRECTS} redirects", url=url.display())

    def _redirected(
        self, url: StoreURL, current: StoreURL, location: str, pool: _Pool, headers: dict[str, str]
    ) -> tuple[StoreURL, _Pool, dict[str, str]]:
        """The next hop of a redirect, refusing a change of scheme."""
        from orchestore.urls import parse_url

        absolute = urljoin(str(current), location)
        if urlsplit(absolute).scheme.lower() != url.scheme:
            raise PermissionDeniedError(
                f"refused a redirect from {url.scheme}:// to {redact_url(absolute)} "
                "(redirects are followed within the same scheme only)",
                url=url.display(),
            )
        following = parse_url(absolute)
        if following.endpoint == self.endpoint.endpoint:
            return following, self._pool, headers
        # Another host: never send it our credentials, and do not pool its connections.
        kept = SecretHeaders({k: v for k, v in headers.items() if k == "Range"})
        return following, self._new_pool(following), kept

    def _send_with_retries(
        self, pool: _Pool, method: str, url: StoreURL, headers: dict[str, str]
    ) -> _Response:
        """``_send``, tried up to ``retry.attempts`` times on connection errors and 408/429/5xx
        (GET and HEAD only: this store sends nothing else)."""
        attempts = self.retry.attempts
        for attempt in range(1, attempts + 1):
            try:
                response = self._send(pool, method, url, headers)
            except StoreUnavailableError:
                if attempt == attempts:
                    raise
            else:
                if response.status not in _RETRIED_STATUSES or attempt == attempts:
                    return response
                response.close()
            time.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, pool: _Pool, method: str, url: StoreURL, headers: dict[str, str]) -> _Response:
        target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        return send(pool, method, target, headers, url, keep=pool is self._pool)

    def _auth_headers(self) -> dict[str, str]:
        """Request headers with secrets revealed: built per request, never stored or logged."""
        credentials = self._credentials
        headers = SecretHeaders({"User-Agent": f"orchestore/{__version__}"})
        headers.update(
            {name: value.get_secret_value() for name, value in credentials.headers.items()}
        )
        if credentials.token is not None:
            headers["Authorization"] = f"Bearer {credentials.token.get_secret_value()}"
        elif credentials.username is not None and credentials.password is not None:
            pair = f"{credentials.username}:{credentials.password.get_secret_value()}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        return headers


def _tls_context(credentials: HttpCredentials) -> ssl.SSLContext:
    return tls_context(credentials.verify_ssl, credentials.ca_bundle)


def _raise_for_status(response: _Response, url: StoreURL) -> None:
    status = response.status
    if status < 400 or status == 416:
        return
    response.close()
    where = url.display()
    if status == 401:
        raise CredentialsError("authentication failed (HTTP 401)", url=where)
    if status == 403:
        raise PermissionDeniedError("access denied (HTTP 403)", url=where)
    if status in (404, 410):
        raise NotFoundError(f"not found (HTTP {status})", url=where)
    if status >= 500 or status == 429:
        raise StoreUnavailableError(f"server error (HTTP {status})", url=where)
    raise OrchestoreError(f"unexpected HTTP status {status}", url=where)


def _skip(response: _Response, count: int) -> None:
    """Discard ``count`` bytes of a body (the server ignored our Range)."""
    scratch = memoryview(bytearray(min(count, _READ_BUFFER)))
    while count:
        got = response.readinto(scratch[: min(count, len(scratch))])
        if not got:
            return
        count -= got


def _slice_full_body(response: _Response, offset: int, size: int | None) -> bytes:
    """From a 200 (Range ignored) whose first ``offset`` bytes were skipped: up to ``size``."""
    if size is None:
        return response.read_all()
    buffer = bytearray(size)
    view, filled = memoryview(buffer), 0
    while filled < size:
        got = response.readinto(view[filled:])
        if not got:
            break
        filled += got
    response.close()
    return bytes(buffer[:filled])
