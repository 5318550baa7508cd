"""Pooled keep-alive HTTP/1.1 connections on the standard library's http.client.

Shared by the stores that speak HTTP themselves (http(s):// and v3io://): a pool of idle
connections per origin, responses that hand their connection back once fully read, and one
mapping of socket/TLS failures to the orchestore error tree.
"""

from __future__ import annotations

import contextlib
import http.client
import ssl
import threading
from collections.abc import Iterator
from typing import Any

from orchestore.errors import CredentialsError, OrchestoreError, StoreUnavailableError
from orchestore.urls import StoreURL

__all__ = [
    "Connection",
    "Pool",
    "Response",
    "network_errors",
    "send",
    "tls_context",
    "truncated",
]

_IDLE_CONNECTIONS = 16
#: bytes per socket send of a streamed request body (http.client's default, 8 KiB, is slow)
_SEND_BLOCK = 256 * 1024
Connection = http.client.HTTPConnection
#: what a reused keep-alive connection fails with when the server closed it while idle
STALE_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class Pool:
    """Idle keep-alive connections to one origin, reused last-in first-out."""

    def __init__(
        self, scheme: str, host: str, port: int | None, timeout: float, tls: ssl.SSLContext | None
    ) -> None:
        self.scheme, self.host, self.port = scheme, host.strip("[]"), port
        self.timeout, self.tls = timeout, tls
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def new(self) -> Connection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self.tls, blocksize=_SEND_BLOCK
            )
        return http.client.HTTPConnection(
            self.host, self.port, timeout=self.timeout, blocksize=_SEND_BLOCK
        )

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

    def read_all(self) -> bytes:
        with network_errors(self.url, self.origin):
            try:
                body = self.raw.read()
            except http.client.IncompleteRead as exc:
                self.close()
                raise truncated(self.url, len(exc.partial), exc.expected) from None
        self.close()
        return body

    def readinto(self, buffer: memoryview) -> int:
        with network_errors(self.url, self.origin):
            count = self.raw.readinto(buffer)
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
