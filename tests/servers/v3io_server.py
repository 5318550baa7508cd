"""A protocol-faithful v3io web-API server on 127.0.0.1, for testing the v3io store.

Standard library only. No public emulator of Iguazio's data fabric exists, so this server speaks
the subset of the web API that object clients use (see ``shared/reference/v3io-web-api.md``),
and the stock PyPI clients ``v3io`` (v3io-py) and ``v3iofs`` run unchanged against it
(``tests/servers/test_v3io_stock_clients.py``). Objects are plain files under a temp folder:
``<root>/containers/<container>/<path>``; directories are real directories.

Operations (``<c>`` a container configured at start, ``<p>`` a percent-encoded path)::

    GET /                         list containers (XML ListAllMyBucketsResult)
    GET /<c>[/]?prefix=...        list one directory (XML ListBucketResult), see "Listing"
    GET /<c>/<p>                  object bytes; Range ``bytes=S-E``, ``bytes=S``, ``bytes=S-``
    HEAD /<c>/<p>                 Content-Length (0 for a directory), RFC-1123 Last-Modified
    HEAD /<c>                     200, Content-Length 0 (the container exists)
    PUT|POST /<c>/<p>             create or replace; ``Range: -1`` appends (creating it)
    PUT|POST /<c>/<dir>/          mkdir -p (empty body)
    PUT|POST + X-v3io-function: GetItem   system attributes of an object as JSON
    DELETE /<c>/<p> or /<c>/<dir>/        delete an object or an empty directory

Choices where the protocol is not pinned down by any public source (each is tested):

- Ranged GET: 206 with ``Content-Range: bytes S-E/size``; a GET without Range: 200. The stock
  clients accept both (v3iofs treats 200/204/206 alike, v3io-py only raises on >= 300).
- A range whose start is at or past the end: 200 with an empty body, no Content-Range (pread
  semantics: reading at end of file is not an error). An end past the end is clamped.
  Any other Range (``bytes=5-2``, a suffix ``bytes=-3``, ``items=0-1``, several ranges): 400,
  ErrorCode -22. On PUT, only ``Range: -1`` is accepted; another value is 400.
- DELETE: 204 with no body. Deleting a directory works with or without the trailing slash.
- Auth failure (no credentials, or wrong ones): 401 with a JSON body (ErrorCode -1) and a
  ``WWW-Authenticate: Basic`` challenge when Basic auth is configured. 403 (ErrorCode -13) is
  reserved for permission errors, which this server only produces through ``fail_next``.
  A request passes with the right ``X-v3io-session-key`` OR the right Basic credentials.
- GET on a directory: 400, ErrorCode -21 "Is a directory" (HEAD on one is 200 with size 0).
- PUT of an object where a directory is: 400, ErrorCode -21. PUT or mkdir under a path one of
  whose parents is a file: 400, ErrorCode -20 "Not a directory". mkdir where a file is: 409,
  ErrorCode -17 "File exists"; mkdir of an existing directory: 200 (idempotent).
- Listing order: files and directories interleave in ONE order, sorted by name (a directory
  compares by its name without the trailing slash); a page holds the first ``max-keys`` entries
  after the marker, files under ``Contents`` and directories under ``CommonPrefixes``.
  ``NextMarker`` is the page's last entry as a container-relative key (a directory without its
  slash), present even when not truncated, empty on an empty page. ``marker`` is such a key;
  a bare name is taken relative to the prefix. ``max-keys`` defaults to 1000 and is capped at
  1000; ``max-keys=0`` returns an empty page (v3iofs uses it to test that a directory exists).
- Times in listings: ISO-8601 UTC with microseconds, e.g. ``2019-06-02T14:30:39.180000Z``
  (v3iofs requires a fractional part); container CreationDate as
  ``2020-03-26T09:42:57.504000+00:00`` (the form v3iofs's parser documents).
- GetItem returns only the system attributes an object has (``__name``, ``__size``,
  ``__mode``, ``__uid``, ``__gid``, ``__inode_number``, ``__{a,c,m}time_{secs,nsecs}``);
  unknown names are omitted; ``*`` or ``**`` asks for all. Other X-v3io-function values
  (KV and stream calls): 400, ErrorCode -22.
- Writes are atomic: a body is streamed to a temp file outside the containers and only then
  renamed into place (PUT) or appended to the target (``Range: -1``), so a connection dropped
  mid-body never leaves a partial object or a partial append.
- Paths: empty segments are ignored; ``.`` / ``..`` segments and NUL are 400, ErrorCode -22.
  An unknown container is 404 ``Container not found: <name>`` (ErrorCode -2), checked after
  auth. A method the kind of request does not support (e.g. DELETE /<c>) is 405; a method
  http.server does not know at all is 501; both with the same JSON error shape.

Test hooks: ``requests`` (every request as received, including refused and injected ones),
``container_path`` (a container's folder, for out-of-band seeding and checks), ``fail_next``
(fault injection, checked BEFORE auth: the next requests of a method get an error status with
a JSON body, ErrorCode -13 for 403 and -1 otherwise, or have their connection dropped after
the body is read and before any response).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import re
import shutil
import socket
import ssl
import stat
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.servers.http_server import (
    RecordedHeaders,
    RequestLog,
    TrackingHTTPServer,
    _basic_credentials,
)
from tests.servers.lifecycle import ManagedServer

__all__ = [
    "V3IO_ACCESS_KEY",
    "V3IO_PASSWORD",
    "V3IO_USER",
    "RecordedRequest",
    "V3ioServer",
    "parse_v3io_range",
]

V3IO_ACCESS_KEY = "s3cr3t-v3io-access-key-4471"
V3IO_USER = "v3io-admin"
V3IO_PASSWORD = "s3cr3t-v3io-password-9083"

HOST = "127.0.0.1"
_CHUNK = 1024 * 1024
_IO_TIMEOUT = 30.0  # seconds: a stuck client cannot hold a handler thread (and stop()) forever
_MAX_FUNCTION_BODY = 1024 * 1024  # JSON bodies of X-v3io-function calls
_MAX_LINE = 8192
_MAX_KEYS = 1000
_RANGE = re.compile(r"bytes=(\d+)(?:-(\d*))?")
_EPERM, _ENOENT, _EACCES, _EEXIST, _ENOTDIR, _EISDIR, _EINVAL, _ENOTEMPTY = (
    -1,
    -2,
    -13,
    -17,
    -20,
    -21,
    -22,
    -39,
)
_Address = tuple[str, int]


# -- records and faults -------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it (path includes the query string)."""

    method: str
    path: str
    headers: RecordedHeaders


