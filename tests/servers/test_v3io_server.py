"""The v3io test server, operation by operation, with the standard library's http.client.

Every operation of the reference page is checked on the wire, as are the choices the server's
docstring documents where the protocol is not pinned down (206 ranges, 204 deletes, 401, GET on
a directory, PUT under a file, offsets past the end, listing order). The stock clients' round
trip lives in test_v3io_stock_clients.py.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import ssl
import threading
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from tests.servers.v3io_server import (
    V3IO_ACCESS_KEY,
    V3IO_PASSWORD,
    V3IO_USER,
    V3ioServer,
    parse_v3io_range,
)

KEY_HEADER = {"X-v3io-session-key": V3IO_ACCESS_KEY}
_ISO_WITH_FRACTION = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z")


class Reply:
    """One response, read completely."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = response.headers
        self.body = response.read()

    def json(self) -> dict[str, object]:
        assert self.headers["Content-Type"] == "application/json"
        return json.loads(self.body)

    def xml(self) -> ET.Element:
        assert self.headers["Content-Type"] == "application/xml"
        return ET.fromstring(self.body)  # noqa: S314 - our own server's output


class Client:
    """A keep-alive http.client connection that sends the session key unless told otherwise."""

    def __init__(self, server: V3ioServer, *, context: ssl.SSLContext | None = None) -> None:
        if context is None:
            self.connection: http.client.HTTPConnection = http.client.HTTPConnection(
                server.host, server.port, timeout=10
            )
        else:
            self.connection = http.client.HTTPSConnection(
                server.host, server.port, timeout=10, context=context
            )

    def __call__(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        auth: bool = True,
    ) -> Reply:
        sent = {**(KEY_HEADER if auth else {}), **(headers or {})}
        self.connection.request(method, path, body, sent)
        return Reply(self.connection.getresponse())

    def listing(self, container: str, **query: object) -> ET.Element:
        reply = self("GET", f"/{container}?{urlencode(query)}")
        assert reply.status == 200, reply.body
        return reply.xml()

    def close(self) -> None:
        self.connection.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[V3ioServer]:
    with V3ioServer(
        ["bigdata", "users"],
        access_key=V3IO_ACCESS_KEY,
        username=V3IO_USER,
        password=V3IO_PASSWORD,
        root=tmp_path_factory.mktemp("v3io-server-tests"),
    ) as started:
        yield started


@pytest.fixture
def client(server: V3ioServer) -> Iterator[Client]:
    connection = Client(server)
    yield connection
    connection.close()


@pytest.fixture
def folder(request: pytest.FixtureRequest) -> str:
    """A fresh folder name per test, so tests in the shared container do not meet."""
    return re.sub(r"\W", "_", request.node.name)


def error_of(reply: Reply) -> tuple[int, str]:
    payload = reply.json()
    return payload["ErrorCode"], payload["ErrorMessage"]  # type: ignore[return-value]


def texts(root: ET.Element, path: str) -> list[str]:
    return [element.text or "" for element in root.findall(path)]


# -- containers and addressing ------------------------------------------------------------------
def test_list_containers(client: Client) -> None:
    reply = client("GET", "/")
    assert reply.status == 200
    root = reply.xml()
    assert root.tag == "ListAllMyBucketsResult"
    buckets = root.findall("Buckets/Bucket")
    assert [bucket.findtext("Name") for bucket in buckets] == ["bigdata", "users"]
    for bucket in buckets:
        created = datetime.fromisoformat(bucket.findtext("CreationDate") or "")
        assert created.tzinfo is not None
        assert int(bucket.findtext("Id") or "") > 0


def test_unknown_container_is_404_naming_it(client: Client) -> None:
    for method, path in [("GET", "/nosuch/x"), ("PUT", "/nosuch/x"), ("GET", "/nosuch?prefix=")]:
        reply = client(method, path, b"")
        assert reply.status == 404
        code, message = error_of(reply)
        assert code == -2
        assert "Container not found" in message
        assert "nosuch" in message


def test_percent_encoded_paths_round_trip(client: Client, server: V3ioServer, folder: str) -> None:
    name = f"{folder}/with space/ünï#?.txt"
    assert client("PUT", "/bigdata/" + quote(name), b"odd").status == 200
    assert (server.container_path("bigdata") / name).read_bytes() == b"odd"
    assert client("GET", "/bigdata/" + quote(name)).body == b"odd"


