"""Pooled keep-alive HTTP/1.1 connections on the standard library's http.client.

Shared by the stores that speak HTTP themselves (http(s):// and v3io://): a pool of idle
connections per origin, responses that hand their connection back once fully read, and one
mapping of socket/TLS failures to the orchestore error tree.

Timeouts are bounded per call, not only per socket read: the response head, and each block of
at most READ_BLOCK bytes of a body, must arrive within ``read_timeout`` seconds, so a server
that trickles a byte now and then is cut off instead of holding a worker for hours. A pool
given an AddressGuard resolves and vets every host before connecting (stores/_address_guard).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

from orchestore.errors import (
    CredentialsError,
    OrchestoreError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from orchestore.stores._address_guard import AddressGuard, connect
from orchestore.urls import StoreURL

__all__ = [
    "Connection",
    "Pool",
    "Response",
    "network_errors",
    "read_deadline",
    "send",
    "tls_context",
    "too_large",
    "truncated",
]

_IDLE_CONNECTIONS = 16
#: bytes per socket send of a streamed request body (http.client's default, 8 KiB, is slow)
_SEND_BLOCK = 256 * 1024
#: the most bytes one timed read call waits for: a body must deliver this much per read_timeout
READ_BLOCK = 1024 * 1024
Connection = http.client.HTTPConnection
#: what a reused keep-alive connection fails with when the server closed it while idle
STALE_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class _DeadlineSocket(socket.socket):
    """A socket whose reads also stop at ``deadline`` (monotonic seconds), when one is set."""

    deadline: float | None = None
    read_timeout: float | None = None

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        _apply_deadline(self)
        return super().recv_into(buffer, nbytes, flags)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """The TLS twin of _DeadlineSocket (SSLContext.sslsocket_class builds it)."""

    deadline: float | None = None
    read_timeout: float | None = None

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        _apply_deadline(self)
        return super().recv_into(buffer, nbytes, flags)


def _apply_deadline(sock: socket.socket) -> None:
    deadline = getattr(sock, "deadline", None)
    if deadline is None:
        return
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the server sent too little within the read timeout")
    sock.settimeout(min(remaining, getattr(sock, "read_timeout", None) or remaining))


@contextlib.contextmanager
def read_deadline(
    connection: Connection, seconds: float | None, *, after: float | None = None
) -> Iterator[None]:
    """Reads on ``connection`` inside the block must finish within ``seconds`` in total.

    Afterwards the socket's timeout is ``after`` (default ``seconds``) again.
    """
    sock = connection.sock
    if seconds is None or not hasattr(sock, "deadline"):
        yield
        return
    sock.deadline = time.monotonic() + seconds  # type: ignore[union-attr]
    try:
        yield
    finally:
        sock.deadline = None  # type: ignore[union-attr]
        with contextlib.suppress(OSError):
            sock.settimeout(after if after is not None else seconds)  # type: ignore[union-attr]


class Pool:
    """Idle keep-alive connections to one origin, reused last-in first-out.

    ``timeout`` bounds connecting; ``read_timeout`` (default: ``timeout``) each timed read.
    With a ``guard``, the host is resolved and vetted before every new connection.
    """

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int | None,
        timeout: float,
        tls: ssl.SSLContext | None,
        *,
        read_timeout: float | None = None,
        guard: AddressGuard | None = None,
    ) -> None:
        self.scheme, self.host, self.port = scheme, host.strip("[]"), port
        self.timeout, self.tls = timeout, tls
        self.read_timeout = read_timeout if read_timeout is not None else timeout
        self.guard = guard
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def new(self) -> Connection:
        connection: Connection
        # An explicit port: with None, http.client splits an IPv6 host at its last colon.
        if self.scheme == "https":
            port = self.port or http.client.HTTPS_PORT
            connection = http.client.HTTPSConnection(
                self.host, port, timeout=self.timeout, context=self.tls, blocksize=_SEND_BLOCK
            )
        else:
            port = self.port or http.client.HTTP_PORT
            connection = http.client.HTTPConnection(
                self.host, port, timeout=self.timeout, blocksize=_SEND_BLOCK
            )
        connection._create_connection = self._open_socket  # type: ignore[attr-defined]
        return connection

    def _open_socket(
        self, address: tuple[str, int], timeout: Any = None, source: Any = None
    ) -> socket.socket:
        """Resolve (and vet, with a guard), connect, then switch to the read timeout."""
        host, port = address
        shown = f"[{self.host}]" if ":" in self.host else self.host
        where = f"{self.scheme}://{shown}" + (f":{self.port}" if self.port else "")
        if self.guard is not None:
            addresses = self.guard.resolve(host, port, where)
        else:
            addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        sock = connect(addresses, self.timeout, _DeadlineSocket)  # type: ignore[arg-type]
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.read_timeout)
        sock.read_timeout = self.read_timeout  # type: ignore[attr-defined]
        return sock

    def take(self) -> tuple[Connection, bool]:
        """A connection, and whether it was reused (a reused one may have gone stale)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self.new(), False

    def give_back(self, connection: Connection) -> None:
        with self._lock:
            if len(self._idle) < _IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class Response:
    """A response plus the connection it came on; returns the connection when fully read."""

    def __init__(
        self,
        raw: http.client.HTTPResponse,
        connection: Connection,
        pool: Pool | None,
        url: StoreURL,
        origin: str | None = None,
    ) -> None:
        self.raw, self.connection, self.pool, self.url = raw, connection, pool, url
        self.origin = origin
        self.status = raw.status

    def header(self, name: str) -> str | None:
        return self.raw.getheader(name)

    def read_all(self, limit: int | None = None) -> bytes:
        """The whole body; more than ``limit`` bytes is a PermissionDeniedError.

        With a Content-Length the body is read in one call, given ``read_timeout`` per
        READ_BLOCK of it; without one (chunked), block by block. A truncated body's error
        carries the bytes that did arrive as ``partial``, so a caller can resume after them.
        """
        length = self.raw.length
        if length is not None and limit is not None and length > limit:
            self.close()
            raise too_large(self.url, limit)
        if length is None:
            return self._read_blocks(limit)
        timeout = self._read_timeout()
        blocks = max(1, -(-length // READ_BLOCK))
        try:
            with (
                network_errors(self.url, self.origin),
                read_deadline(self.connection, timeout * blocks, after=timeout),
            ):
                try:
                    body = self.raw.read()
                except http.client.IncompleteRead as exc:
                    error = truncated(self.url, len(exc.partial), exc.expected)
                    error.partial = exc.partial  # type: ignore[attr-defined]  # to resume from
                    raise error from None
        finally:
            self.close()
        return body

    def _read_blocks(self, limit: int | None) -> bytes:
        parts, total = [], 0
        view = memoryview(bytearray(READ_BLOCK))
        while count := self.readinto(view):
            total += count
            if limit is not None and total > limit:
                self.close()
                raise too_large(self.url, limit)
            parts.append(bytes(view[:count]))
        self.close()
        return b"".join(parts)

    def _read_timeout(self) -> float | None:
        return self.pool.read_timeout if self.pool is not None else self.connection.timeout

    def readinto(self, buffer: memoryview) -> int:
        """Up to READ_BLOCK bytes of the body, within the pool's read timeout."""
        buffer = buffer[:READ_BLOCK]
        timeout = self._read_timeout()
        try:
            with network_errors(self.url, self.origin), read_deadline(self.connection, timeout):
                try:
                    count = self.raw.readinto(buffer)
                except http.client.IncompleteRead as exc:
                    raise truncated(self.url, len(exc.partial), exc.expected) from None
        except OrchestoreError:
            self.close()
            raise
        if count == 0 and len(buffer) and self.raw.length:
            missing = self.raw.length
            self.close()
            raise truncated(self.url, None, missing)
        return count

    def close(self) -> None:
        """Release the connection: back to the pool when the body was consumed, else closed."""
        reusable = self.raw.isclosed() and not self.raw.will_close and self.pool is not None
        if not self.raw.isclosed():
            self.raw.close()
        if reusable and self.pool is not None:
            self.pool.give_back(self.connection)
        else:
            self.connection.close()


def send(
    pool: Pool,
    method: str,
    target: str,
    headers: dict[str, str],
    url: StoreURL,
    *,
    body: Any = None,
    keep: bool = True,
    retry_stale: bool = True,
    origin: str | None = None,
) -> Response:
    """One request on a pooled connection.

    A reused connection the server closed while idle is retried once on a fresh one, unless
    ``retry_stale`` is off: a request that must not be applied twice (a v3io append) cannot
    tell "closed while idle" from "applied, then the connection dropped".
    """
    with network_errors(url, origin):
        for attempt in range(2):
            # The retry takes a new connection: other idle ones may have gone stale too.
            connection, reused = pool.take() if attempt == 0 else (pool.new(), False)
            try:
                connection.request(method, target, body=body, headers=headers)
                with read_deadline(connection, pool.read_timeout):
                    raw = connection.getresponse()
            except STALE_ERRORS:
                connection.close()
                if reused and attempt == 0 and retry_stale:
                    continue
                raise
            except BaseException:
                connection.close()
                raise
            return Response(raw, connection, pool if keep else None, url, origin)
    raise AssertionError("unreachable")  # pragma: no cover


def tls_context(verify_ssl: bool, ca_bundle: str | None) -> ssl.SSLContext:
    """A client TLS context trusting ``ca_bundle`` (or the system's CAs)."""
    context = ssl.create_default_context(cafile=ca_bundle)
    context.sslsocket_class = _DeadlineSSLSocket  # reads stop at the call's deadline
    if not verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def truncated(url: StoreURL, got: int | None, missing: int | None) -> StoreUnavailableError:
    detail = f"{missing} bytes missing" if missing is not None else "body ended early"
    return StoreUnavailableError(
        f"truncated response: the body is shorter than its Content-Length ({detail})"
        + (f" after {got} bytes" if got is not None else ""),
        url=url.display(),
    )


def too_large(url: StoreURL, limit: int) -> PermissionDeniedError:
    """A limit, not an outage: typed so that no retry loop tries again."""
    return PermissionDeniedError(
        f"the response is larger than the configured maximum of {limit} bytes "
        "(max_response_bytes); cut off",
        url=url.display(),
    )


@contextlib.contextmanager
def network_errors(url: StoreURL, origin: str | None = None) -> Iterator[None]:
    """Map socket/TLS failures to StoreUnavailableError or CredentialsError.

    ``origin`` names the server in messages when the URL itself carries no host.
    """
    try:
        yield
    except OrchestoreError:
        raise
    except ssl.SSLCertVerificationError as exc:
        raise CredentialsError(
            f"TLS certificate verification failed ({exc.verify_message}); set ca_bundle, or "
            "verify_ssl=False for a test server",
            url=url.display(),
        ) from None
    except TimeoutError:
        raise StoreUnavailableError("timed out", url=url.display()) from None
    except (OSError, http.client.HTTPException) as exc:
        raise StoreUnavailableError(
            f"cannot reach {origin or url.endpoint}: {type(exc).__name__}: {exc}", url=url.display()
        ) from None
