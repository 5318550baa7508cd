"""A real, threaded HTTP/1.1 file server on 127.0.0.1, for testing the read-only http(s) store.

Standard library only. It serves the files under a root read-only, with keep-alive, single byte
ranges, Basic/Bearer auth and optional TLS, plus ``/_test/`` routes that misbehave on purpose
(redirects, truncated bodies, no Range support, no HEAD) so the store's error paths meet a
real socket instead of a mock.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import mimetypes
import re
import socket
import socketserver
import ssl
import stat
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO, Generic, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from tests.servers.lifecycle import ManagedServer

__all__ = [
    "HttpFileServer",
    "RangeNotSatisfiableError",
    "RecordedHeaders",
    "RecordedRequest",
    "make_self_signed_cert",
    "parse_byte_range",
    "resolve_under",
]

HOST = "127.0.0.1"
REALM = "orchestore-test"
TEST_PREFIX = "/_test/"
_Address = tuple[str, int]
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_BODYLESS_CODES = frozenset({204, 304})
_CHUNK = 64 * 1024
_IO_TIMEOUT = 30.0  # seconds: a stuck client cannot hold a handler thread (and stop()) forever
_MAX_DISCARD = 16 * 1024 * 1024  # request bodies larger than this close the connection instead
_MAX_LINE = 8192  # chunk-size and trailer lines
_RANGE_SPEC = re.compile(r"\s*([0-9]*)\s*-\s*([0-9]*)\s*")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
# A private table holds only Python's built-in types, so answers do not depend on the host's
# /etc/mime.types.
_MIME = mimetypes.MimeTypes()
_COMPRESSED_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "br": "application/x-brotli",
    "compress": "application/x-compress",
}
_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
x509_extensions = v3
prompt = no
default_md = sha256

[dn]
CN = 127.0.0.1

[v3]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


# -- records ------------------------------------------------------------------------------------
class RecordedHeaders(Mapping[str, str]):
    """Request headers as sent; lookups ignore case, as HTTP header names do.

    Repeated headers are joined with ", ", which is how HTTP defines their combined value.
    """

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        merged: dict[str, tuple[str, str]] = {}
        for name, value in items:
            key = name.lower()
            if key in merged:
                first_name, earlier = merged[key]
                merged[key] = (first_name, f"{earlier}, {value}")
            else:
                merged[key] = (name, value)
        self._items = merged

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"RecordedHeaders({dict(self)!r})"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; ``connection_id`` shows which requests shared a socket."""

    method: str
    path: str
    headers: RecordedHeaders
    connection_id: int


_Request = TypeVar("_Request")


class RequestLog(Generic[_Request]):
    """Thread-safe request log that outlives the server, so tests can inspect it after stop()."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[_Request] = []

    def append(self, request: _Request) -> None:
        with self._lock:
            self._requests.append(request)

    def snapshot(self) -> list[_Request]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()


@dataclass(frozen=True)
class _Config:
    root: Path
    username: str | None
    password: str | None
    token: str | None
    recorder: RequestLog[RecordedRequest]

    @property
    def requires_auth(self) -> bool:
        return self.username is not None or self.token is not None


# -- pure helpers -------------------------------------------------------------------------------
class RangeNotSatisfiableError(Exception):
    """The requested range starts at or past the end of the file (HTTP 416)."""


def parse_byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) one Range header asks for; None means "serve the whole file".

    Malformed and multi-range headers give None (ignored, as many servers do); an end past the
    file is clamped; a start at or past the end raises RangeNotSatisfiableError.
    """
    if header is None:
        return None
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    match = _RANGE_SPEC.fullmatch(spec)  # a multi-range list ("0-1,4-5") does not match
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        return _suffix_range(last, size)
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiableError
    return start, min(int(last), size - 1) if last else size - 1


def _suffix_range(last: str, size: int) -> tuple[int, int] | None:
    """``bytes=-N``: the last N bytes, the whole file when N is larger (RFC 9110 14.1.2)."""
    if not last:
        return None
    length = int(last)
    if length == 0 or size == 0:
        raise RangeNotSatisfiableError
    return max(size - length, 0), size - 1


def resolve_under(root: Path, url_path: str) -> Path | None:
    """Map a percent-encoded URL path onto ``root``; None when it would leave ``root``.

    ``..`` is applied lexically (after percent-decoding, so ``%2e%2e`` counts) and the result is
    resolved again, so neither dot segments nor symlinks can reach outside the root.
    """
    parts: list[str] = []
    for part in unquote(url_path).split("/"):
        if part in ("", "."):
            continue
        if "\x00" in part or "\\" in part:
            return None
        if part != "..":
            parts.append(part)
        elif parts:
            parts.pop()
        else:
            return None
    try:
        candidate = root.joinpath(*parts).resolve()
    except (OSError, ValueError):
        return None
    return candidate if candidate.is_relative_to(root) else None