@dataclass
class _Fault:
    method: str
    status: int | None
    drop_connection: bool
    remaining: int


class _Log(RequestLog["RecordedRequest"]):
    """The request log plus a fault queue; both outlive the server for later inspection."""

    def __init__(self) -> None:
        super().__init__()
        self._faults: list[_Fault] = []

    def add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, method: str) -> _Fault | None:
        """The first pending fault for ``method``, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.method == method:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


@dataclass(frozen=True)
class _Config:
    data: Path  # <root>/containers
    tmp: Path  # temp files of uploads in flight, outside every container
    containers: dict[str, datetime]
    access_key: str | None
    username: str | None
    password: str | None
    log: _Log
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def requires_auth(self) -> bool:
        return self.access_key is not None or self.username is not None


# -- errors and pure helpers --------------------------------------------------------------------
class V3ioError(Exception):
    """An error answer: HTTP status plus v3io's JSON body (negative errno, message)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, object]:
        return {"ErrorCode": self.code, "ErrorMessage": self.message}


def _not_found() -> V3ioError:
    return V3ioError(404, _ENOENT, "No such file or directory")


def _invalid(message: str) -> V3ioError:
    return V3ioError(400, _EINVAL, f"Invalid argument: {message}")


def parse_v3io_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) of a GET Range; None when the start is at or past the end.

    v3io-py sends ``bytes=S-E`` and ``bytes=S`` (no dash: from S to the end); ``bytes=S-`` is
    accepted too. An end past the object is clamped. Anything else raises a 400 V3ioError.
    """
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        raise _invalid("unsupported Range header")
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else None
    if end is not None and end < start:
        raise _invalid("Range end before its start")
    if start >= size:
        return None
    return start, size - 1 if end is None else min(end, size - 1)


def _split_path(raw: str) -> tuple[str, list[str], bool]:
    """(container, path segments, trailing slash) of a percent-encoded request path."""
    decoded = unquote(raw)
    parts = [part for part in decoded.split("/") if part]
    for part in parts:
        if part in (".", "..") or "\x00" in part or "\\" in part:
            raise _invalid("path segment")
    container = parts[0] if parts else ""
    return container, parts[1:], decoded.endswith("/") and len(parts) > 1


def _iso_time(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _mode(st_mode: int) -> str:
    """v3io's octal mode string with a leading 0: ``0100664`` for a file, ``040775`` a dir."""
    return "0" + format(st_mode, "o")


