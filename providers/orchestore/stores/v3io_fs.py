"""v3io:// and v3ios://: a client of Iguazio's v3io web API and an fsspec filesystem on it.

Our own implementation on the standard library's http.client (pooled keep-alive connections),
not v3iofs: v3iofs drops the container of ``v3io://bigdata/x``, ignores mkdir and is
unmaintained, and v3io-py's transport retries an interrupted append, which can apply it twice.

- Addressing: ``v3io:///container/path`` goes to ``api_url`` (MLRun's V3IO_API);
  ``v3ios://host[:port]/container/path`` goes to that host over HTTPS (``v3io://host:port/...``
  over HTTP). ``v3io://container/path`` (MLRun's short form) is the container, not a host.
- Reads are ranged GETs (by block in fsspec files); listings page with markers.
- Writes: the bytes are spooled locally (in memory up to one chunk, then a temp file), then
  uploaded as one PUT, or a PUT of the first chunk and ``Range: -1`` appends of the rest
  (Iguazio limits request sizes). An append is never re-sent after a connection error (it may
  have been applied); the whole upload is retried from the spool instead, a bounded number of
  times, and if it still fails the partially written object is deleted. The protocol has no
  rename, so while an upload runs a concurrent reader can see a growing object.

fsspec finds this module through the ``fsspec.specs`` entry point, so
``fsspec.open("v3io:///bigdata/x.csv", access_key=..., api_url=...)`` and pandas'
``storage_options`` work without importing orchestore. Only the standard library, fsspec and
orchestore's light modules are imported here.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import tempfile
import time
import weakref
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO, Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

from fsspec import AbstractFileSystem
from fsspec.spec import AbstractBufferedFile

from orchestore._version import __version__
from orchestore.credentials.redaction import SecretHeaders, remember_model
from orchestore.credentials.v3io import V3ioCredentials
from orchestore.errors import (
    CredentialsError,
    InvalidURLError,
    NotFoundError,
    OrchestoreError,
    PermissionDeniedError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from orchestore.stores._http_client import Pool, Response, send, tls_context
from orchestore.stores.retry import RetryPolicy
from orchestore.urls import StoreURL

__all__ = ["V3ioClient", "V3ioFileSystem"]

MiB = 1024 * 1024
_TIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$")


class _StatusError(StoreUnavailableError):
    """The server answered with an error status: it did not apply the request."""


@dataclass(frozen=True)
class Entry:
    """One listed or stat'ed path: ``key`` is container-relative, folders without a slash."""

    container: str
    key: str
    size: int
    is_dir: bool
    modified: datetime | None = None

    def info(self) -> dict[str, Any]:
        """The fsspec info dict."""
        name = f"{self.container}/{self.key}".rstrip("/") if self.key else self.container
        return {
            "name": name,
            "size": self.size,
            "type": "directory" if self.is_dir else "file",
            "mtime": self.modified,
        }


@dataclass
class _UploadState:
    """Whether an upload may have changed the object (then a failure deletes it)."""

    written: bool = False


class _Slice:
    """``length`` bytes of a file from its current position: one request's body."""

    def __init__(self, source: IO[bytes], length: int) -> None:
        self._source, self._left = source, length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size < 0 else min(size, self._left)
        data = self._source.read(size)
        self._left -= len(data)
        return data