@pytest.mark.parametrize("segment", ["..", "%2e%2e", "."])
def test_dot_segments_are_rejected(client: Client, segment: str) -> None:
    reply = client("GET", f"/bigdata/a/{segment}/x")
    assert reply.status == 400
    assert error_of(reply)[0] == -22


# -- put and get --------------------------------------------------------------------------------
def test_put_creates_parents_and_replaces(client: Client, folder: str) -> None:
    path = f"/bigdata/{folder}/deep/er/object.bin"
    put = client("PUT", path, b"first")
    assert (put.status, put.body) == (200, b"")
    assert client("PUT", path, b"2nd").status == 200
    reply = client("GET", path)
    assert (reply.status, reply.body) == (200, b"2nd")
    assert reply.headers["Content-Length"] == "3"
    assert parsedate_to_datetime(reply.headers["Last-Modified"]).tzinfo is not None


def test_post_is_an_alias_of_put(client: Client, folder: str) -> None:
    path = f"/bigdata/{folder}/posted"
    assert client("POST", path, b"via post").status == 200
    assert client("GET", path).body == b"via post"
    assert client("POST", path, b"+more", {"Range": "-1"}).status == 200
    assert client("GET", path).body == b"via post+more"


def test_put_with_chunked_body(server: V3ioServer, folder: str) -> None:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        parts = iter([b"chunk-1;", b"chunk-2;", b"chunk-3"])
        connection.request(
            "PUT", f"/bigdata/{folder}/chunked", parts, KEY_HEADER, encode_chunked=True
        )
        assert Reply(connection.getresponse()).status == 200
        connection.request("GET", f"/bigdata/{folder}/chunked", headers=KEY_HEADER)
        assert Reply(connection.getresponse()).body == b"chunk-1;chunk-2;chunk-3"
    finally:
        connection.close()


def test_empty_object(client: Client, folder: str) -> None:
    path = f"/bigdata/{folder}/empty"
    assert client("PUT", path, b"").status == 200
    reply = client("GET", path)
    assert (reply.status, reply.body) == (200, b"")
    ranged = client("GET", path, headers={"Range": "bytes=0-9"})
    assert (ranged.status, ranged.body) == (200, b"")


# -- ranges -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "body", "content_range"),
    [
        ("bytes=2-4", b"345", "bytes 2-4/10"),  # inclusive end
        ("bytes=4", b"567890", "bytes 4-9/10"),  # v3io-py's offset alone: no dash
        ("bytes=4-", b"567890", "bytes 4-9/10"),
        ("bytes=0-0", b"1", "bytes 0-0/10"),
        ("bytes=7-100", b"890", "bytes 7-9/10"),  # an end past the end is clamped
    ],
)
def test_get_ranges(
    client: Client, folder: str, header: str, body: bytes, content_range: str
) -> None:
    path = f"/bigdata/{folder}/digits"
    client("PUT", path, b"1234567890")
    reply = client("GET", path, headers={"Range": header})
    assert (reply.status, reply.body) == (206, body)
    assert reply.headers["Content-Range"] == content_range
    assert reply.headers["Content-Length"] == str(len(body))


@pytest.mark.parametrize("header", ["bytes=10", "bytes=10-20", "bytes=99-"])
def test_range_at_or_past_the_end_is_empty(client: Client, folder: str, header: str) -> None:
    path = f"/bigdata/{folder}/digits"
    client("PUT", path, b"1234567890")
    reply = client("GET", path, headers={"Range": header})
    assert (reply.status, reply.body) == (200, b"")
    assert "Content-Range" not in reply.headers


@pytest.mark.parametrize("header", ["bytes=5-2", "items=0-1", "bytes=0-1,4-5", "bytes=-3", "x"])
def test_malformed_range_is_400(client: Client, folder: str, header: str) -> None:
    path = f"/bigdata/{folder}/digits"
    client("PUT", path, b"1234567890")
    reply = client("GET", path, headers={"Range": header})
    assert reply.status == 400
    assert error_of(reply)[0] == -22