def _content_type(path: Path) -> str:
    """Guess from the name; compressed files are served as what they are, never re-encoded."""
    guessed, encoding = _MIME.guess_type(path.name, strict=False)
    if encoding is not None:
        return _COMPRESSED_TYPES.get(encoding, "application/octet-stream")
    return guessed or "application/octet-stream"


def _basic_credentials(value: str) -> tuple[str, str] | None:
    """Decode a Basic auth token; None when it is not valid base64 of ``user:password``."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


@dataclass(frozen=True)
class _FileInfo:
    path: Path
    size: int
    mtime: float
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> _FileInfo | None:
        """Only regular files are served: directories and specials are 404 like missing files."""
        try:
            info = path.stat()
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        return cls(path, info.st_size, info.st_mtime, info.st_mtime_ns)

    def headers(self, *, ranges: bool) -> list[tuple[str, str]]:
        headers = [
            ("Content-Type", _content_type(self.path)),
            ("Last-Modified", formatdate(self.mtime, usegmt=True)),
            ("ETag", f'"{self.size:x}-{self.mtime_ns:x}"'),
        ]
        if ranges:
            headers.append(("Accept-Ranges", "bytes"))
        return headers


def _copy(source: BinaryIO, sink: io.BufferedIOBase, length: int) -> bool:
    """Copy ``length`` bytes; False when the file ended early (it shrank while being served)."""
    remaining = length
    while remaining:
        chunk = source.read(min(_CHUNK, remaining))
        if not chunk:
            return False
        sink.write(chunk)
        remaining -= len(chunk)
    return True


# -- server -------------------------------------------------------------------------------------
class TrackingHTTPServer(ThreadingHTTPServer):
    """A threaded test server on 127.0.0.1 that tracks open connections, so stop() can wake
    idle keep-alive threads instead of waiting for them; optional TLS, handshaken per thread.
    Subclasses choose the handler; the handler reaches ``server.config``."""

    daemon_threads = True

    def __init__(
        self, config: object, tls: ssl.SSLContext | None, handler: type[BaseHTTPRequestHandler]
    ) -> None:
        self.config = config
        self.tls = tls
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        super().__init__((HOST, 0), handler)

    def server_bind(self) -> None:
        """Skip HTTPServer.server_bind's reverse DNS lookup (getfqdn): slow and never needed."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, self.server_address[1]

    def process_request(self, request: socket.socket, client_address: _Address) -> None:  # type: ignore[override]
        """Register every accepted socket before its thread starts, so stop() cannot miss one.

        The TLS wrapper is made here but the handshake runs in the handler thread, so a slow
        client cannot stall accept().
        """
        if self.tls is not None:
            request = self.tls.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        with self._lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def process_request_thread(self, request: socket.socket, client_address: _Address) -> None:  # type: ignore[override]
        try:
            request.settimeout(_IO_TIMEOUT)
            if isinstance(request, ssl.SSLSocket):
                request.do_handshake()
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            with self._lock:
                self._open.discard(request)
            self.shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down (not close) open sockets: their own threads close them as they exit.

        The lock guarantees a socket still in the set has not been closed by its thread. The
        plain socket shutdown is used so that TLS sockets keep their state for that thread.
        """
        with self._lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(connection, socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up mid-request is routine in these tests; keep stderr quiet."""


class _Server(TrackingHTTPServer):
    """The file server: numbers connections so tests can see keep-alive reuse."""

    config: _Config

    def __init__(self, config: _Config, tls: ssl.SSLContext | None) -> None:
        self._connections = 0
        super().__init__(config, tls, _Handler)

    def next_connection_id(self) -> int:
        with self._lock:
            self._connections += 1
            return self._connections