class V3ioClient:
    """Requests to one v3io web API with one set of credentials; thread-safe."""

    #: bytes per upload request: the first is a PUT, the rest ``Range: -1`` appends
    chunk_size: int = 10 * MiB
    #: whole-upload attempts (an interrupted upload restarts from its local spool)
    upload_attempts: int = 3
    #: attempts of an idempotent request (GET, HEAD, DELETE, listing) on connection errors
    request_attempts: int = 3
    #: entries per listing page (the server's ``max-keys``)
    list_page_size: int = 1000
    #: seconds to wait before the second attempt; doubles after each failure
    retry_delay: ClassVar[float] = 0.1

    def __init__(
        self, credentials: V3ioCredentials, endpoint: StoreURL, retry: RetryPolicy | None = None
    ) -> None:
        self.credentials = credentials
        self.endpoint = endpoint
        remember_model(credentials)  # redacted from SDK debug logs, as every store's are
        self.origin = self._origin(credentials, endpoint)
        parts = urlsplit(self.origin)
        tls = None
        if parts.scheme == "https":
            tls = tls_context(credentials.verify_ssl, credentials.ca_bundle)
        connect_timeout = read_timeout = credentials.timeout
        if retry is not None:  # the store's policy: attempts, backoff and timeouts
            self.upload_attempts = self.request_attempts = retry.attempts
            self.retry_delay = retry.backoff  # type: ignore[misc]
            connect_timeout, read_timeout = retry.connect_timeout, retry.read_timeout
        self._pool = Pool(
            parts.scheme,
            parts.hostname or "",
            parts.port,
            connect_timeout,
            tls,
            read_timeout=read_timeout,
        )
        # fsspec users drop filesystems without closing them: close the idle sockets then.
        weakref.finalize(self, self._pool.close)

    @staticmethod
    def _origin(credentials: V3ioCredentials, endpoint: StoreURL) -> str:
        """The web API's ``scheme://host[:port]``: the URL's host, else ``api_url``."""
        if endpoint.host:
            scheme = "https" if endpoint.scheme == "v3ios" else "http"
            return f"{scheme}://{endpoint.endpoint}"  # an IPv6 host keeps its brackets
        if credentials.api_url is None:
            raise CredentialsError(
                "V3ioCredentials: api_url (V3IO_API) is not set, and v3io:///container/path "
                "URLs name no host; set api_url or use v3ios://host[:port]/container/path "
                f"(credentials: {credentials.source})",
                url=endpoint.display() if endpoint.bucket else None,
            )
        return credentials.api_url

    def url(self, container: str, key: str = "") -> StoreURL:
        """The URL of ``container/key`` in the form this client was addressed with."""
        return StoreURL(
            scheme=self.endpoint.scheme or "v3io",
            bucket=container,
            path=key,
            host=self.endpoint.host,
            port=self.endpoint.port,
        )

    def close(self) -> None:
        self._pool.close()

    # -- requests -----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        container: str,
        key: str = "",
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        body: Any = None,
        idempotent: bool = True,
        tolerate: frozenset[int] = frozenset(),
    ) -> Response:
        """Send one request; raise the orchestore error its status maps to.

        Idempotent requests without a streamed body are retried on connection errors; the
        others are sent once (an append must never be applied twice).
        """
        url = self.url(container, key)
        target = "/" + quote(container, safe="") + ("/" + quote(key, safe="/") if key else "")
        if query:
            target += "?" + urlencode(query)
        all_headers = SecretHeaders({**self._auth_headers(), **(headers or {})})
        attempts = self.request_attempts if idempotent and body is None else 1
        for attempt in range(attempts):
            try:
                response = send(
                    self._pool,
                    method,
                    target,
                    all_headers,
                    url,
                    body=body,
                    retry_stale=idempotent and body is None,
                    origin=self.origin,
                )
            except StoreUnavailableError:
                if attempt + 1 >= attempts:
                    raise
                time.sleep(self.retry_delay * 2**attempt)
                continue
            if response.status >= 400 and response.status not in tolerate:
                self._raise_for_status(response, method, url)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _auth_headers(self) -> dict[str, str]:
        """Headers with the secret revealed: built per request, never stored or logged."""
        credentials = self.credentials
        headers = {"User-Agent": f"orchestore/{__version__}"}
        if credentials.access_key is not None:
            headers["X-v3io-session-key"] = credentials.access_key.get_secret_value()
        elif credentials.username is not None and credentials.password is not None:
            pair = f"{credentials.username}:{credentials.password.get_secret_value()}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        return headers

    def _raise_for_status(self, response: Response, method: str, url: StoreURL) -> None:
        status = response.status
        message = _error_message(response)
        where = url.display()
        source = self.credentials.source
        if status == 401:
            raise CredentialsError(
                f"the v3io web API refused the credentials (HTTP 401; credentials: {source})",
                url=where,
            )
        if status == 403:
            raise PermissionDeniedError(
                f"access denied (HTTP 403; credentials: {source})", url=where
            )
        if status == 404:
            if "container" in message.lower():
                raise NotFoundError(f"container '{url.bucket}' not found", url=where)
            raise NotFoundError("no such object or folder", url=where)
        if status == 409:
            if "not empty" in message.lower():
                raise UnsupportedOperationError(
                    "the folder is not empty; delete(recursive=True) removes it with its content",
                    url=where,
                )
            raise InvalidURLError(f"conflicts with what is there ({message})", url=where)
        if status == 400 and message.lower() in _PATH_KIND_ERRORS:
            raise InvalidURLError(_PATH_KIND_ERRORS[message.lower()], url=where)
        if status >= 500 or status == 429:
            raise _StatusError(f"server error (HTTP {status}) on {method}", url=where)
        raise OrchestoreError(
            f"unexpected HTTP {status} on {method}" + (f": {message}" if message else ""),
            url=where,
        )

    # -- objects ------------------------------------------------------------------------------
    def stat(self, container: str, key: str) -> Entry:
        """HEAD for size and time; a zero size is told apart from a folder by a listing."""
        if not key.strip("/"):
            self.check_container(container, key)
            return Entry(container, "", 0, True)
        try:
            response = self.request("HEAD", container, key.rstrip("/"))
        except NotFoundError:
            self.check_container(container, key)
            raise
        response.read_all()
        size = int(response.header("Content-Length") or 0)
        modified = response.header("Last-Modified")
        when = parsedate_to_datetime(modified) if modified else None
        is_dir = size == 0 and self.is_dir(container, key)
        return Entry(container, key.rstrip("/"), size, is_dir, when)

    def is_dir(self, container: str, key: str) -> bool:
        """Whether ``key`` is a folder: the server lists folders and 404s files."""
        try:
            self._list_page(container, key, marker="", limit=0)
        except NotFoundError:
            return False
        return True

    def check_container(self, container: str, key: str = "") -> None:
        """NotFoundError naming the container when it does not exist.

        A HEAD's 404 has no body to tell a missing object from a missing container.
        """
        try:
            self._list_page(container, "", marker="", limit=0)
        except NotFoundError as exc:
            raise NotFoundError(exc.message, url=self.url(container, key).display()) from None

    def open_range(self, container: str, key: str, start: int, end: int | None) -> Response | None:
        """A GET of bytes ``[start, end)`` (to the end when None); None past the end."""
        if end is not None and end <= start:
            return None
        headers = {}
        if start or end is not None:
            last = "" if end is None else str(end - 1)
            headers["Range"] = f"bytes={start}-{last}"
        try:
            response = self.request("GET", container, key, headers=headers, tolerate=_PAST_END)
        except NotFoundError:
            self.check_container(container, key)
            raise
        if response.status in _PAST_END:
            response.close()
            return None
        return response

    def read(self, container: str, key: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes ``[start, end)``."""
        response = self.open_range(container, key, start, end)
        return b"" if response is None else response.read_all()

    def put(self, container: str, key: str, data: bytes | memoryview, *, append: bool) -> None:
        """One PUT of ``data`` (an append with ``append``); never retried when appending."""
        headers = {"Content-Length": str(len(data))}
        if append:
            headers["Range"] = "-1"
        self.request(
            "PUT", container, key, headers=headers, body=bytes(data), idempotent=not append
        ).read_all()

    def append(self, container: str, key: str, data: bytes | memoryview) -> None:
        """Append ``data`` in chunks, creating the object when missing.

        Not retried: after a connection error nobody can tell whether the server applied it.
        """
        view = memoryview(data).cast("B")
        try:
            for start in range(0, max(len(view), 1), self.chunk_size):
                self.put(container, key, view[start : start + self.chunk_size], append=True)
        except StoreUnavailableError as exc:
            raise StoreUnavailableError(
                f"{exc.message}; the append was not re-sent (it may or may not have been "
                "applied: check the object before appending again)",
                url=self.url(container, key).display(),
            ) from None

    def upload(self, container: str, key: str, source: IO[bytes], size: int) -> None:
        """Replace the object with ``size`` bytes of the seekable ``source``.

        Connection errors restart the whole upload (a PUT replaces, so restarting is safe; an
        append is never re-sent). When every attempt fails, a partially written object is
        deleted and StoreUnavailableError raised.
        """
        state = _UploadState()
        failure: StoreUnavailableError | None = None
        for attempt in range(self.upload_attempts):
            if attempt:
                time.sleep(self.retry_delay * 2 ** (attempt - 1))
            source.seek(0)
            try:
                self._upload_once(container, key, source, size, state)
                return
            except _StatusError as exc:  # the server answered: it did not apply that request
                failure = exc
            except StoreUnavailableError as exc:  # no answer: it may have applied it
                failure, state.written = exc, True
            except OrchestoreError:
                self._remove_partial(container, key, state.written)
                raise
        self._remove_partial(container, key, state.written)
        assert failure is not None
        raise StoreUnavailableError(
            f"upload failed after {self.upload_attempts} attempts ({failure.message})"
            + ("; the partially written object was deleted" if state.written else ""),
            url=self.url(container, key).display(),
        )

    def _upload_once(
        self, container: str, key: str, source: IO[bytes], size: int, state: _UploadState
    ) -> None:
        first = min(size, self.chunk_size)
        self._put_stream(container, key, source, first, append=False)
        state.written = True
        sent = first
        while sent < size:
            length = min(size - sent, self.chunk_size)
            self._put_stream(container, key, source, length, append=True)
            sent += length

    def _put_stream(
        self, container: str, key: str, source: IO[bytes], length: int, *, append: bool
    ) -> None:
        headers = {"Content-Length": str(length)}
        if append:
            headers["Range"] = "-1"
        response = self.request(
            "PUT",
            container,
            key,
            headers=headers,
            body=_Slice(source, length) if length else b"",
            idempotent=False,
        )
        response.read_all()

    def _remove_partial(self, container: str, key: str, written: bool) -> None:
        if written:
            with contextlib.suppress(OrchestoreError):
                self.delete(container, key)

    def delete(self, container: str, key: str, *, folder: bool = False) -> None:
        """DELETE an object, or an empty folder with ``folder``."""
        path = key.rstrip("/") + ("/" if folder else "")
        self.request("DELETE", container, path).read_all()

    def mkdir(self, container: str, key: str) -> None:
        """PUT of ``key/`` with no body: a folder (and its parents)."""
        self.request(
            "PUT", container, key.rstrip("/") + "/", headers={"Content-Length": "0"}, body=b""
        ).read_all()

    # -- listings -----------------------------------------------------------------------------
    def list_dir(self, container: str, key: str) -> Iterator[Entry]:
        """The direct children of a folder, page by page (marker-based paging)."""
        marker = ""
        while True:
            entries, truncated, next_marker = self._list_page(
                container, key, marker=marker, limit=self.list_page_size
            )
            yield from entries
            if not truncated:
                return
            if not next_marker or next_marker == marker:
                raise StoreUnavailableError(
                    "the listing is truncated but its marker did not advance",
                    url=self.url(container, key).display(),
                )
            marker = next_marker

    def _list_page(
        self, container: str, key: str, *, marker: str, limit: int
    ) -> tuple[list[Entry], bool, str]:
        prefix = key.strip("/")
        query = {"prefix": f"{prefix}/" if prefix else "/", "max-keys": str(limit)}
        if marker:
            query["marker"] = marker
        response = self.request("GET", container, "", query=query)
        body = response.read_all()
        try:
            root = _parse_xml(body)
        except ElementTree.ParseError:
            raise StoreUnavailableError(
                "the listing is not valid XML", url=self.url(container, key).display()
            ) from None
        entries = [_file_entry(container, node) for node in _children(root, "Contents")]
        entries += [_dir_entry(container, node) for node in _children(root, "CommonPrefixes")]
        truncated = (_text(root, "IsTruncated") or "").lower() == "true"
        return entries, truncated, _text(root, "NextMarker") or ""

    def list_containers(self) -> list[Entry]:
        """Every container this identity can see (``GET /``)."""
        response = self.request("GET", "", "")
        root = _parse_xml(response.read_all())
        return [
            Entry(name, "", 0, True)
            for bucket in root.iter()
            if _local(bucket.tag) == "Bucket" and (name := _text(bucket, "Name"))
        ]


#: 400 messages that say the path is of the wrong kind -> what that means for the caller
_PATH_KIND_ERRORS = {
    "is a directory": "names a folder, not an object",
    "not a directory": "a parent of this path is an object, not a folder",
}
#: a range past the end: no bytes
_PAST_END = frozenset({416})


def _error_message(response: Response) -> str:
    """The ``ErrorMessage`` of a JSON error body ('' when there is none)."""
    try:
        body = response.read_all()[:65536]
    except OrchestoreError:
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return ""
    message = parsed.get("ErrorMessage") if isinstance(parsed, dict) else None
    return message if isinstance(message, str) else ""


def _parse_xml(body: bytes) -> ElementTree.Element:
    # The body comes from the configured web API; expat does not resolve external entities.
    return ElementTree.fromstring(body)  # noqa: S314


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(root: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [node for node in root if _local(node.tag) == name]


def _text(node: ElementTree.Element, name: str) -> str | None:
    for child in node:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return None


def _file_entry(container: str, node: ElementTree.Element) -> Entry:
    key = _text(node, "Key") or ""
    size = _text(node, "Size") or "0"
    return Entry(container, key, int(size), False, _parse_time(_text(node, "LastModified")))


def _dir_entry(container: str, node: ElementTree.Element) -> Entry:
    key = (_text(node, "Prefix") or "").rstrip("/")
    return Entry(container, key, 0, True, _parse_time(_text(node, "LastModified")))


def _parse_time(text: str | None) -> datetime | None:
    """``2019-06-02T14:30:39.18Z`` (any number of fraction digits) as an aware datetime."""
    match = _TIME_RE.match(text or "")
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    when = datetime.fromisoformat(whole)
    if fraction:
        when = when.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    if zone and zone != "Z":
        offset = zone.replace(":", "")
        return when.replace(tzinfo=datetime.strptime(offset, "%z").tzinfo)
    return when.replace(tzinfo=UTC)


# -- the fsspec filesystem --------------------------------------------------------------------
def _looks_like_host(netloc: str) -> bool:
    return "." in netloc or ":" in netloc or netloc.lower() == "localhost"


def _split_url(path: str) -> tuple[str, str, str]:
    """``(scheme, netloc, container/key)`` of a v3io(s) URL or a bare path."""
    scheme, sep, rest = path.partition("://")
    if not sep:
        return "", "", path.strip("/")
    if rest.startswith("/"):
        return scheme.lower(), "", rest.strip("/")
    netloc, _, tail = rest.partition("/")
    if _looks_like_host(netloc):
        return scheme.lower(), netloc, tail.strip("/")
    return scheme.lower(), "", rest.strip("/")


class V3ioFileSystem(AbstractFileSystem):
    """fsspec filesystem for ``v3io:///container/path`` and ``v3ios://host[:port]/...``.

    Its storage options are the V3ioCredentials fields (``api_url``, ``access_key``,
    ``username``, ``password``, ``verify_ssl``, ``ca_bundle``, ``timeout``), or a ready
    ``credentials`` model. Nothing is read from V3IO_* environment variables.

    One instance talks to one web API: the host of the URL it was made from
    (``fsspec.open("v3ios://host:port/...")``, via ``endpoint``), else ``api_url``. Paths
    given to an existing instance are ``container/path``; a host in them is not used.
    """

    protocol = ("v3io", "v3ios")
    root_marker = ""
    # Instances are not cached: fsspec's cache key is built from str(kwargs), in which
    # SecretStr values all look alike, so two credential sets could share an instance.
    cachable = False
    #: bytes per read block and per write buffer flush of an open file
    default_block_size = 4 * MiB

    def __init__(
        self,
        api_url: str | None = None,
        access_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        verify_ssl: bool = True,
        ca_bundle: str | None = None,
        timeout: float = 60.0,
        *,
        credentials: V3ioCredentials | None = None,
        endpoint: str | None = None,
        chunk_size: int | None = None,
        list_page_size: int | None = None,
        retry: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if credentials is None:
            credentials = V3ioCredentials(
                api_url=api_url,
                access_key=access_key,
                username=username,
                password=password,
                verify_ssl=verify_ssl,
                ca_bundle=ca_bundle,
                timeout=timeout,
            )
        credentials.check_usable()
        self.credentials = credentials
        self.client = V3ioClient(credentials, _endpoint_url(endpoint), retry)
        if chunk_size is not None:
            self.client.chunk_size = chunk_size
        if list_page_size is not None:
            self.client.list_page_size = list_page_size

    # -- paths --------------------------------------------------------------------------------
    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return _split_url(str(path))[2]

    @staticmethod
    def _get_kwargs_from_urls(path: str) -> dict[str, Any]:
        scheme, netloc, _ = _split_url(path)
        return {"endpoint": f"{scheme}://{netloc}"} if netloc else {}

    def unstrip_protocol(self, name: str) -> str:
        return str(self.client.url(*self._split(name, allow_root=True)))

    def _split(self, path: str, *, allow_root: bool = False) -> tuple[str, str]:
        container, _, key = self._strip_protocol(path).partition("/")
        if not container and not allow_root:
            raise InvalidURLError(
                "missing container: expected v3io:///<container>/<path>", url=str(path)
            )
        return container, key

    # -- metadata -----------------------------------------------------------------------------
    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        container, key = self._split(path, allow_root=True)
        if not container:
            return {"name": "", "size": 0, "type": "directory", "mtime": None}
        return self.client.stat(container, key).info()

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        container, key = self._split(path, allow_root=True)
        if not container:
            entries = self.client.list_containers()
        else:
            try:
                entries = list(self.client.list_dir(container, key))
            except NotFoundError:
                entry = self.client.stat(container, key)  # a file lists as itself
                if entry.is_dir:
                    raise
                entries = [entry]
        infos = sorted((entry.info() for entry in entries), key=lambda info: info["name"])
        return infos if detail else [info["name"] for info in infos]

    def exists(self, path: str, **kwargs: Any) -> bool:
        # fsspec's exists() swallows every error; only "not found" means False here.
        try:
            self.info(path)
        except FileNotFoundError:
            return False
        return True

    def modified(self, path: str) -> datetime:
        modified = self.info(path).get("mtime")
        if modified is None:
            raise NotImplementedError("the server reported no modification time")
        return modified

    # -- reading and writing ------------------------------------------------------------------
    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        container, key = self._split(path)
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = self.client.stat(container, key).size
            start = max(size + start, 0) if start is not None and start < 0 else start
            end = max(size + end, 0) if end is not None and end < 0 else end
        return self.client.read(container, key, start or 0, end)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        container, key = self._split(path)
        with tempfile.SpooledTemporaryFile(max_size=self.client.chunk_size) as spool:
            spool.write(value)
            self.client.upload(container, key, spool, len(value))

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> V3ioFile:
        if mode not in ("rb", "wb"):
            raise ValueError(f"unsupported mode {mode!r}: v3io files open with 'rb' or 'wb'")
        return V3ioFile(
            self,
            path,
            mode,
            block_size=block_size or self.default_block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """A streamed copy through this process: the web API has no server-side copy."""
        with self.open(path1, "rb") as source, self.open(path2, "wb") as target:
            while chunk := source.read(self.default_block_size):
                target.write(chunk)

    # -- folders and deletes ------------------------------------------------------------------
    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        container, key = self._split(path)
        if not key:
            self.client.check_container(container)  # containers are made by the platform
            return
        self.client.mkdir(container, key)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        if not exist_ok and self.exists(path):
            raise FileExistsError(path)
        self.mkdir(path)

    def rm_file(self, path: str) -> None:
        container, key = self._split(path)
        self.client.delete(container, key)

    def rmdir(self, path: str) -> None:
        container, key = self._split(path)
        self.client.delete(container, key, folder=True)

    def rm(
        self, path: str | list[str], recursive: bool = False, maxdepth: int | None = None
    ) -> None:
        for one in path if isinstance(path, list) else [path]:
            entry = self.client.stat(*self._split(one))
            if not entry.is_dir:
                self.client.delete(entry.container, entry.key)
            elif recursive:
                self._rm_tree(entry.container, entry.key)
            else:
                self.client.delete(entry.container, entry.key, folder=True)

    def _rm_tree(self, container: str, key: str) -> None:
        """Delete a folder's content depth first, then the folder (the API has no rm -r)."""
        for entry in list(self.client.list_dir(container, key)):
            if entry.is_dir:
                self._rm_tree(container, entry.key)
            else:
                self.client.delete(container, entry.key)
        if key:
            self.client.delete(container, key, folder=True)


def _endpoint_url(endpoint: str | None) -> StoreURL:
    """The StoreURL of a ``v3io(s)://host[:port]`` endpoint (an empty host: use api_url)."""
    if not endpoint:
        return StoreURL(scheme="v3io")
    scheme, netloc, _ = _split_url(endpoint)
    has_port = ":" in netloc and not netloc.endswith("]")
    host, _, port = netloc.rpartition(":") if has_port else (netloc, "", "")
    if scheme not in ("v3io", "v3ios") or not host or (port and not port.isdigit()):
        raise InvalidURLError("expected v3io(s)://host[:port]", url=endpoint)
    return StoreURL(scheme=scheme, host=host.lower(), port=int(port) if port else None)


class V3ioFile(AbstractBufferedFile):
    """An open v3io object: ranged GETs by block to read; a local spool uploaded on commit.

    Leaving a ``with`` block by an exception discards what was written (fsspec's default
    would upload the partial data).
    """

    fs: V3ioFileSystem

    def __init__(self, fs: V3ioFileSystem, path: str, mode: str, **kwargs: Any) -> None:
        self._container, self._key = fs._split(path)
        self._spool: tempfile.SpooledTemporaryFile[bytes] | None = None
        if mode == "rb" and "size" not in kwargs:
            entry = fs.client.stat(self._container, self._key)
            if entry.is_dir:
                raise IsADirectoryError(f"{path} is a folder")
            kwargs["size"] = entry.size
        super().__init__(fs, path, mode, **kwargs)

    def _fetch_range(self, start: int, end: int) -> bytes:
        return self.fs.client.read(self._container, self._key, start, end)

    def _initiate_upload(self) -> None:
        # Closed by commit() or discard(): it outlives this call by design.
        self._spool = tempfile.SpooledTemporaryFile(max_size=self.fs.client.chunk_size)  # noqa: SIM115

    def _upload_chunk(self, final: bool = False) -> bool:
        assert self._spool is not None
        self._spool.write(self.buffer.getbuffer())
        if final and self.autocommit:
            self.commit()
        return True

    def commit(self) -> None:
        """Upload the spool (called by close() unless opened with autocommit=False)."""
        if self._spool is None:
            return
        spool, self._spool = self._spool, None
        with spool:
            size = spool.tell()
            self.fs.client.upload(self._container, self._key, spool, size)

    def discard(self) -> None:
        """Forget what was written; the object keeps its previous content."""
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc_type is not None and self.mode == "wb":
            self.discard()
            self.closed = True
            return
        self.close()