def test_parse_v3io_range() -> None:
    assert parse_v3io_range("bytes=3", 10) == (3, 9)
    assert parse_v3io_range(" bytes=3-5 ", 10) == (3, 5)
    assert parse_v3io_range("bytes=10-", 10) is None
    assert parse_v3io_range("bytes=0", 0) is None


# -- append -------------------------------------------------------------------------------------
def test_append_extends_and_creates_a_missing_object(client: Client, folder: str) -> None:
    path = f"/bigdata/{folder}/new/log.txt"
    assert client("PUT", path, b"one,", {"Range": "-1"}).status == 200  # creates it and parents
    assert client("PUT", path, b"two,", {"Range": "-1"}).status == 200
    assert client("PUT", path, b"three", {"Range": "-1"}).status == 200
    assert client("GET", path).body == b"one,two,three"


def test_put_with_another_range_is_400(client: Client, folder: str) -> None:
    reply = client("PUT", f"/bigdata/{folder}/x", b"data", {"Range": "bytes=0-3"})
    assert reply.status == 400
    assert error_of(reply)[0] == -22


# -- mkdir --------------------------------------------------------------------------------------
def test_mkdir_with_a_trailing_slash(client: Client, server: V3ioServer, folder: str) -> None:
    assert client("PUT", f"/bigdata/{folder}/a/b/", b"").status == 200
    assert (server.container_path("bigdata") / folder / "a" / "b").is_dir()
    assert client("PUT", f"/bigdata/{folder}/a/b/", b"").status == 200  # idempotent
    head = client("HEAD", f"/bigdata/{folder}/a/b/")
    assert (head.status, head.headers["Content-Length"]) == (200, "0")


def test_mkdir_conflicts(client: Client, folder: str) -> None:
    client("PUT", f"/bigdata/{folder}/file", b"x")
    over_file = client("PUT", f"/bigdata/{folder}/file/", b"")
    assert over_file.status == 409
    assert error_of(over_file)[0] == -17
    under_file = client("PUT", f"/bigdata/{folder}/file/sub/", b"")
    assert under_file.status == 400
    assert error_of(under_file)[0] == -20
    with_body = client("PUT", f"/bigdata/{folder}/d/", b"data")
    assert with_body.status == 400


def test_put_onto_a_directory_or_under_a_file(client: Client, folder: str) -> None:
    client("PUT", f"/bigdata/{folder}/dir/", b"")
    onto_dir = client("PUT", f"/bigdata/{folder}/dir", b"x")
    assert onto_dir.status == 400
    assert error_of(onto_dir) == (-21, "Is a directory")
    client("PUT", f"/bigdata/{folder}/file", b"x")
    under_file = client("PUT", f"/bigdata/{folder}/file/child", b"x")
    assert under_file.status == 400
    assert error_of(under_file) == (-20, "Not a directory")
    append_under_file = client("PUT", f"/bigdata/{folder}/file/c", b"x", {"Range": "-1"})
    assert append_under_file.status == 400


def test_get_on_a_directory_is_400(client: Client, folder: str) -> None:
    client("PUT", f"/bigdata/{folder}/dir/", b"")
    reply = client("GET", f"/bigdata/{folder}/dir")
    assert reply.status == 400
    assert error_of(reply)[0] == -21


# -- head ---------------------------------------------------------------------------------------
def test_head_of_a_file_and_a_directory(client: Client, folder: str) -> None:
    client("PUT", f"/bigdata/{folder}/sub/obj", b"12345")
    reply = client("HEAD", f"/bigdata/{folder}/sub/obj")
    assert (reply.status, reply.body) == (200, b"")
    assert reply.headers["Content-Length"] == "5"
    modified = reply.headers["Last-Modified"]
    assert modified.endswith(" GMT")  # RFC 1123, e.g. "Wed, 25 Nov 2026 14:30:39 GMT"
    age = datetime.now(UTC) - parsedate_to_datetime(modified)
    assert abs(age.total_seconds()) < 60
    directory = client("HEAD", f"/bigdata/{folder}/sub")
    assert (directory.status, directory.headers["Content-Length"]) == (200, "0")
    assert client("HEAD", f"/bigdata/{folder}/missing").status == 404