class _Handler(BaseHTTPRequestHandler):
    """Read-only file serving plus the misbehaving ``/_test/`` routes."""

    protocol_version = "HTTP/1.1"
    timeout = _IO_TIMEOUT
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every small keep-alive response, as no real server does.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection_id = self.server.next_connection_id()
        self._must_close = False

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: test output should not fill with access-log lines."""

    # -- dispatch ---------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        config = self.server.config
        config.recorder.append(
            RecordedRequest(
                self.command, self.path, RecordedHeaders(self.headers.items()), self.connection_id
            )
        )
        self._discard_body()
        url = urlsplit(self.path)
        if self.command not in ("GET", "HEAD"):
            self._send_json(405, {"error": "read-only server"}, [("Allow", "GET, HEAD")])
        elif url.path == f"{TEST_PREFIX}redirect":
            self._redirect(url.query)
        elif not self._authorized():
            self._challenge()
        elif url.path.startswith(TEST_PREFIX):
            self._test_route(url.path[len(TEST_PREFIX) :])
        else:
            self._serve_file(url.path, ranges=True)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = _dispatch

    def _test_route(self, route: str) -> None:
        name, _, rest = route.partition("/")
        if name == "truncate":
            self._serve_truncated(rest)
        elif name == "no-range":
            self._serve_file(rest, ranges=False)
        elif name == "no-head":
            self._serve_no_head(rest)
        elif name == "headers" and not rest:
            self._send_json(200, dict(RecordedHeaders(self.headers.items())))
        elif name == "status":
            self._send_status(rest)
        else:
            self._not_found()

    # -- request bodies and auth ------------------------------------------------------------------
    def _discard_body(self) -> None:
        """Read away any request body so the next request on this connection parses cleanly.

        Closing with the body unread instead would make the kernel reset the connection, and
        the client could lose our response (or fail mid-send) in a race.
        """
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None:
            drained = encoding.split(",")[-1].strip().lower() == "chunked"
            drained = drained and self._discard_chunked()
        else:
            drained = self._discard_length(self.headers.get("Content-Length"))
        if not drained:
            self._must_close = True  # the body's end is unknown: this connection is done

    def _discard_length(self, text: str | None) -> bool:
        if text is None:
            return True
        if not (text.isascii() and text.isdigit()) or int(text) > _MAX_DISCARD:
            return False
        return self._discard(int(text))

    def _discard_chunked(self) -> bool:
        """Read away a chunked body and its trailers; False when malformed, huge or cut short."""
        total = 0
        while True:
            size_text = self.rfile.readline(_MAX_LINE).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                return False
            total += size
            if size < 0 or total > _MAX_DISCARD:
                return False
            if size == 0:
                break
            if not self._discard(size + 2):  # the chunk and its CRLF
                return False
        while (line := self.rfile.readline(_MAX_LINE)) not in (b"\r\n", b"\n"):
            if not line:
                return False
        return True

    def _discard(self, count: int) -> bool:
        remaining = count
        while remaining:
            chunk = self.rfile.read(min(remaining, _CHUNK))
            if not chunk:
                return False
            remaining -= len(chunk)
        return True

    def _authorized(self) -> bool:
        config = self.server.config
        if not config.requires_auth:
            return True
        scheme, _, value = self.headers.get("Authorization", "").strip().partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "basic" and config.username is not None:
            return _basic_credentials(value) == (config.username, config.password)
        if scheme == "bearer" and config.token is not None:
            return value == config.token
        return False

    def _challenge(self) -> None:
        scheme = "Basic" if self.server.config.username is not None else "Bearer"
        challenge = ("WWW-Authenticate", f'{scheme} realm="{REALM}"')
        self._send_json(401, {"error": "unauthorized"}, [challenge])

    # -- files ------------------------------------------------------------------------------------
    def _find(self, url_path: str) -> _FileInfo | None:
        """The regular file ``url_path`` names, or None after answering 404."""
        path = resolve_under(self.server.config.root, url_path)
        info = None if path is None else _FileInfo.of(path)
        if info is None:
            self._not_found()
        return info

    def _serve_file(self, url_path: str, *, ranges: bool) -> None:
        info = self._find(url_path)
        if info is None:
            return
        byte_range = None
        if ranges and self.command == "GET":
            try:
                byte_range = parse_byte_range(self.headers.get("Range"), info.size)
            except RangeNotSatisfiableError:
                self._start(
                    416, [("Content-Range", f"bytes */{info.size}"), ("Content-Length", "0")]
                )
                return
        headers = info.headers(ranges=ranges)
        if byte_range is None:
            self._send_file(info, 200, 0, info.size, headers)
            return
        start, end = byte_range
        headers.append(("Content-Range", f"bytes {start}-{end}/{info.size}"))
        self._send_file(info, 206, start, end - start + 1, headers)

    def _send_file(
        self, info: _FileInfo, status: int, start: int, length: int, headers: list[tuple[str, str]]
    ) -> None:
        self._start(status, [*headers, ("Content-Length", str(length))])
        if self.command == "HEAD":
            return
        with info.path.open("rb") as source:
            source.seek(start)
            if not _copy(source, self.wfile, length):
                self.close_connection = True  # the promised length was not sent: cannot reuse

    def _serve_truncated(self, url_path: str) -> None:
        """Promise the whole file, send half, hang up: what a dropped connection looks like."""
        info = self._find(url_path)
        if info is None:
            return
        self._start(200, [*info.headers(ranges=True), ("Content-Length", str(info.size))])
        if self.command == "HEAD":
            return
        with info.path.open("rb") as source:
            _copy(source, self.wfile, info.size // 2)
        self.close_connection = True

    def _serve_no_head(self, url_path: str) -> None:
        if self.command == "HEAD":
            self._send_json(405, {"error": "HEAD not allowed here"}, [("Allow", "GET")])
        else:
            self._serve_file(url_path, ranges=True)

    # -- small responses --------------------------------------------------------------------------
    def _redirect(self, query: str) -> None:
        params = parse_qs(query, keep_blank_values=True)
        target = params.get("to", [""])[0]
        code = params.get("code", ["302"])[0]
        if not target or _CONTROL_CHARS.search(target) or not (code.isascii() and code.isdigit()):
            self._send_json(400, {"error": "need ?to=<url> and a numeric code"})
        elif int(code) not in _REDIRECT_CODES:
            self._send_json(400, {"error": f"not a redirect code: {code}"})
        else:
            self._send_json(int(code), {"location": target}, [("Location", target)])

    def _send_status(self, text: str) -> None:
        if not (text.isascii() and text.isdigit() and 200 <= int(text) <= 599):
            self._send_json(400, {"error": f"not a final status code: {text!r}"})
        elif int(text) in _BODYLESS_CODES:
            self._start(int(text), [])  # RFC 9110: no body, and 204 must not carry Content-Length
        else:
            self._send_json(int(text), {"status": int(text)})

    def _not_found(self) -> None:
        self._send_json(404, {"error": "not found", "path": self.path})

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own errors (bad request line, unsupported method) get our JSON shape."""
        self._must_close = True  # after a parse error the connection state is unknown
        self._send_json(code, {"error": message or self.responses.get(code, ("error",))[0]})

    def _send_json(
        self, status: int, payload: object, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        body = json.dumps(payload).encode("utf-8")
        length = ("Content-Length", str(len(body)))
        self._start(status, [("Content-Type", "application/json"), length, *headers])
        if self.command != "HEAD":
            self.wfile.write(body)

    def _start(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if self._must_close:
            self.send_header("Connection", "close")  # also sets close_connection
        self.end_headers()


# -- public API ---------------------------------------------------------------------------------
def _server_context(tls: tuple[Path, Path] | None) -> ssl.SSLContext | None:
    if tls is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certfile, keyfile = tls
    context.load_cert_chain(certfile=certfile, keyfile=keyfile)
    return context


class HttpFileServer(ManagedServer):
    """Serves files under `root` read-only over HTTP/1.1 (keep-alive) on 127.0.0.1, on a free port.

    Auth: Basic when username/password are given, Bearer when a token is given, either when
    both are; none otherwise. ``tls=(certfile, keyfile)`` serves https.
    """

    host = HOST

    def __init__(
        self,
        root: Path,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("username and password must be given together")
        self.root = Path(root).resolve(strict=True)
        self._recorder: RequestLog[RecordedRequest] = RequestLog()
        self._config = _Config(self.root, username, password, token, self._recorder)
        self._tls = tls
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the server is not started")
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request so far (kept after stop())."""
        return self._recorder.snapshot()

    def clear_requests(self) -> None:
        self._recorder.clear()

    def start(self) -> HttpFileServer:
        if self._server is not None:
            raise RuntimeError("the server is already started")
        server = _Server(self._config, _server_context(self._tls))
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"HttpFileServer-{self.port}",
            daemon=True,
        )
        self._server = server
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wake idle keep-alive connections, then join every thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close_connections()
        server.server_close()  # closes the listening socket and joins the handler threads
        thread.join()


def make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """Runs the `openssl` CLI to create a cert/key for 127.0.0.1 and localhost; returns (cert, key).

    The certificate is its own CA (basicConstraints, key identifiers), so a client context that
    loads it with ``cafile=`` verifies the server, also under Python 3.13's strict X.509 checks.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config, certfile, keyfile = (
        directory / "openssl.cnf",
        directory / "cert.pem",
        directory / "key.pem",
    )
    config.write_text(_OPENSSL_CONFIG)
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "7"]
    command += ["-config", str(config), "-keyout", str(keyfile), "-out", str(certfile)]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"openssl failed: {error.stderr.strip()}") from error
    return certfile, keyfile
