"""Faithfulness of the v3io test server: the stock PyPI clients run unchanged against it.

``v3io`` (v3io-py, Iguazio's dataplane client, both of its transports) and ``v3iofs`` (the
fsspec filesystem MLRun used) are test dependencies only. Each runs a round trip — put, get
with offsets, append, listing with paging across 2,500 entries, stat, delete — against our
server. Were the server's wire format off (a missing ``NextMarker``, a wrong time format, a
non-JSON error body, a range form it cannot parse), these clients would fail here.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import v3io.dataplane
from v3io.dataplane.response import HttpResponseError
from v3iofs import V3ioFS

from tests.servers.v3io_server import V3IO_ACCESS_KEY, V3IO_PASSWORD, V3IO_USER, V3ioServer

MANY = 2500
NEVER = v3io.dataplane.RaiseForStatus.never


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[V3ioServer]:
    with V3ioServer(
        ["bigdata", "users"],
        access_key=V3IO_ACCESS_KEY,
        username=V3IO_USER,
        password=V3IO_PASSWORD,
        root=tmp_path_factory.mktemp("v3io-stock"),
    ) as started:
        yield started


@pytest.fixture(scope="module")
def client(server: V3ioServer) -> Iterator[v3io.dataplane.Client]:
    """v3io-py with its default transport (http.client, a pool of keep-alive connections)."""
    stock = v3io.dataplane.Client(endpoint=server.api_url, access_key=V3IO_ACCESS_KEY)
    yield stock
    stock.close()


@pytest.fixture(scope="module")
def fs(server: V3ioServer) -> Iterator[V3ioFS]:
    filesystem = V3ioFS(
        v3io_api=server.api_url, v3io_access_key=V3IO_ACCESS_KEY, skip_instance_cache=True
    )
    yield filesystem
    filesystem._client.close()


@pytest.fixture(scope="module")
def many(client: v3io.dataplane.Client) -> list[str]:
    """``many/`` holding 2,500 objects and 3 directories, written with v3io-py's puts."""
    names = [f"obj-{index:05d}" for index in range(MANY)]
    for name in names:
        client.object.put("bigdata", f"many/{name}", body=name.encode())
    for name in ("dir-a", "obj-01000x", "zz-dir"):  # directories sorted among the files
        client.object.put("bigdata", f"many/{name}/", body=None)
    return names


# -- v3io-py ------------------------------------------------------------------------------------
def test_v3io_py_object_round_trip(client: v3io.dataplane.Client, server: V3ioServer) -> None:
    containers = client.get_containers().output.containers
    assert [container.name for container in containers] == ["bigdata", "users"]

    client.object.put("bigdata", "py/round/trip.txt", body=b"1234567890")
    assert client.object.get("bigdata", "py/round/trip.txt").body == b"1234567890"
    assert client.object.get("bigdata", "py/round/trip.txt", offset=4).body == b"567890"
    ranged = client.object.get("bigdata", "py/round/trip.txt", offset=2, num_bytes=3)
    assert ranged.body == b"345"
    assert client.object.get("bigdata", "py/round/trip.txt", num_bytes=2).body == b"12"

    client.object.put("bigdata", "py/round/trip.txt", body="abc", append=True)
    assert client.object.get("bigdata", "py/round/trip.txt").body == b"1234567890abc"
    client.object.put("bigdata", "py/round/new.log", body=b"first", append=True)  # creates it
    assert client.object.get("bigdata", "py/round/new.log").body == b"first"

    head = client.object.head("bigdata", "py/round/trip.txt")
    assert head.headers["Content-Length"] == "13"
    assert parsedate_to_datetime(head.headers["Last-Modified"]).tzinfo is not None

    attributes = ["__size", "__mtime_secs", "__mtime_nsecs", "__mode"]
    item = client.kv.get("bigdata", "py/round", "trip.txt", attribute_names=attributes).output.item
    assert item["__size"] == 13
    assert item["__mtime_secs"] > 1_600_000_000

    client.object.delete("bigdata", "py/round/trip.txt")
    with pytest.raises(HttpResponseError) as missing:
        client.object.get("bigdata", "py/round/trip.txt")
    assert missing.value.status_code == 404
    assert not (server.container_path("bigdata") / "py/round/trip.txt").exists()


