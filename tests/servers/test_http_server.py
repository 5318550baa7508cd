"""Self-tests of the HTTP test server, with stdlib clients only, so the store tests can trust it."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .http_server import HttpFileServer, RecordedHeaders, make_self_signed_cert

DATA = bytes(range(256)) * 40  # 10240 bytes, every offset distinguishable modulo 256
SIZE = len(DATA)
MTIME_NS = 1_700_000_000_123_456_789
LAST_MODIFIED = "Tue, 14 Nov 2023 22:13:20 GMT"
ETAG = f'"{SIZE:x}-{MTIME_NS:x}"'


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def _populate(root: Path) -> None:
    """A root with a binary file of known mtime, text, nested and oddly named files."""
    (root / "sub").mkdir(parents=True)
    (root / "data.bin").write_bytes(DATA)
    os.utime(root / "data.bin", ns=(MTIME_NS, MTIME_NS))
    (root / "hello.txt").write_bytes(b"hello world\n")
    (root / "sub" / "nested.json").write_bytes(b'{"a": 1}')
    (root / "with space+plus.txt").write_bytes(b"spaced")
    (root / "blob.unknownext").write_bytes(b"?")
    (root / "table.csv.gz").write_bytes(b"\x1f\x8b")
    (root / "empty.bin").write_bytes(b"")
    (root.parent / "secret.txt").write_bytes(b"outside the root")
    (root / "link-out.txt").symlink_to(root.parent / "secret.txt")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("http") / "root"
    _populate(root)
    return root


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[HttpFileServer]:
    with HttpFileServer(root) as running:
        yield running


def request(
    server: HttpFileServer,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Reply:
    """One request on a fresh connection, fully read and closed."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# -- plain files ----------------------------------------------------------------------------------
def test_get_serves_the_whole_file_with_metadata(server: HttpFileServer) -> None:
    reply = request(server, "GET", "/data.bin")
    assert reply.status == 200
    assert reply.body == DATA
    assert reply.headers["Content-Length"] == str(SIZE)
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert reply.headers["Last-Modified"] == LAST_MODIFIED
    assert reply.headers["ETag"] == ETAG
    assert reply.headers["Accept-Ranges"] == "bytes"


def test_head_sends_the_same_headers_and_no_body(server: HttpFileServer) -> None:
    get, head = request(server, "GET", "/data.bin"), request(server, "HEAD", "/data.bin")
    assert head.status == 200
    assert head.body == b""
    for name in ("Content-Length", "Content-Type", "Last-Modified", "ETag", "Accept-Ranges"):
        assert head.headers[name] == get.headers[name]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/hello.txt", "text/plain"),
        ("/sub/nested.json", "application/json"),
        ("/blob.unknownext", "application/octet-stream"),
        ("/table.csv.gz", "application/gzip"),
    ],
)
def test_content_type_is_guessed_from_the_name(
    server: HttpFileServer, path: str, content_type: str
) -> None:
    reply = request(server, "GET", path)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == content_type
    assert reply.headers.get("Content-Encoding") is None


def test_request_path_is_percent_decoded(server: HttpFileServer) -> None:
    reply = request(server, "GET", "/with%20space%2Bplus.txt?ignored=1")
    assert (reply.status, reply.body) == (200, b"spaced")


def test_dot_segments_inside_the_root_are_allowed(server: HttpFileServer) -> None:
    reply = request(server, "GET", "/sub/../hello.txt")
    assert (reply.status, reply.body) == (200, b"hello world\n")


def test_empty_file(server: HttpFileServer) -> None:
    reply = request(server, "GET", "/empty.bin")
    assert (reply.status, reply.body, reply.headers["Content-Length"]) == (200, b"", "0")


@pytest.mark.parametrize(
    "path",
    [
        "/missing.txt",
        "/sub",
        "/sub/",
        "/../secret.txt",
        "/../hello.txt",  # escapes first, even though a hello.txt is in the root
        "/sub/../../hello.txt",
        "/link-out.txt",  # a symlink leading out of the root
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/sub/..%2f..%2fsecret.txt",
        "/sub/%00",
    ],
)
def test_missing_directories_and_escapes_are_404_json(server: HttpFileServer, path: str) -> None:
    reply = request(server, "GET", path)
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["Content-Length"] == str(len(reply.body))
    assert json.loads(reply.body)["error"] == "not found"