def _stat(path: Path) -> os.stat_result | None:
    """The entry's stat; None when missing, or when a parent is a file (ENOTDIR)."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _split_secs(ns: int) -> tuple[str, str]:
    return str(ns // 1_000_000_000), str(ns % 1_000_000_000)


def _system_attributes(path: Path, info: os.stat_result) -> dict[str, dict[str, str]]:
    """GetItem's typed system attributes of an object."""
    attributes = {
        "__name": {"S": path.name},
        "__size": {"N": str(info.st_size)},
        "__mode": {"N": str(info.st_mode)},
        "__uid": {"N": str(info.st_uid)},
        "__gid": {"N": str(info.st_gid)},
        "__inode_number": {"N": str(info.st_ino)},
    }
    for prefix, ns in (("a", info.st_atime_ns), ("c", info.st_ctime_ns), ("m", info.st_mtime_ns)):
        secs, nsecs = _split_secs(ns)
        attributes[f"__{prefix}time_secs"] = {"N": secs}
        attributes[f"__{prefix}time_nsecs"] = {"N": nsecs}
    return attributes


@dataclass(frozen=True)
class _Entry:
    key: str  # container-relative, no leading or trailing slash
    path: Path
    info: os.stat_result

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.info.st_mode)


def _directory_entries(directory: Path, prefix: str, *, dirs_only: bool) -> list[_Entry]:
    """Direct children of ``directory`` in listing order (by name, files and dirs interleaved)."""
    entries = []
    with os.scandir(directory) as scan:
        for item in scan:
            try:
                info = item.stat()
            except FileNotFoundError:  # deleted while listing
                continue
            entry = _Entry(f"{prefix}/{item.name}" if prefix else item.name, Path(item.path), info)
            if entry.is_dir or not dirs_only:
                entries.append(entry)
    return sorted(entries, key=lambda entry: entry.key)