def test_v3io_py_directories(client: v3io.dataplane.Client) -> None:
    client.object.put("bigdata", "py/dirs/a/", body=None)  # mkdir: trailing slash, no body
    client.object.put("bigdata", "py/dirs/b/file", body=b"x")
    listed = client.container.list("bigdata", "py/dirs", directories_only=True).output
    assert [entry.prefix for entry in listed.common_prefixes] == ["py/dirs/a/", "py/dirs/b/"]
    assert listed.contents == []
    full = client.object.delete("bigdata", "py/dirs/b/", raise_for_status=NEVER)
    assert full.status_code == 409
    assert full.output is None  # no output model for deletes; the JSON body is there
    assert b'"ErrorCode": -39' in full.body
    client.object.delete("bigdata", "py/dirs/a/")
    after = client.container.list("bigdata", "py/dirs").output
    assert [entry.prefix for entry in after.common_prefixes] == ["py/dirs/b/"]


def test_v3io_py_lists_2500_entries_in_pages(
    client: v3io.dataplane.Client, many: list[str]
) -> None:
    keys: list[str] = []
    prefixes: list[str] = []
    markers: list[str] = []
    marker = None
    for _ in range(10):  # bounded: a server that never advances the marker must fail, not hang
        output = client.container.list(
            "bigdata", "many", get_all_attributes=True, limit=1000, marker=marker
        ).output
        keys += [entry.key for entry in output.contents]
        prefixes += [entry.prefix for entry in output.common_prefixes]
        if output.is_truncated != "true":
            break
        marker = output.next_marker
        markers.append(marker)
    else:
        pytest.fail("the listing never ended")
    assert keys == [f"many/{name}" for name in many]
    assert prefixes == ["many/dir-a/", "many/obj-01000x/", "many/zz-dir/"]
    assert len(markers) == 2  # 2,503 entries: pages of 1000, 1000 and 503
    assert markers[0] == "many/obj-00998"  # dir-a sorts first, then obj-00000 ...
    assert markers[1] == "many/obj-01997"  # obj-01000x (a directory) sorts after obj-01000


def test_v3io_py_errors(client: v3io.dataplane.Client, server: V3ioServer) -> None:
    unknown = client.object.get("nosuch", "x", raise_for_status=NEVER)
    assert unknown.status_code == 404
    assert b"nosuch" in unknown.body
    wrong = v3io.dataplane.Client(endpoint=server.api_url, access_key="not-the-key")
    try:
        with pytest.raises(HttpResponseError) as denied:
            wrong.object.get("bigdata", "x")
        assert denied.value.status_code == 401
        listing = wrong.container.list("bigdata", "", raise_for_status=NEVER)
        assert listing.status_code == 401
        assert listing.output.error["ErrorCode"] == -1  # a JSON body, parsed by the client
    finally:
        wrong.close()


def test_v3io_py_requests_transport(server: V3ioServer) -> None:
    """v3io-py's other transport (requests.Session) against the same server."""
    stock = v3io.dataplane.Client(
        endpoint=server.api_url, access_key=V3IO_ACCESS_KEY, transport_kind="requests"
    )
    try:
        stock.object.put("users", "req/one", body=b"hello")
        stock.object.put("users", "req/one", body=b" world", append=True)
        assert stock.object.get("users", "req/one", offset=6).body == b"world"
        names = [e.key for e in stock.container.list("users", "req").output.contents]
        assert names == ["req/one"]
        stock.object.delete("users", "req/one")
        assert stock.object.get("users", "req/one", raise_for_status=NEVER).status_code == 404
    finally:
        stock.close()


def test_v3io_py_over_https(tmp_path: Path, tls_cert: tuple[Path, Path]) -> None:
    """v3ios: the https endpoint (v3io-py does not verify certificates; it is self-signed)."""
    with V3ioServer(["bigdata"], access_key=V3IO_ACCESS_KEY, tls=tls_cert, root=tmp_path) as tls:
        stock = v3io.dataplane.Client(endpoint=tls.api_url, access_key=V3IO_ACCESS_KEY)
        try:
            stock.object.put("bigdata", "secure/x", body=b"0123456789")
            stock.object.put("bigdata", "secure/x", body=b"!", append=True)
            assert stock.object.get("bigdata", "secure/x", offset=8).body == b"89!"
            assert stock.object.head("bigdata", "secure/x").headers["Content-Length"] == "11"
        finally:
            stock.close()