def test_head_of_missing_file_is_404_without_body(server: HttpFileServer) -> None:
    reply = request(server, "HEAD", "/missing.txt")
    assert (reply.status, reply.body) == (404, b"")
    assert int(reply.headers["Content-Length"]) > 0  # the length the GET body would have


# -- ranges ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=300-300", 300, 300),
        (f"bytes=100-{SIZE - 1}", 100, SIZE - 1),
        ("bytes=10000-", 10000, SIZE - 1),
        ("bytes=-5", SIZE - 5, SIZE - 1),
        ("bytes=10000-99999999", 10000, SIZE - 1),  # end clamped
        ("bytes=-99999999", 0, SIZE - 1),  # suffix longer than the file: all of it
        ("BYTES=1-2", 1, 2),
    ],
)
def test_valid_range_is_206_with_exact_bytes(
    server: HttpFileServer, header: str, start: int, end: int
) -> None:
    reply = request(server, "GET", "/data.bin", {"Range": header})
    assert reply.status == 206
    assert reply.body == DATA[start : end + 1]
    assert reply.headers["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert reply.headers["Content-Length"] == str(end - start + 1)


@pytest.mark.parametrize(
    ("path", "header", "size"),
    [
        ("/data.bin", f"bytes={SIZE}-", SIZE),
        ("/data.bin", f"bytes={SIZE + 5}-{SIZE + 10}", SIZE),
        ("/data.bin", "bytes=-0", SIZE),
        ("/empty.bin", "bytes=0-0", 0),
        ("/empty.bin", "bytes=-1", 0),
    ],
)
def test_unsatisfiable_range_is_416(
    server: HttpFileServer, path: str, header: str, size: int
) -> None:
    reply = request(server, "GET", path, {"Range": header})
    assert reply.status == 416
    assert reply.headers["Content-Range"] == f"bytes */{size}"
    assert reply.headers["Content-Length"] == "0"
    assert reply.body == b""


@pytest.mark.parametrize(
    "header", ["bytes=0-1,4-5", "bytes=abc", "items=0-1", "bytes=5-2", "bytes=-", "bytes 0-1", ""]
)
def test_malformed_or_multi_range_is_ignored(server: HttpFileServer, header: str) -> None:
    reply = request(server, "GET", "/data.bin", {"Range": header})
    assert reply.status == 200
    assert reply.body == DATA
    assert "Content-Range" not in reply.headers


def test_head_ignores_range(server: HttpFileServer) -> None:
    reply = request(server, "HEAD", "/data.bin", {"Range": "bytes=0-9"})
    assert reply.status == 200
    assert reply.headers["Content-Length"] == str(SIZE)
    assert "Content-Range" not in reply.headers


# -- auth -----------------------------------------------------------------------------------------
@pytest.fixture
def basic_server(root: Path) -> Iterator[HttpFileServer]:
    with HttpFileServer(root, username="alice", password="s3cr:et") as running:
        yield running


@pytest.fixture
def bearer_server(root: Path) -> Iterator[HttpFileServer]:
    with HttpFileServer(root, token="tok-123") as running:
        yield running


def assert_challenge(reply: Reply, scheme: str) -> None:
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"] == f'{scheme} realm="orchestore-test"'
    assert reply.headers["Content-Length"] == str(len(reply.body))
    assert json.loads(reply.body) == {"error": "unauthorized"}


def test_basic_auth_accepts_the_right_credentials(basic_server: HttpFileServer) -> None:
    reply = request(basic_server, "GET", "/hello.txt", basic("alice", "s3cr:et"))
    assert (reply.status, reply.body) == (200, b"hello world\n")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("alice", "wrong"),
        basic("bob", "s3cr:et"),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Bearer s3cr:et"},
    ],
)
def test_basic_auth_rejects_wrong_or_missing(
    basic_server: HttpFileServer, headers: dict[str, str]
) -> None:
    assert_challenge(request(basic_server, "GET", "/hello.txt", headers), "Basic")