# -- delete -------------------------------------------------------------------------------------
def test_delete_files_and_directories(client: Client, folder: str) -> None:
    client("PUT", f"/bigdata/{folder}/d/obj", b"x")
    assert client("DELETE", f"/bigdata/{folder}/d/obj/").status == 400  # a file, not a dir
    full = client("DELETE", f"/bigdata/{folder}/d/")
    assert full.status == 409
    assert error_of(full) == (-39, "Directory not empty")
    deleted = client("DELETE", f"/bigdata/{folder}/d/obj")
    assert (deleted.status, deleted.body) == (204, b"")
    assert client("GET", f"/bigdata/{folder}/d/obj").status == 404
    assert client("DELETE", f"/bigdata/{folder}/d/obj").status == 404
    assert client("DELETE", f"/bigdata/{folder}/d/").status == 204
    client("PUT", f"/bigdata/{folder}/e/", b"")
    assert client("DELETE", f"/bigdata/{folder}/e").status == 204  # no slash works too
    assert client("HEAD", f"/bigdata/{folder}/e").status == 404


# -- GetItem ------------------------------------------------------------------------------------
def test_get_item_attributes(client: Client, folder: str) -> None:
    path = f"/bigdata/{folder}/item.bin"
    client("PUT", path, b"abc")
    wanted = {"AttributesToGet": "__size,__mtime_secs,__mtime_nsecs,__mode,__nope"}
    reply = client("PUT", path, json.dumps(wanted).encode(), {"X-v3io-function": "GetItem"})
    assert reply.status == 200
    item = reply.json()["Item"]
    assert set(item) == {"__size", "__mtime_secs", "__mtime_nsecs", "__mode"}  # type: ignore[arg-type]
    assert item["__size"] == {"N": "3"}  # type: ignore[index]
    assert 0 <= int(item["__mtime_nsecs"]["N"]) < 10**9  # type: ignore[index]
    everything = client("POST", path, b'{"AttributesToGet": "*"}', {"X-v3io-function": "GetItem"})
    assert {"__name", "__size", "__uid", "__gid", "__atime_secs"} <= set(everything.json()["Item"])  # type: ignore[arg-type]


def test_get_item_on_a_directory_or_missing_path_is_404(client: Client, folder: str) -> None:
    client("PUT", f"/bigdata/{folder}/dir/", b"")
    for path in (f"/bigdata/{folder}/dir", f"/bigdata/{folder}/missing"):
        reply = client(
            "PUT", path, b'{"AttributesToGet": "__size"}', {"X-v3io-function": "GetItem"}
        )
        assert reply.status == 404
        assert error_of(reply)[0] == -2


def test_unsupported_function_is_400(client: Client, folder: str) -> None:
    reply = client("PUT", f"/bigdata/{folder}/t", b"{}", {"X-v3io-function": "PutItem"})
    assert reply.status == 400
    assert "PutItem" in error_of(reply)[1]


# -- listing ------------------------------------------------------------------------------------
@pytest.fixture
def tree(client: Client, folder: str) -> str:
    """``<folder>/`` holding files b, d, e and directories a/, c/ (c holds a file)."""
    for name in ("b", "d", "e"):
        client("PUT", f"/bigdata/{folder}/{name}", name.encode() * 3)
    client("PUT", f"/bigdata/{folder}/a/", b"")
    client("PUT", f"/bigdata/{folder}/c/inner", b"i")
    return folder


@pytest.mark.parametrize("form", ["{}", "/{}", "{}/", "/{}/"])
def test_listing_direct_children(client: Client, tree: str, form: str) -> None:
    root = client.listing("bigdata", prefix=form.format(tree))
    assert root.tag == "ListBucketResult"
    assert root.findtext("Name") == "bigdata"
    assert texts(root, "Contents/Key") == [f"{tree}/b", f"{tree}/d", f"{tree}/e"]
    assert texts(root, "Contents/Size") == ["3", "3", "3"]
    assert texts(root, "CommonPrefixes/Prefix") == [f"{tree}/a/", f"{tree}/c/"]
    assert root.findtext("NextMarker") == f"{tree}/e"  # present even when not truncated
    assert root.findtext("IsTruncated") == "false"
    assert root.findtext("MaxKeys") == "1000"
    for modified in texts(root, "Contents/LastModified"):
        assert _ISO_WITH_FRACTION.fullmatch(modified)