# -- v3iofs -------------------------------------------------------------------------------------
def test_v3iofs_round_trip(fs: V3ioFS, server: V3ioServer) -> None:
    url = "v3io:///bigdata/fs/round/data.bin"  # v3iofs drops the container in v3io://bigdata/x
    payload = bytes(range(256)) * 40
    with fs.open(url, "wb") as sink:  # v3iofs: delete, then one append per buffered block
        sink.write(payload)
    assert fs.cat(url) == payload
    assert fs.cat_file(url, start=100, end=110) == payload[100:110]
    with fs.open(url, "rb") as source:
        source.seek(5000)
        assert source.read(16) == payload[5000:5016]

    with fs.open(url, "ab") as sink:
        sink.write(b"tail")
    assert fs.cat(url)[-4:] == b"tail"

    info = fs.info("/bigdata/fs/round/data.bin")
    assert (info["type"], info["size"]) == ("file", len(payload) + 4)
    assert oct(info["mode"]).startswith("0o100")
    assert fs.info("/bigdata/fs/round")["type"] == "directory"
    assert fs.isfile(url)
    assert fs.isdir("/bigdata/fs")

    listed = fs.ls("/bigdata/fs/round", detail=True)
    assert [(entry["name"], entry["type"]) for entry in listed] == [
        ("/bigdata/fs/round/data.bin", "file")
    ]
    assert listed[0]["size"] == len(payload) + 4
    assert listed[0]["mtime"] > 1_600_000_000
    (alone,) = fs.ls("/bigdata/fs/round/data.bin", detail=True)  # a 404 listing, then the parent
    assert (alone["name"], alone["size"]) == ("/bigdata/fs/round/data.bin", len(payload) + 4)

    fs.rm(url)
    assert not fs.exists(url)
    assert not (server.container_path("bigdata") / "fs/round/data.bin").exists()
    with pytest.raises(FileNotFoundError):
        fs.ls("/bigdata/fs/nothing-here")


def test_v3iofs_writes_many_blocks(fs: V3ioFS) -> None:
    """12 MiB through a 5 MiB-block writer: three appends, the first creating the object."""
    payload = b"0123456789abcdef" * (768 * 1024)
    with fs.open("/bigdata/fs/big.bin", "wb", block_size=5 * 1024 * 1024) as sink:
        sink.write(payload)
    assert fs.size("/bigdata/fs/big.bin") == len(payload)
    assert fs.cat_file("/bigdata/fs/big.bin", start=len(payload) - 7) == payload[-7:]
    fs.rm("/bigdata/fs/big.bin")


def test_v3iofs_lists_2500_entries(fs: V3ioFS, many: list[str]) -> None:
    names = fs.ls("v3io:///bigdata/many", detail=False)
    expected_dirs = ["dir-a", "obj-01000x", "zz-dir"]
    assert sorted(names) == sorted(f"/bigdata/many/{name}" for name in [*many, *expected_dirs])
    detailed = fs.ls("/bigdata/many", detail=True)
    kinds = {entry["name"].rsplit("/", 1)[1]: entry["type"] for entry in detailed}
    assert [name for name, kind in kinds.items() if kind == "directory"] == expected_dirs
    assert len(detailed) == MANY + 3


def test_v3iofs_containers_and_directories(fs: V3ioFS) -> None:
    assert [entry["name"] for entry in fs.ls("/", detail=True)] == ["bigdata", "users"]
    fs.pipe("/users/fs/tree/a/1", b"1")
    fs.pipe("/users/fs/tree/b", b"22")
    assert fs.find("/users/fs/tree") == ["/users/fs/tree/a/1", "/users/fs/tree/b"]
    fs.rmdir("/users/fs/tree/a")  # not empty: v3iofs ignores the 409
    assert fs.exists("/users/fs/tree/a/1")
    fs.rm("/users/fs/tree/a/1")
    fs.rmdir("/users/fs/tree/a")
    assert not fs.exists("/users/fs/tree/a")