def test_bearer_auth(bearer_server: HttpFileServer) -> None:
    ok = request(bearer_server, "GET", "/hello.txt", {"Authorization": "Bearer tok-123"})
    assert (ok.status, ok.body) == (200, b"hello world\n")
    assert_challenge(
        request(bearer_server, "GET", "/hello.txt", {"Authorization": "Bearer tok-124"}), "Bearer"
    )
    assert_challenge(request(bearer_server, "GET", "/hello.txt"), "Bearer")


def test_basic_and_bearer_together_accept_either(root: Path) -> None:
    with HttpFileServer(root, username="u", password="p", token="t") as both:
        assert request(both, "GET", "/hello.txt", basic("u", "p")).status == 200
        assert request(both, "GET", "/hello.txt", {"Authorization": "Bearer t"}).status == 200
        assert_challenge(request(both, "GET", "/hello.txt", basic("u", "t")), "Basic")


def test_test_routes_need_auth_except_redirect(basic_server: HttpFileServer) -> None:
    assert_challenge(request(basic_server, "GET", "/_test/headers"), "Basic")
    assert_challenge(request(basic_server, "GET", "/_test/no-range/hello.txt"), "Basic")
    redirect = request(basic_server, "GET", "/_test/redirect?to=/hello.txt")
    assert (redirect.status, redirect.headers["Location"]) == (302, "/hello.txt")


def test_username_needs_a_password(root: Path) -> None:
    with pytest.raises(ValueError, match="together"):
        HttpFileServer(root, username="alice")


# -- test routes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_route(server: HttpFileServer, code: int) -> None:
    target = f"{server.base_url}/hello.txt"
    reply = request(server, "GET", f"/_test/redirect?to={target}&code={code}")
    assert reply.status == code
    assert reply.headers["Location"] == target
    assert reply.headers["Content-Length"] == str(len(reply.body))


def test_redirect_defaults_to_302_and_urllib_follows_it(server: HttpFileServer) -> None:
    url = f"{server.base_url}/_test/redirect?to=%2Fsub%2Fnested.json"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own http server
        assert response.status == 200
        assert response.url == f"{server.base_url}/sub/nested.json"
        assert response.read() == b'{"a": 1}'


@pytest.mark.parametrize(
    "query", ["", "to=/x&code=200", "to=/x&code=abc", "to=/x&code=%C2%B2", "code=302", "to=/a%0Db"]
)
def test_bad_redirect_is_400(server: HttpFileServer, query: str) -> None:
    assert request(server, "GET", f"/_test/redirect?{query}").status == 400