def test_listing_with_prefix_info(client: Client, tree: str) -> None:
    root = client.listing("bigdata", prefix=tree, **{"prefix-info": 1})
    file = root.findall("Contents")[0]
    assert re.fullmatch(r"0100[0-7]{3}", file.findtext("Mode") or "")
    for tag in ("AccessTime", "CreatingTime", "LastModified"):
        assert _ISO_WITH_FRACTION.fullmatch(file.findtext(tag) or "")
    for tag in ("GID", "UID"):
        assert re.fullmatch(r"[0-9a-f]+", file.findtext(tag) or "")
    assert int(file.findtext("InodeNumber") or "") > 0
    directory = root.findall("CommonPrefixes")[0]
    assert re.fullmatch(r"040[0-7]{3}", directory.findtext("Mode") or "")
    for tag in ("LastModified", "AccessTime", "CreatingTime", "GID", "UID", "InodeNumber"):
        assert directory.findtext(tag)
    plain = client.listing("bigdata", prefix=tree)
    assert plain.findall("Contents")[0].find("Mode") is None


def test_listing_prefix_only(client: Client, tree: str) -> None:
    root = client.listing("bigdata", prefix=tree, **{"prefix-only": 1})
    assert texts(root, "Contents/Key") == []
    assert texts(root, "CommonPrefixes/Prefix") == [f"{tree}/a/", f"{tree}/c/"]


def test_listing_pages_interleave_files_and_directories(client: Client, tree: str) -> None:
    """One order by name: a/ b c/ d e; pages of two; NextMarker is the last entry of each."""
    seen: list[list[str]] = []
    marker = ""
    for _ in range(10):  # bounded: a server that never advances the marker must fail, not hang
        query = {"prefix": tree, "max-keys": 2, **({"marker": marker} if marker else {})}
        root = client.listing("bigdata", **query)
        page = texts(root, "Contents/Key") + texts(root, "CommonPrefixes/Prefix")
        marker = root.findtext("NextMarker") or ""
        if not page:
            assert marker == ""  # empty on an empty page: v3iofs stops there
            assert root.findtext("IsTruncated") == "false"
            break
        seen.append(sorted(entry.rstrip("/").rsplit("/", 1)[1] for entry in page))
        assert marker == f"{tree}/{seen[-1][-1]}"  # a directory without its slash
        assert root.findtext("IsTruncated") == ("true" if seen[-1][-1] != "e" else "false")
    else:
        pytest.fail("the listing never ended")
    assert seen == [["a", "b"], ["c", "d"], ["e"]]


def test_listing_marker_may_be_a_bare_name(client: Client, tree: str) -> None:
    root = client.listing("bigdata", prefix=tree, marker="c")
    assert texts(root, "Contents/Key") == [f"{tree}/d", f"{tree}/e"]


def test_listing_max_keys_zero_and_empty_directory(client: Client, tree: str) -> None:
    root = client.listing("bigdata", prefix=tree, **{"max-keys": 0})
    assert root.findall("Contents") == []
    assert root.findtext("NextMarker") in (None, "")
    assert root.findtext("IsTruncated") == "true"
    empty = client.listing("bigdata", prefix=f"{tree}/a")
    assert (empty.findall("Contents"), empty.findall("CommonPrefixes")) == ([], [])
    assert empty.findtext("NextMarker") in (None, "")


def test_listing_container_root(client: Client, tree: str) -> None:
    root = client.listing("bigdata", prefix="")
    assert f"{tree}/" in texts(root, "CommonPrefixes/Prefix")
    assert all("/" not in key for key in texts(root, "Contents/Key"))


def test_listing_a_missing_directory_or_a_file_is_404(client: Client, tree: str) -> None:
    for prefix in (f"{tree}/missing", f"{tree}/b"):
        reply = client("GET", f"/bigdata?{urlencode({'prefix': prefix})}")
        assert reply.status == 404
        assert error_of(reply)[0] == -2