def _sub(parent: ET.Element, tag: str, text: str | int | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def _entry_xml(parent: ET.Element, entry: _Entry, *, detailed: bool) -> None:
    """A ``Contents`` (file) or ``CommonPrefixes`` (directory) element."""
    info = entry.info
    if entry.is_dir:
        element = _sub(parent, "CommonPrefixes")
        _sub(element, "Prefix", entry.key + "/")
        if not detailed:
            return
        _sub(element, "LastModified", _iso_time(info.st_mtime))
    else:
        element = _sub(parent, "Contents")
        _sub(element, "Key", entry.key)
        _sub(element, "Size", info.st_size)
        _sub(element, "LastModified", _iso_time(info.st_mtime))
        if not detailed:
            return
    _sub(element, "AccessTime", _iso_time(info.st_atime))
    _sub(element, "CreatingTime", _iso_time(info.st_ctime))
    _sub(element, "Mode", _mode(info.st_mode))
    _sub(element, "GID", format(info.st_gid, "x"))
    _sub(element, "UID", format(info.st_uid, "x"))
    _sub(element, "InodeNumber", info.st_ino)


def _xml_bytes(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


# -- request bodies ------------------------------------------------------------------------------
class _BodyCutError(Exception):
    """The request body ended early or was malformed: the connection cannot continue."""


class _Body:
    """Reads one request body (Content-Length or chunked) in bounded pieces."""

    def __init__(self, rfile: BinaryIO, length: str | None, encoding: str | None) -> None:
        self._rfile = rfile
        self._chunked = encoding is not None and encoding.split(",")[-1].strip() == "chunked"
        self._chunk_left = 0
        self._done = False
        if self._chunked:
            self._left = 0
        elif length is None:
            self._left, self._done = 0, True
        elif length.isascii() and length.isdigit():
            self._left = int(length)
        else:
            raise _BodyCutError("bad Content-Length")

    def read(self, limit: int = _CHUNK) -> bytes:
        """Up to ``limit`` bytes; b"" at the end of the body."""
        if self._done:
            return b""
        if self._chunked:
            return self._read_chunked(limit)
        if self._left == 0:
            self._done = True
            return b""
        data = self._rfile.read(min(limit, self._left))
        if not data:
            raise _BodyCutError("body cut short")
        self._left -= len(data)
        return data

    def _read_chunked(self, limit: int) -> bytes:
        if self._chunk_left == 0:
            size = self._chunk_size()
            if size == 0:
                self._read_trailers()
                self._done = True
                return b""
            self._chunk_left = size
        data = self._rfile.read(min(limit, self._chunk_left))
        if not data:
            raise _BodyCutError("chunk cut short")
        self._chunk_left -= len(data)
        if self._chunk_left == 0 and self._rfile.read(2) not in (b"\r\n", b"\n"):
            raise _BodyCutError("chunk without CRLF")
        return data

    def _chunk_size(self) -> int:
        text = self._rfile.readline(_MAX_LINE).split(b";", 1)[0].strip()
        try:
            size = int(text, 16)
        except ValueError:
            raise _BodyCutError("bad chunk size") from None
        if size < 0:
            raise _BodyCutError("bad chunk size")
        return size

    def _read_trailers(self) -> None:
        while (line := self._rfile.readline(_MAX_LINE)) not in (b"\r\n", b"\n"):
            if not line:
                raise _BodyCutError("trailers cut short")

    def read_all(self, limit: int) -> bytes:
        """The whole (small) body; a 400 when it is larger than ``limit``."""
        parts, total = [], 0
        while piece := self.read():
            total += len(piece)
            if total > limit:
                raise _invalid("request body too large")
            parts.append(piece)
        return b"".join(parts)

    def drain(self) -> None:
        while self.read():
            pass


# -- server ---------------------------------------------------------------------------------------
class _Server(TrackingHTTPServer):
    """The v3io web API on the shared connection-tracking test server."""

    config: _Config

    def __init__(self, config: _Config, tls: ssl.SSLContext | None) -> None:
        super().__init__(config, tls, _Handler)


_Operation = Callable[["_Handler"], None]


class _Handler(BaseHTTPRequestHandler):
    """One method per operation; ``_ROUTES`` maps (HTTP method, kind of request) to it."""

    protocol_version = "HTTP/1.1"
    timeout = _IO_TIMEOUT
    disable_nagle_algorithm = True  # no 40 ms Nagle/delayed-ACK stall on small keep-alive replies
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: test output should not fill with access-log lines."""

    # -- dispatch ---------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        config = self.server.config
        config.log.append(
            RecordedRequest(self.command, self.path, RecordedHeaders(self.headers.items()))
        )
        try:
            self._body = _Body(
                self.rfile,
                self.headers.get("Content-Length"),
                self.headers.get("Transfer-Encoding"),
            )
            fault = config.log.take_fault(self.command)
            if fault is not None:
                self._inject(fault)
                return
            self._route()
            self._body.drain()
        except _BodyCutError:
            self.close_connection = True  # the body's end is unknown: this connection is done
        except V3ioError as error:
            self._fail(error)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _route(self) -> None:
        if not self._authorized():
            self._body.drain()
            raise self._unauthorized()
        url = urlsplit(self.path)
        self.container, self.parts, self.trailing_slash = _split_path(url.path)
        self.query = parse_qs(url.query, keep_blank_values=True)
        kind = self._kind()
        operation = _ROUTES.get((self.command, kind))
        if operation is None:
            raise V3ioError(405, _EINVAL, f"{self.command} is not supported on a {kind}")
        if kind != "service":
            self._container_root()  # 404 naming an unknown container
        operation(self)

    def _kind(self) -> str:
        if not self.container:
            return "service"
        if self.headers.get("X-v3io-function") is not None:
            return "function"
        return "object" if self.parts else "container"

    def _inject(self, fault: _Fault) -> None:
        self._body.drain()
        if fault.drop_connection:
            self.close_connection = True  # no response at all: the client sees a hang-up
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        status = fault.status or 503
        raise V3ioError(status, _EACCES if status == 403 else _EPERM, f"injected fault {status}")

    # -- auth -------------------------------------------------------------------------------------
    def _authorized(self) -> bool:
        config = self.server.config
        if not config.requires_auth:
            return True
        key = self.headers.get("X-v3io-session-key")
        if (
            config.access_key is not None
            and key is not None
            and hmac.compare_digest(key.encode(), config.access_key.encode())
        ):
            return True
        scheme, _, value = self.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "basic" and config.username is not None:
            return _basic_credentials(value.strip()) == (config.username, config.password)
        return False

    def _unauthorized(self) -> V3ioError:
        return V3ioError(401, _EPERM, "Unauthorized: missing or invalid credentials")

    # -- path resolution --------------------------------------------------------------------------
    def _container_root(self) -> Path:
        if self.container not in self.server.config.containers:
            raise V3ioError(404, _ENOENT, f"Container not found: {self.container}")
        return self.server.config.data / self.container

    def _target(self) -> Path:
        return self._container_root().joinpath(*self.parts)

    def _require_parents_are_dirs(self, target: Path) -> None:
        """400 ENOTDIR when some parent of ``target`` inside the container is a file."""
        root = self._container_root()
        for parent in target.parents:
            if parent == root:
                return
            info = _stat(parent)
            if info is not None and not stat.S_ISDIR(info.st_mode):
                raise V3ioError(400, _ENOTDIR, "Not a directory")

    # -- operations -------------------------------------------------------------------------------
    def list_containers(self) -> None:
        root = ET.Element("ListAllMyBucketsResult")
        owner = _sub(root, "Owner")
        _sub(owner, "ID", "000000000000")
        _sub(owner, "DisplayName", "iguazio")
        buckets = _sub(root, "Buckets")
        for index, (name, created) in enumerate(self.server.config.containers.items(), start=1):
            bucket = _sub(buckets, "Bucket")
            _sub(bucket, "Name", name)
            _sub(bucket, "CreationDate", created.isoformat(timespec="microseconds"))
            _sub(bucket, "Id", index)
        self._send_bytes(200, _xml_bytes(root), "application/xml")

    def list_directory(self) -> None:
        prefix = "/".join(part for part in self._first("prefix").split("/") if part)
        if any(part in (".", "..") for part in prefix.split("/")):
            raise _invalid("prefix")
        directory = self._container_root() / prefix
        info = _stat(directory)
        if info is None or not stat.S_ISDIR(info.st_mode):
            raise _not_found()
        max_keys = self._max_keys()
        marker = self._first("marker").strip("/")
        if marker and prefix and not marker.startswith(prefix + "/"):
            marker = f"{prefix}/{marker}"  # a bare name is relative to the prefix
        entries = _directory_entries(directory, prefix, dirs_only=self._flag("prefix-only"))
        remaining = [entry for entry in entries if entry.key > marker]
        page = remaining[:max_keys]
        self._send_listing(prefix, marker, page, truncated=len(remaining) > len(page))

    def _send_listing(
        self, prefix: str, marker: str, page: list[_Entry], *, truncated: bool
    ) -> None:
        root = ET.Element("ListBucketResult")
        _sub(root, "Name", self.container)
        _sub(root, "Prefix", prefix)
        _sub(root, "Marker", marker)
        _sub(root, "Delimiter", "/")
        _sub(root, "NextMarker", page[-1].key if page else None)
        _sub(root, "MaxKeys", self._max_keys())
        _sub(root, "IsTruncated", "true" if truncated else "false")
        detailed = self._flag("prefix-info")
        for entry in page:
            if not entry.is_dir:
                _entry_xml(root, entry, detailed=detailed)
        for entry in page:
            if entry.is_dir:
                _entry_xml(root, entry, detailed=detailed)
        self._send_bytes(200, _xml_bytes(root), "application/xml")

    def get_object(self) -> None:
        target = self._target()
        info = _stat(target)
        if info is None or (self.trailing_slash and not stat.S_ISDIR(info.st_mode)):
            raise _not_found()
        if stat.S_ISDIR(info.st_mode):
            raise V3ioError(400, _EISDIR, "Is a directory")
        header = self.headers.get("Range")
        span = (0, info.st_size - 1) if header is None else parse_v3io_range(header, info.st_size)
        headers = [("Last-Modified", formatdate(info.st_mtime, usegmt=True))]
        if span is None or span[1] < span[0]:  # empty object, or a start at/past the end
            self._start(200, [*headers, ("Content-Length", "0")])
            return
        start, end = span
        status = 200
        if header is not None:
            status = 206
            headers.append(("Content-Range", f"bytes {start}-{end}/{info.st_size}"))
        self._start(status, [*headers, ("Content-Length", str(end - start + 1))])
        with target.open("rb") as source:
            source.seek(start)
            self._copy_out(source, end - start + 1)

    def head_object(self) -> None:
        info = _stat(self._target())
        if info is None:
            raise _not_found()
        size = 0 if stat.S_ISDIR(info.st_mode) else info.st_size
        modified = formatdate(info.st_mtime, usegmt=True)
        self._start(200, [("Content-Length", str(size)), ("Last-Modified", modified)])

    def head_container(self) -> None:
        info = self._container_root().stat()
        modified = formatdate(info.st_mtime, usegmt=True)
        self._start(200, [("Content-Length", "0"), ("Last-Modified", modified)])

    def put_object(self) -> None:
        if self.trailing_slash:
            self._mkdir()
            return
        append = self._append_requested()
        target = self._target()
        self._check_writable(target)
        spool = self._receive_body()
        try:
            with self.server.config.write_lock:
                self._check_writable(target)
                target.parent.mkdir(parents=True, exist_ok=True)
                if append and target.exists():
                    with spool.open("rb") as source, target.open("ab") as sink:
                        shutil.copyfileobj(source, sink, _CHUNK)
                else:
                    os.replace(spool, target)
        finally:
            spool.unlink(missing_ok=True)
        self._send_bytes(200, b"", None)

    def _append_requested(self) -> bool:
        value = self.headers.get("Range")
        if value is None:
            return False
        if value.strip() != "-1":
            raise _invalid("PUT accepts only Range: -1 (append)")
        return True

    def _check_writable(self, target: Path) -> None:
        self._require_parents_are_dirs(target)
        info = _stat(target)
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise V3ioError(400, _EISDIR, "Is a directory")

    def _receive_body(self) -> Path:
        """Stream the body into a temp file outside the containers; removed if it is cut short."""
        handle, name = tempfile.mkstemp(dir=self.server.config.tmp, prefix="upload-")
        spool = Path(name)
        os.chmod(handle, 0o664)  # mkstemp's 0600 would show in listings' Mode; objects are 0664
        try:
            with os.fdopen(handle, "wb") as sink:
                while piece := self._body.read():
                    sink.write(piece)
        except BaseException:
            spool.unlink(missing_ok=True)
            raise
        return spool

    def _mkdir(self) -> None:
        if self._body.read(1):
            raise _invalid("a directory (trailing slash) takes no body")
        target = self._target()
        with self.server.config.write_lock:
            self._require_parents_are_dirs(target)
            info = _stat(target)
            if info is not None and not stat.S_ISDIR(info.st_mode):
                raise V3ioError(409, _EEXIST, "File exists")
            target.mkdir(parents=True, exist_ok=True)
        self._send_bytes(200, b"", None)

    def delete_object(self) -> None:
        target = self._target()
        with self.server.config.write_lock:
            info = _stat(target)
            if info is None:
                raise _not_found()
            if stat.S_ISDIR(info.st_mode):
                self._remove_directory(target)
            elif self.trailing_slash:
                raise V3ioError(400, _ENOTDIR, "Not a directory")
            else:
                target.unlink()
        self._start(204, [])

    def _remove_directory(self, target: Path) -> None:
        try:
            target.rmdir()
        except OSError as error:
            if any(target.iterdir()):
                raise V3ioError(409, _ENOTEMPTY, "Directory not empty") from error
            raise

    def call_function(self) -> None:
        name = self.headers.get("X-v3io-function", "")
        if name != "GetItem":
            raise _invalid(f"unsupported X-v3io-function {name}")
        requested = self._attributes_to_get(self._body.read_all(_MAX_FUNCTION_BODY))
        target = self._target() if self.parts else None
        info = _stat(target) if target is not None else None
        if target is None or info is None or not stat.S_ISREG(info.st_mode):
            raise _not_found()
        attributes = _system_attributes(target, info)
        if requested is not None:
            attributes = {key: value for key, value in attributes.items() if key in requested}
        self._send_bytes(200, json.dumps({"Item": attributes}).encode(), "application/json")

    def _attributes_to_get(self, raw: bytes) -> set[str] | None:
        """The requested names; None for all (``*``, ``**`` or no AttributesToGet)."""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise _invalid("GetItem body is not JSON") from None
        value = body.get("AttributesToGet", "*") if isinstance(body, dict) else None
        if not isinstance(value, str):
            raise _invalid("AttributesToGet must be a string")
        names = {name.strip() for name in value.split(",") if name.strip()}
        return None if not names or names & {"*", "**"} else names

    # -- query helpers ----------------------------------------------------------------------------
    def _first(self, name: str) -> str:
        values = self.query.get(name)
        return values[0] if values else ""

    def _flag(self, name: str) -> bool:
        return self._first(name).lower() in ("1", "true")

    def _max_keys(self) -> int:
        text = self._first("max-keys")
        if not text:
            return _MAX_KEYS
        if not (text.isascii() and text.isdigit()):
            raise _invalid("max-keys")
        return min(int(text), _MAX_KEYS)

    # -- responses --------------------------------------------------------------------------------
    def _fail(self, error: V3ioError) -> None:
        with contextlib.suppress(_BodyCutError):
            self._body.drain()
        headers = []
        if error.status == 401 and self.server.config.username is not None:
            headers.append(("WWW-Authenticate", 'Basic realm="v3io"'))
        self._send_bytes(
            error.status, json.dumps(error.body()).encode(), "application/json", headers
        )

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own errors (bad request line, unknown method) get v3io's JSON shape."""
        self.close_connection = True
        text = message or self.responses.get(code, ("error",))[0]
        self._send_bytes(
            code,
            json.dumps({"ErrorCode": _EINVAL, "ErrorMessage": text}).encode(),
            "application/json",
        )

    def _send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        all_headers = [*(headers or []), ("Content-Length", str(len(body)))]
        if content_type is not None:
            all_headers.append(("Content-Type", content_type))
        self._start(status, all_headers)
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _start(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _copy_out(self, source: BinaryIO, length: int) -> None:
        remaining = length
        while remaining:
            chunk = source.read(min(_CHUNK, remaining))
            if not chunk:  # the file shrank while being served: the client sees a short body
                self.close_connection = True
                return
            self.wfile.write(chunk)
            remaining -= len(chunk)


_ROUTES: dict[tuple[str, str], _Operation] = {
    ("GET", "service"): _Handler.list_containers,
    ("GET", "container"): _Handler.list_directory,
    ("HEAD", "container"): _Handler.head_container,
    ("GET", "object"): _Handler.get_object,
    ("HEAD", "object"): _Handler.head_object,
    ("PUT", "object"): _Handler.put_object,
    ("POST", "object"): _Handler.put_object,
    ("PUT", "function"): _Handler.call_function,
    ("POST", "function"): _Handler.call_function,
    ("DELETE", "object"): _Handler.delete_object,
}


# -- public API ---------------------------------------------------------------------------------
def _server_context(tls: tuple[Path, Path] | None) -> ssl.SSLContext | None:
    if tls is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certfile, keyfile = tls
    context.load_cert_chain(certfile=certfile, keyfile=keyfile)
    return context


class V3ioServer(ManagedServer):
    """A threaded HTTP/1.1 v3io web-API server on 127.0.0.1 (free port), data in a temp folder.

    Auth is required when ``access_key`` or ``username``/``password`` is given: either the
    ``X-v3io-session-key`` header or Basic credentials pass. ``tls=(certfile, keyfile)`` serves
    https (the v3ios scheme). ``root`` keeps the data in a given folder (left in place on
    stop); by default a temp folder is made and removed on stop.
    """

    host = HOST

    def __init__(
        self,
        containers: list[str],
        *,
        access_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        tls: tuple[Path, Path] | None = None,
        root: Path | None = None,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("username and password must be given together")
        for name in containers:
            if not name or "/" in name or name in (".", ".."):
                raise ValueError(f"not a container name: {name!r}")
        self._containers = list(containers)
        self._access_key, self._username, self._password = access_key, username, password
        self._tls = tls
        self._given_root = root
        self._root: Path | None = None
        self._log = _Log()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def api_url(self) -> str:
        if not self.port:
            raise RuntimeError("the server is not started")
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def root(self) -> Path:
        """The data folder: ``<root>/containers/<container>/...``."""
        if self._root is None:
            raise RuntimeError("the server is not started")
        return self._root

    def container_path(self, container: str) -> Path:
        """Where a container's objects live on disk (for out-of-band seeding and checks)."""
        return self.root / "containers" / container

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request so far (kept after stop())."""
        return self._log.snapshot()

    def clear_requests(self) -> None:
        self._log.clear()

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        drop_connection: bool = False,
        count: int = 1,
    ) -> None:
        """The next ``count`` requests with ``method`` get ``status`` (JSON error body) or are
        dropped: their body is read, then the connection closes before any response."""
        if (status is None) == (not drop_connection):
            raise ValueError("give exactly one of status and drop_connection=True")
        if status is not None and not 400 <= status <= 599:
            raise ValueError("status must be an error status (4xx or 5xx)")
        if count < 1:
            raise ValueError("count must be at least 1")
        self._log.add_fault(_Fault(method.upper(), status, drop_connection, count))

    def start(self) -> V3ioServer:
        if self._server is not None:
            raise RuntimeError("the server is already started")
        root = self._given_root or Path(tempfile.mkdtemp(prefix="v3io-server-"))
        root = root.resolve()
        now = datetime.now(UTC)
        for name in self._containers:
            (root / "containers" / name).mkdir(parents=True, exist_ok=True)
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        config = _Config(
            data=root / "containers",
            tmp=root / "tmp",
            containers=dict.fromkeys(self._containers, now),
            access_key=self._access_key,
            username=self._username,
            password=self._password,
            log=self._log,
        )
        server = _Server(config, _server_context(self._tls))
        self._root, self.port, self._server = root, server.server_address[1], server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"V3ioServer-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wake idle keep-alive connections, join; remove a temp data folder."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        if self._given_root is None and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)


# -- pytest fixtures ----------------------------------------------------------------------------
V3IO_CONTAINERS = ["bigdata", "users"]


@pytest.fixture(scope="session")
def v3io_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[V3ioServer]:
    """A v3io server (http) with the containers ``bigdata`` and ``users``; key or Basic auth."""
    server = V3ioServer(
        V3IO_CONTAINERS,
        access_key=V3IO_ACCESS_KEY,
        username=V3IO_USER,
        password=V3IO_PASSWORD,
        root=tmp_path_factory.mktemp("v3io"),
    )
    with server:
        yield server


@pytest.fixture(scope="session")
def v3ios_server(
    tmp_path_factory: pytest.TempPathFactory, tls_cert: tuple[Path, Path]
) -> Iterator[V3ioServer]:
    """The same over https, with the session's self-signed certificate for 127.0.0.1."""
    server = V3ioServer(
        V3IO_CONTAINERS,
        access_key=V3IO_ACCESS_KEY,
        username=V3IO_USER,
        password=V3IO_PASSWORD,
        tls=tls_cert,
        root=tmp_path_factory.mktemp("v3ios"),
    )
    with server:
        yield server