def test_truncate_route_sends_half_and_hangs_up(server: HttpFileServer) -> None:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request("GET", "/_test/truncate/data.bin")
        response = connection.getresponse()
        assert response.status == 200
        assert response.headers["Content-Length"] == str(SIZE)
        with pytest.raises(http.client.IncompleteRead) as caught:
            response.read()
        assert caught.value.partial == DATA[: SIZE // 2]
        assert caught.value.expected == SIZE - SIZE // 2
    finally:
        connection.close()


def test_truncate_route_head_is_a_normal_head(server: HttpFileServer) -> None:
    reply = request(server, "HEAD", "/_test/truncate/data.bin")
    assert (reply.status, reply.headers["Content-Length"], reply.body) == (200, str(SIZE), b"")


def test_no_range_route_always_serves_everything(server: HttpFileServer) -> None:
    reply = request(server, "GET", "/_test/no-range/data.bin", {"Range": "bytes=0-9"})
    assert (reply.status, reply.body) == (200, DATA)
    assert "Content-Range" not in reply.headers
    assert "Accept-Ranges" not in reply.headers
    head = request(server, "HEAD", "/_test/no-range/data.bin")
    assert (head.status, head.headers["Content-Length"], head.body) == (200, str(SIZE), b"")


def test_no_head_route(server: HttpFileServer) -> None:
    head = request(server, "HEAD", "/_test/no-head/data.bin")
    assert (head.status, head.headers["Allow"], head.body) == (405, "GET", b"")
    get = request(server, "GET", "/_test/no-head/data.bin", {"Range": "bytes=-3"})
    assert (get.status, get.body) == (206, DATA[-3:])
    assert request(server, "GET", "/_test/no-head/data.bin").body == DATA


def test_headers_route_echoes_request_headers(server: HttpFileServer) -> None:
    reply = request(server, "GET", "/_test/headers", {"X-Probe": "42", "Range": "bytes=0-1"})
    assert reply.status == 200
    echoed = json.loads(reply.body)
    assert echoed["X-Probe"] == "42"
    assert echoed["Range"] == "bytes=0-1"
    assert echoed["Host"] == f"{server.host}:{server.port}"


@pytest.mark.parametrize("code", [200, 400, 403, 404, 429, 500, 503])
def test_status_route(server: HttpFileServer, code: int) -> None:
    reply = request(server, "GET", f"/_test/status/{code}")
    assert (reply.status, json.loads(reply.body)) == (code, {"status": code})


@pytest.mark.parametrize("code", [204, 304])
def test_status_route_without_body(server: HttpFileServer, code: int) -> None:
    reply = request(server, "GET", f"/_test/status/{code}")
    assert (reply.status, reply.body) == (code, b"")
    assert "Content-Length" not in reply.headers


@pytest.mark.parametrize("path", ["/_test/status/abc", "/_test/status/100", "/_test/nope"])
def test_bad_test_routes(server: HttpFileServer, path: str) -> None:
    assert request(server, "GET", path).status in (400, 404)


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405(server: HttpFileServer, method: str) -> None:
    reply = request(server, method, "/hello.txt", body=b"payload")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, HEAD"
    assert reply.headers["Content-Length"] == str(len(reply.body))
    assert (server.root / "hello.txt").read_bytes() == b"hello world\n"


def test_a_chunked_body_is_read_away_and_the_connection_kept(server: HttpFileServer) -> None:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        body = iter([b"chunk one", b"chunk two" * 1000])
        connection.request("POST", "/hello.txt", body=body, encode_chunked=True)
        rejected = connection.getresponse()
        assert (rejected.status, rejected.headers.get("Connection")) == (405, None)
        rejected.read()
        first_socket = connection.sock
        connection.request("GET", "/hello.txt")
        assert connection.getresponse().read() == b"hello world\n"
        assert connection.sock is first_socket
    finally:
        connection.close()


@pytest.mark.parametrize("length", ["999999999999", "abc"])
def test_a_body_that_cannot_be_read_away_closes_the_connection(
    server: HttpFileServer, length: str
) -> None:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request("POST", "/hello.txt", headers={"Content-Length": length})
        response = connection.getresponse()
        assert (response.status, response.headers["Connection"]) == (405, "close")
        response.read()
        assert response.will_close
    finally:
        connection.close()


def test_unknown_method_gets_a_json_501(server: HttpFileServer) -> None:
    reply = request(server, "BREW", "/hello.txt")
    assert reply.status == 501
    assert reply.headers["Connection"] == "close"
    assert reply.headers["Content-Length"] == str(len(reply.body))
    assert "error" in json.loads(reply.body)


# -- connections and records ----------------------------------------------------------------------
def test_keep_alive_serves_many_requests_on_one_connection(server: HttpFileServer) -> None:
    server.clear_requests()
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        bodies: list[tuple[int, bytes]] = []
        sockets: list[socket.socket | None] = []
        for method, path, body in [
            ("GET", "/hello.txt", None),
            ("GET", "/missing.txt", None),  # an error response keeps the connection too
            ("PUT", "/hello.txt", b"x" * 1000),  # its body is read away, not parsed as a request
            ("HEAD", "/data.bin", None),
            ("GET", "/data.bin", None),
        ]:
            connection.request(method, path, body=body, headers={"X-N": str(len(bodies))})
            response = connection.getresponse()
            bodies.append((response.status, response.read()))
            sockets.append(connection.sock)
    finally:
        connection.close()
    assert [status for status, _ in bodies] == [200, 404, 405, 200, 200]
    assert bodies[0][1] == b"hello world\n"
    assert bodies[-1][1] == DATA
    assert all(sock is sockets[0] for sock in sockets)
    recorded = server.requests
    assert [r.headers["x-n"] for r in recorded] == ["0", "1", "2", "3", "4"]
    assert len({r.connection_id for r in recorded}) == 1


def test_requests_are_recorded_with_query_and_headers(server: HttpFileServer) -> None:
    server.clear_requests()
    request(server, "GET", "/hello.txt?a=1&b=%20", {"X-Trace": "t1"})
    request(server, "HEAD", "/data.bin")
    first, second = server.requests
    assert (first.method, first.path) == ("GET", "/hello.txt?a=1&b=%20")
    assert first.headers["x-trace"] == first.headers["X-TRACE"] == "t1"
    assert "X-Trace" in first.headers
    assert (second.method, second.path) == ("HEAD", "/data.bin")
    assert first.connection_id != second.connection_id
    server.clear_requests()
    assert server.requests == []


def test_recorded_headers_join_repeats_and_ignore_case() -> None:
    headers = RecordedHeaders([("Accept", "a"), ("X-One", "1"), ("accept", "b")])
    assert headers["ACCEPT"] == "a, b"
    assert dict(headers) == {"Accept": "a, b", "X-One": "1"}
    assert "x-one" in headers
    assert headers.get("missing") is None


def test_base_url_needs_a_started_server(root: Path) -> None:
    idle = HttpFileServer(root)
    with pytest.raises(RuntimeError, match="not started"):
        _ = idle.base_url
    idle.stop()  # stopping a server that never started is a no-op


def test_stop_wakes_idle_keep_alive_connections(root: Path) -> None:
    running = HttpFileServer(root).start()
    assert running.base_url == f"http://127.0.0.1:{running.port}"
    connection = http.client.HTTPConnection(running.host, running.port, timeout=10)
    try:
        connection.request("GET", "/hello.txt")
        assert connection.getresponse().read() == b"hello world\n"
        began = time.monotonic()
        running.stop()  # would wait for the idle connection's thread without close_connections
        assert time.monotonic() - began < 5
        with pytest.raises(ConnectionError):
            connection.request("GET", "/hello.txt")
            connection.getresponse()
    finally:
        connection.close()
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection((running.host, running.port), timeout=5),
    ):
        pass
    running.stop()  # idempotent