def test_unsupported_methods_get_json_errors(client: Client, server: V3ioServer) -> None:
    on_container = client("DELETE", "/bigdata")
    assert on_container.status == 405
    assert error_of(on_container)[0] == -22
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        raw.sendall(b"BREW /bigdata/pot HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = http.client.HTTPResponse(raw)
        reply.begin()
        assert reply.status == 501
        assert json.loads(reply.read())["ErrorCode"] == -22


def test_bad_max_keys_is_400(client: Client) -> None:
    assert client("GET", "/bigdata?prefix=&max-keys=many").status == 400


# -- auth ---------------------------------------------------------------------------------------
def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-v3io-session-key": "wrong-key"},
        basic(V3IO_USER, "wrong-password"),
        {"Authorization": "Bearer " + V3IO_ACCESS_KEY},
        {"Authorization": "Basic !!notbase64"},
    ],
    ids=["none", "wrong-key", "wrong-basic", "bearer", "garbled-basic"],
)
def test_bad_credentials_are_401_json(client: Client, headers: dict[str, str]) -> None:
    reply = client("PUT", "/bigdata/auth-test/x", b"never written", headers, auth=False)
    assert reply.status == 401
    code, message = error_of(reply)
    assert code == -1
    assert "Unauthorized" in message
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="v3io"'
    assert client("HEAD", "/bigdata/auth-test/x").status == 404  # nothing was written


@pytest.mark.parametrize(
    "headers",
    [KEY_HEADER, basic(V3IO_USER, V3IO_PASSWORD)],
    ids=["session-key", "basic"],
)
def test_either_credential_is_accepted(client: Client, headers: dict[str, str]) -> None:
    assert client("GET", "/", headers=headers, auth=False).status == 200


def test_server_without_auth_accepts_anonymous(tmp_path: Path) -> None:
    with V3ioServer(["open"], root=tmp_path) as open_server:
        anonymous = Client(open_server)
        try:
            assert anonymous("PUT", "/open/x", b"1", auth=False).status == 200
        finally:
            anonymous.close()


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="together"):
        V3ioServer(["c"], username="u")
    with pytest.raises(ValueError, match="container name"):
        V3ioServer(["a/b"])


# -- connections, atomicity, streaming ----------------------------------------------------------
def test_keep_alive_survives_error_replies(server: V3ioServer, folder: str) -> None:
    """Bodies of refused requests are read away, so the next request on the socket parses."""
    client = Client(server)
    try:
        assert client("PUT", f"/bigdata/{folder}/x", b"z" * 100_000, auth=False).status == 401
        sock = client.connection.sock
        assert client("PUT", f"/nosuch/{folder}", b"z" * 100_000).status == 404
        assert client("PUT", f"/bigdata/{folder}/x", b"ok").status == 200
        assert client("GET", f"/bigdata/{folder}/x").body == b"ok"
        assert client.connection.sock is sock  # http.client would have reconnected otherwise
    finally:
        client.close()


def _cut_short_put(server: V3ioServer, path: str, headers: str = "") -> None:
    """Announce 1000 bytes, send 10, hang up."""
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        raw.sendall(
            f"PUT {path} HTTP/1.1\r\nHost: x\r\nX-v3io-session-key: {V3IO_ACCESS_KEY}\r\n"
            f"{headers}Content-Length: 1000\r\n\r\n0123456789".encode()
        )
        raw.shutdown(socket.SHUT_WR)
        assert raw.recv(1024) == b""  # no response for a body that never completed


def test_a_cut_short_put_leaves_nothing(client: Client, server: V3ioServer, folder: str) -> None:
    _cut_short_put(server, f"/bigdata/{folder}/new")
    client("PUT", f"/bigdata/{folder}/old", b"previous")
    _cut_short_put(server, f"/bigdata/{folder}/old")
    _cut_short_put(server, f"/bigdata/{folder}/old", "Range: -1\r\n")
    assert client("HEAD", f"/bigdata/{folder}/new").status == 404
    assert client("GET", f"/bigdata/{folder}/old").body == b"previous"
    assert list((server.root / "tmp").iterdir()) == []


def test_concurrent_writers(server: V3ioServer, folder: str) -> None:
    statuses: list[int] = []

    def write(index: int) -> None:
        writer = Client(server)
        try:
            for _ in range(5):
                statuses.append(
                    writer("PUT", f"/bigdata/{folder}/{index}", b"x", {"Range": "-1"}).status
                )
        finally:
            writer.close()

    threads = [threading.Thread(target=write, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 40
    client = Client(server)
    try:
        root = client.listing("bigdata", prefix=folder)
        assert texts(root, "Contents/Size") == ["5"] * 8
    finally:
        client.close()


def test_large_bodies_stream_in_bounded_memory(server: V3ioServer, folder: str) -> None:
    """A 64 MiB PUT and GET: the server never holds more than a few 1 MiB pieces."""
    size, piece = 64 * 1024 * 1024, b"\x5a" * (1024 * 1024)
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    tracemalloc.start()
    try:
        headers = {**KEY_HEADER, "Content-Length": str(size)}
        connection.request("PUT", f"/bigdata/{folder}/big", (piece for _ in range(64)), headers)
        assert Reply(connection.getresponse()).status == 200
        connection.request("GET", f"/bigdata/{folder}/big", headers=KEY_HEADER)
        response = connection.getresponse()
        received = 0
        while chunk := response.read(1024 * 1024):
            received += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        connection.close()
    assert received == size
    assert peak < 12 * 1024 * 1024


# -- test hooks ---------------------------------------------------------------------------------
def test_fail_next_with_a_status(client: Client, server: V3ioServer, folder: str) -> None:
    server.fail_next("PUT", status=503, count=2)
    for _ in range(2):
        reply = client("PUT", f"/bigdata/{folder}/x", b"data")
        assert reply.status == 503
        assert "ErrorCode" in reply.json()
    assert client("GET", f"/bigdata/{folder}/x").status == 404  # other methods are unaffected
    assert client("PUT", f"/bigdata/{folder}/x", b"data").status == 200
    server.fail_next("GET", status=403)
    forbidden = client("GET", f"/bigdata/{folder}/x")
    assert (forbidden.status, error_of(forbidden)[0]) == (403, -13)


def test_fail_next_dropping_the_connection(client: Client, server: V3ioServer, folder: str) -> None:
    server.fail_next("PUT", drop_connection=True)
    with pytest.raises(http.client.RemoteDisconnected):
        client("PUT", f"/bigdata/{folder}/dropped", b"data")
    client.close()
    assert client("HEAD", f"/bigdata/{folder}/dropped").status == 404  # reconnects


def test_fail_next_validation(server: V3ioServer) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        server.fail_next("GET")
    with pytest.raises(ValueError, match="exactly one"):
        server.fail_next("GET", status=500, drop_connection=True)
    with pytest.raises(ValueError, match="error status"):
        server.fail_next("GET", status=200)


def test_requests_are_recorded(client: Client, server: V3ioServer, folder: str) -> None:
    server.clear_requests()
    client("GET", f"/bigdata?prefix={folder}&max-keys=5")
    (recorded,) = server.requests
    assert (recorded.method, recorded.path) == ("GET", f"/bigdata?prefix={folder}&max-keys=5")
    assert recorded.headers["x-v3io-session-key"] == V3IO_ACCESS_KEY
    server.clear_requests()
    assert server.requests == []


# -- https (v3ios) ------------------------------------------------------------------------------
def test_https(tmp_path: Path, tls_cert: tuple[Path, Path]) -> None:
    certfile, _ = tls_cert
    with V3ioServer(["bigdata"], access_key=V3IO_ACCESS_KEY, tls=tls_cert, root=tmp_path) as tls:
        assert tls.api_url.startswith("https://127.0.0.1:")
        secure = Client(tls, context=ssl.create_default_context(cafile=str(certfile)))
        try:
            assert secure("PUT", "/bigdata/secure", b"tls").status == 200
            assert secure("GET", "/bigdata/secure").body == b"tls"
        finally:
            secure.close()


def test_session_fixtures(
    v3io_server: V3ioServer, v3ios_server: V3ioServer, tls_cert: tuple[Path, Path]
) -> None:
    """The fixtures the store's tests use: http and https, both containers, either credential."""
    assert v3io_server.api_url.startswith("http://127.0.0.1:")
    assert v3ios_server.api_url.startswith("https://127.0.0.1:")
    context = ssl.create_default_context(cafile=str(tls_cert[0]))
    for started, tls in ((v3io_server, None), (v3ios_server, context)):
        fixture_client = Client(started, context=tls)
        try:
            for headers in (KEY_HEADER, basic(V3IO_USER, V3IO_PASSWORD)):
                reply = fixture_client("GET", "/", headers=headers, auth=False)
                names = texts(reply.xml(), "Buckets/Bucket/Name")
                assert names == ["bigdata", "users"]
        finally:
            fixture_client.close()