# -- TLS ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_server(root: Path, certificate: tuple[Path, Path]) -> Iterator[HttpFileServer]:
    with HttpFileServer(root, tls=certificate) as running:
        yield running


def test_tls_get_with_a_context_trusting_the_cert(
    tls_server: HttpFileServer, certificate: tuple[Path, Path]
) -> None:
    assert tls_server.base_url == f"https://127.0.0.1:{tls_server.port}"
    context = ssl.create_default_context(cafile=str(certificate[0]))
    url = f"{tls_server.base_url}/data.bin"
    with urllib.request.urlopen(url, context=context, timeout=10) as response:  # noqa: S310
        assert (response.status, response.read()) == (200, DATA)


def test_tls_cert_also_names_localhost(
    tls_server: HttpFileServer, certificate: tuple[Path, Path]
) -> None:
    context = ssl.create_default_context(cafile=str(certificate[0]))
    raw = socket.create_connection((tls_server.host, tls_server.port), timeout=10)
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := tls.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert reply.endswith(b"\r\n\r\nhello world\n")


def test_tls_is_refused_without_trusting_the_cert(tls_server: HttpFileServer) -> None:
    with pytest.raises(urllib.error.URLError) as caught:
        urllib.request.urlopen(f"{tls_server.base_url}/hello.txt", timeout=10)  # noqa: S310
    assert isinstance(caught.value.reason, ssl.SSLCertVerificationError)


def test_tls_keep_alive_and_truncation(
    tls_server: HttpFileServer, certificate: tuple[Path, Path]
) -> None:
    context = ssl.create_default_context(cafile=str(certificate[0]))
    connection = http.client.HTTPSConnection(
        tls_server.host, tls_server.port, context=context, timeout=10
    )
    try:
        connection.request("GET", "/hello.txt", headers={"Range": "bytes=6-"})
        ranged = connection.getresponse()
        assert (ranged.status, ranged.read()) == (206, b"world\n")
        first_socket = connection.sock
        connection.request("GET", "/_test/truncate/data.bin")
        truncated = connection.getresponse()
        assert connection.sock is first_socket
        with pytest.raises(http.client.IncompleteRead) as caught:
            truncated.read()
        assert caught.value.partial == DATA[: SIZE // 2]
    finally:
        connection.close()
