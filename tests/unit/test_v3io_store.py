"""The v3io store and filesystem against the project's v3io web-API server (tests/servers).

What the contract suite does not cover: appends and the no-double-append rule, whole-upload
retries, paging, the URL forms, both auth methods, fail-closed credentials, error mapping, a
64 MiB streamed round trip, and fsspec/pandas finding the filesystem without orchestore.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import textwrap
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

import orchestore
from orchestore import (
    CredentialsError,
    InvalidURLError,
    NotFoundError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from orchestore.credentials import V3ioCredentials
from orchestore.stores.v3io import V3ioStore
from orchestore.stores.v3io_fs import V3ioClient, V3ioFileSystem
from orchestore.urls import parse_url
from tests.servers.v3io_server import V3IO_ACCESS_KEY, V3IO_PASSWORD, V3IO_USER, V3ioServer

MiB = 1024 * 1024
DECOY_KEY = "decoy-v3io-key-from-the-environment-0000"


@pytest.fixture
def folder() -> str:
    """A fresh folder name in the ``bigdata`` container."""
    return f"unit-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def creds(v3io_server: V3ioServer) -> V3ioCredentials:
    return V3ioCredentials(api_url=v3io_server.api_url, access_key=V3IO_ACCESS_KEY)


@pytest.fixture
def store(creds: V3ioCredentials) -> Iterator[V3ioStore]:
    """A store of its own (not the shared manager's), so tests may tune its client."""
    instance = V3ioStore(parse_url("v3io:///bigdata/"), creds)
    yield instance
    instance.close()


def _url(folder: str, name: str) -> str:
    return f"v3io:///bigdata/{folder}/{name}"


def _puts(server: V3ioServer, folder: str) -> list[tuple[str, str | None, int]]:
    """(method, Range header, Content-Length) of each write request under ``folder``."""
    return [
        (r.method, r.headers.get("Range"), int(r.headers.get("Content-Length") or 0))
        for r in server.requests
        if r.method in ("PUT", "DELETE") and f"/bigdata/{folder}/" in r.path
    ]


def _seed(server: V3ioServer, folder: str, name: str, data: bytes) -> None:
    """Out of band: write the server's data folder directly."""
    path = server.container_path("bigdata") / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# -- credentials ------------------------------------------------------------------------------
def test_credentials_accept_mlrun_names_and_hide_secrets() -> None:
    model = V3ioCredentials.from_mapping(
        {"V3IO_API": "https://webapi.example.com:8443/", "V3IO_ACCESS_KEY": "key-value-1234"}
    )
    assert model.api_url == "https://webapi.example.com:8443"
    assert "key-value-1234" not in repr(model) and "key-value-1234" not in str(model)
    basic = V3ioCredentials.from_mapping(
        {"V3IO_USERNAME": "admin", "V3IO_PASSWORD": "password-value-5678"}
    )
    assert basic.basic_auth and "password-value-5678" not in repr(basic)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"access_key": "secret-aaaa", "username": "u", "password": "secret-bbbb"}, "not both"),
        ({"username": "u"}, "password"),
        ({"password": "secret-bbbb"}, "username"),
        ({"api_url": "ftp://host", "access_key": "secret-aaaa"}, "api_url"),
        ({"api_url": "https://host/path", "access_key": "secret-aaaa"}, "no path"),
        ({"V3IO_ACCESS_KEY": "secret-aaaa", "access_key": "secret-cccc"}, "both set"),
        ({"V3IO_SESSION": "secret-aaaa"}, "V3IO_SESSION"),
    ],
)
def test_bad_credentials_name_the_field_never_the_value(fields: dict, named: str) -> None:
    with pytest.raises(CredentialsError, match=named) as raised:
        V3ioCredentials.from_mapping(fields)
    assert "secret-" not in str(raised.value)


def test_no_credentials_fail_closed_despite_decoy_env(
    v3io_server: V3ioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("V3IO_ACCESS_KEY", DECOY_KEY)
    monkeypatch.setenv("V3IO_API", v3io_server.api_url)
    monkeypatch.setenv("V3IO_USERNAME", V3IO_USER)
    monkeypatch.setenv("V3IO_PASSWORD", V3IO_PASSWORD)
    v3io_server.clear_requests()
    for build in (
        lambda: orchestore.get_dataitem("v3io:///bigdata/x.bin").get(),
        lambda: V3ioFileSystem(),
        # "v3ios": importing v3iofs (the stock-client tests do) re-registers "v3io" in-process;
        # the subprocess test below checks "v3io" in a clean interpreter.
        lambda: fsspec.filesystem("v3ios"),
    ):
        with pytest.raises(CredentialsError, match="access_key") as raised:
            build()
        assert "V3IO_ACCESS_KEY" in str(raised.value) and DECOY_KEY not in str(raised.value)
    assert v3io_server.requests == []


def test_explicit_credentials_ignore_decoy_env(
    v3io_server: V3ioServer, creds: V3ioCredentials, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("V3IO_ACCESS_KEY", DECOY_KEY)
    monkeypatch.setenv("V3IO_API", "http://127.0.0.1:9")  # nothing listens there
    v3io_server.clear_requests()
    item = orchestore.get_dataitem(_url(folder, "env.txt"), creds)
    item.put(b"x")
    assert item.get() == b"x"
    keys = {r.headers.get("X-v3io-session-key") for r in v3io_server.requests}
    assert keys == {V3IO_ACCESS_KEY}


def test_v3io_url_without_host_needs_api_url(folder: str) -> None:
    with pytest.raises(CredentialsError, match=r"api_url \(V3IO_API\)"):
        orchestore.get_dataitem(_url(folder, "a"), V3ioCredentials(access_key="k-123")).get()


# -- auth -------------------------------------------------------------------------------------
def test_session_key_and_basic_auth_on_the_wire(v3io_server: V3ioServer, folder: str) -> None:
    key = V3ioCredentials(api_url=v3io_server.api_url, access_key=V3IO_ACCESS_KEY)
    basic = V3ioCredentials(api_url=v3io_server.api_url, username=V3IO_USER, password=V3IO_PASSWORD)
    v3io_server.clear_requests()
    orchestore.get_dataitem(_url(folder, "key.txt"), key).put(b"by key")
    sent = v3io_server.requests
    assert all(r.headers.get("X-v3io-session-key") == V3IO_ACCESS_KEY for r in sent)
    assert all("Authorization" not in r.headers for r in sent)
    v3io_server.clear_requests()
    assert orchestore.get_dataitem(_url(folder, "key.txt"), basic).get() == b"by key"
    sent = v3io_server.requests
    assert sent and all(r.headers.get("Authorization", "").startswith("Basic ") for r in sent)
    assert all("X-v3io-session-key" not in r.headers for r in sent)


@pytest.mark.parametrize("kind", ["key", "basic"])
def test_wrong_credentials_are_a_credentials_error_without_the_secret(
    v3io_server: V3ioServer, folder: str, kind: str
) -> None:
    wrong = "wrong-secret-value-31337"
    if kind == "key":
        creds = V3ioCredentials(api_url=v3io_server.api_url, access_key=wrong)
    else:
        creds = V3ioCredentials(api_url=v3io_server.api_url, username=V3IO_USER, password=wrong)
    item = orchestore.get_dataitem(_url(folder, "x.txt"), creds)
    folder_item = orchestore.get_dataitem(f"v3io:///bigdata/{folder}/", creds)
    for call in (item.get, item.stat, lambda: item.put(b"x"), folder_item.ls):
        with pytest.raises(CredentialsError, match="401") as raised:
            call()
        assert wrong not in str(raised.value) and "explicit credentials" in str(raised.value)


# -- errors -----------------------------------------------------------------------------------
def test_unknown_container_is_not_found_naming_it(creds: V3ioCredentials) -> None:
    item = orchestore.get_dataitem("v3io:///nosuchcontainer/dir/x.csv", creds)
    folder_item = orchestore.get_dataitem("v3io:///nosuchcontainer/dir/", creds)
    for call in (item.get, item.stat, lambda: item.put(b"x"), folder_item.ls):
        with pytest.raises(NotFoundError, match="container 'nosuchcontainer' not found"):
            call()
    assert not item.exists()


def test_folders_and_objects_are_told_apart(
    v3io_server: V3ioServer, creds: V3ioCredentials, folder: str
) -> None:
    _seed(v3io_server, folder, "dir/inner.txt", b"in")
    _seed(v3io_server, folder, "empty.txt", b"")
    assert orchestore.get_dataitem(_url(folder, "empty.txt"), creds).stat().is_dir is False
    assert orchestore.get_dataitem(_url(folder, "dir"), creds).stat().is_dir is True
    with pytest.raises(InvalidURLError, match="folder"):
        orchestore.get_dataitem(_url(folder, "dir"), creds).get()
    with pytest.raises(InvalidURLError, match="folder"):
        orchestore.get_dataitem(_url(folder, "dir"), creds).put(b"x")
    with pytest.raises(InvalidURLError, match="object where a folder"):
        orchestore.get_dataitem(_url(folder, "empty.txt/"), creds).ls()


# -- appends ----------------------------------------------------------------------------------
def test_append_creates_appends_and_chunks(
    v3io_server: V3ioServer, store: V3ioStore, folder: str
) -> None:
    url = parse_url(_url(folder, "log.bin"))
    store.client.chunk_size = 4
    v3io_server.clear_requests()
    store.append(url, b"one\n")
    store.append(url, b"two-three\n")
    assert store.read(url) == b"one\ntwo-three\n"
    assert [(m, r) for m, r, _ in _puts(v3io_server, folder)] == [("PUT", "-1")] * 4


def test_append_is_never_resent_after_a_dropped_connection(
    v3io_server: V3ioServer, store: V3ioStore, folder: str
) -> None:
    url = parse_url(_url(folder, "once.txt"))
    store.append(url, b"a")
    v3io_server.clear_requests()
    v3io_server.fail_next("PUT", drop_connection=True)
    with pytest.raises(StoreUnavailableError, match="not re-sent"):
        store.append(url, b"b")
    assert _puts(v3io_server, folder) == [("PUT", "-1", 1)]  # one attempt, no retry
    store.append(url, b"c")
    assert store.read(url) == b"ac"


# -- whole-upload retries ---------------------------------------------------------------------
def test_a_dropped_upload_restarts_from_the_first_put(
    v3io_server: V3ioServer, store: V3ioStore, folder: str
) -> None:
    url = parse_url(_url(folder, "retried.bin"))
    data = os.urandom(25)
    store.client.chunk_size = 10
    v3io_server.clear_requests()
    v3io_server.fail_next("PUT", drop_connection=True)
    store.write(url, data)
    assert store.read(url) == data
    assert _puts(v3io_server, folder) == [
        ("PUT", None, 10),  # dropped
        ("PUT", None, 10),  # the whole upload again: a PUT replaces, an append is not re-sent
        ("PUT", "-1", 10),
        ("PUT", "-1", 5),
    ]


def test_an_upload_refused_every_time_keeps_the_previous_content(
    v3io_server: V3ioServer, store: V3ioStore, folder: str
) -> None:
    url = parse_url(_url(folder, "kept.txt"))
    store.write(url, b"version 1")
    v3io_server.fail_next("PUT", status=503, count=store.client.upload_attempts)
    with pytest.raises(StoreUnavailableError, match="503"):
        store.write(url, b"version 2")
    assert store.read(url) == b"version 1"


def test_an_upload_dropped_every_time_deletes_the_partial_object(
    v3io_server: V3ioServer, store: V3ioStore, folder: str
) -> None:
    url = parse_url(_url(folder, "partial.bin"))
    store.write(url, b"old")
    v3io_server.fail_next("PUT", drop_connection=True, count=store.client.upload_attempts)
    with pytest.raises(StoreUnavailableError, match="partially written object was deleted"):
        store.write(url, b"new content")
    assert not store.exists(url)


def test_failed_source_sends_nothing(v3io_server: V3ioServer, creds: V3ioCredentials) -> None:
    folder = f"unit-{uuid.uuid4().hex[:10]}"
    item = orchestore.get_dataitem(_url(folder, "never.bin"), creds)
    v3io_server.clear_requests()
    with pytest.raises(RuntimeError, match="source"), item.open("wb") as writer:
        writer.write(b"x" * (3 * MiB))
        raise RuntimeError("source failed")
    assert _puts(v3io_server, folder) == []
    assert not item.exists()


# -- listing ----------------------------------------------------------------------------------
def test_listing_of_2500_entries_pages_with_markers(
    v3io_server: V3ioServer, creds: V3ioCredentials, folder: str
) -> None:
    names = [f"f{index:05d}.txt" for index in range(2498)] + ["sub-a/x", "sub-b/y"]
    for name in names:
        _seed(v3io_server, folder, name, b"")
    v3io_server.clear_requests()
    listed = orchestore.get_dataitem(f"v3io:///bigdata/{folder}/", creds).listdir()
    assert len(listed) == 2500 and listed[-2:] == ["sub-a/", "sub-b/"]
    pages = [r.path for r in v3io_server.requests if "prefix=" in r.path]
    assert len(pages) == 3 and "marker=" not in pages[0] and all("marker=" in p for p in pages[1:])
    # a small page size proves the loop, not the server's default, does the paging
    fs = V3ioFileSystem(credentials=creds, list_page_size=500)
    v3io_server.clear_requests()
    assert len(fs.ls(f"bigdata/{folder}", detail=False)) == 2500
    assert sum("prefix=" in r.path for r in v3io_server.requests) == 5


def test_recursive_delete_and_mkdir_through_fsspec(
    v3io_server: V3ioServer, creds: V3ioCredentials, folder: str
) -> None:
    fs = V3ioFileSystem(credentials=creds, list_page_size=2)
    fs.mkdir(f"bigdata/{folder}/made/deep")
    assert fs.isdir(f"bigdata/{folder}/made/deep")
    for index in range(5):
        fs.pipe_file(f"bigdata/{folder}/tree/{index % 2}/{index}.txt", b"x")
    with pytest.raises(UnsupportedOperationError, match="recursive"):
        fs.rm(f"bigdata/{folder}/tree")
    fs.rm(f"bigdata/{folder}/tree", recursive=True)
    assert not (v3io_server.container_path("bigdata") / folder / "tree").exists()
    assert fs.ls(f"bigdata/{folder}", detail=False) == [f"bigdata/{folder}/made"]


# -- URL forms --------------------------------------------------------------------------------
def test_url_forms_with_and_without_host(
    v3io_server: V3ioServer,
    v3ios_server: V3ioServer,
    tls_cert: tuple[Path, Path],
    folder: str,
) -> None:
    _seed(v3io_server, folder, "plain.txt", b"over http")
    _seed(v3ios_server, folder, "tls.txt", b"over https")
    via_api = V3ioCredentials(api_url=v3io_server.api_url, access_key=V3IO_ACCESS_KEY)
    # v3io:///container/path and MLRun's v3io://container/path both go to api_url
    assert orchestore.get_dataitem(_url(folder, "plain.txt"), via_api).get() == b"over http"
    short = f"v3io://bigdata/{folder}/plain.txt"
    assert orchestore.get_dataitem(short, via_api).get() == b"over http"
    # v3ios://host:port/container/path goes to that host over HTTPS, whatever api_url says
    tls = V3ioCredentials(
        api_url=v3io_server.api_url, access_key=V3IO_ACCESS_KEY, ca_bundle=str(tls_cert[0])
    )
    hosted = f"v3ios://127.0.0.1:{v3ios_server.port}/bigdata/{folder}/tls.txt"
    item = orchestore.get_dataitem(hosted, tls)
    assert item.get() == b"over https" and item.url == hosted
    assert item.store is not orchestore.get_dataitem(_url(folder, "plain.txt"), tls).store
    # and through fsspec, the host comes from the URL
    with fsspec.open(hosted, access_key=V3IO_ACCESS_KEY, ca_bundle=str(tls_cert[0])) as f:
        assert f.read() == b"over https"
    untrusted = V3ioCredentials(access_key=V3IO_ACCESS_KEY)
    with pytest.raises(CredentialsError, match="certificate"):
        orchestore.get_dataitem(hosted, untrusted).get()


# -- streaming --------------------------------------------------------------------------------
def test_64_mib_round_trip_streams_in_chunks(
    v3io_server: V3ioServer, creds: V3ioCredentials, folder: str
) -> None:
    piece = os.urandom(MiB)
    item = orchestore.get_dataitem(_url(folder, "big.bin"), creds)
    v3io_server.clear_requests()
    written = hashlib.sha256()
    tracemalloc.start()
    try:
        with item.open("wb") as writer:
            for index in range(64):
                chunk = piece[index:] + piece[:index]
                written.update(chunk)
                writer.write(chunk)
        read = hashlib.sha256()
        total = 0
        with item.open("rb") as reader:
            while chunk := reader.read(MiB):
                read.update(chunk)
                total += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == 64 * MiB and read.digest() == written.digest()
    assert peak < 40 * MiB, f"peak {peak / MiB:.0f} MiB: not streaming"
    puts = _puts(v3io_server, folder)
    assert puts[0] == ("PUT", None, 10 * MiB)
    assert puts[1:] == [("PUT", "-1", 10 * MiB)] * 5 + [("PUT", "-1", 4 * MiB)]


# -- fsspec without importing orchestore ------------------------------------------------------
def test_fsspec_and_pandas_find_v3io_without_importing_orchestore(
    v3io_server: V3ioServer, folder: str
) -> None:
    _seed(v3io_server, folder, "table.csv", b"a,b\n1,2\n3,4\n")
    script = textwrap.dedent(
        """
        import sys
        import fsspec
        import pandas as pd

        api, key, folder = sys.argv[1:4]
        assert "orchestore" not in sys.modules
        try:  # V3IO_ACCESS_KEY holds a decoy: it must not be used
            fsspec.filesystem("v3io", api_url=api)
        except Exception as exc:
            assert type(exc).__name__ == "CredentialsError", exc
        else:
            raise AssertionError("no credentials, but the filesystem was built")
        fs = fsspec.filesystem("v3io", api_url=api, access_key=key)
        assert type(fs).__module__ == "orchestore.stores.v3io_fs"
        assert fs.cat_file(f"bigdata/{folder}/table.csv").startswith(b"a,b")
        frame = pd.read_csv(
            f"v3io:///bigdata/{folder}/table.csv",
            storage_options={"api_url": api, "access_key": key},
        )
        assert frame["b"].tolist() == [2, 4], frame
        frame.to_csv(
            f"v3io:///bigdata/{folder}/copy.csv",
            index=False,
            storage_options={"api_url": api, "access_key": key},
        )
        print("ok")
        """
    )
    env = {**os.environ, "V3IO_ACCESS_KEY": DECOY_KEY}
    result = subprocess.run(
        [sys.executable, "-c", script, v3io_server.api_url, V3IO_ACCESS_KEY, folder],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    copied = v3io_server.container_path("bigdata") / folder / "copy.csv"
    assert copied.read_bytes() == b"a,b\n1,2\n3,4\n"


def test_fsspec_file_discards_on_exception(creds: V3ioCredentials, folder: str) -> None:
    fs = V3ioFileSystem(credentials=creds)
    path = f"bigdata/{folder}/f.txt"
    fs.pipe_file(path, b"v1")
    with pytest.raises(RuntimeError, match="boom"), fs.open(path, "wb") as f:
        f.write(b"v2 partial")
        raise RuntimeError("boom")
    assert fs.cat_file(path) == b"v1"
    with fs.open(path, "rb", block_size=1) as f:
        f.seek(1)
        assert f.read() == b"1"


def test_client_refuses_a_dead_endpoint_in_bounded_time() -> None:
    dead = V3ioCredentials(api_url="http://127.0.0.1:9", access_key=V3IO_ACCESS_KEY)
    client = V3ioClient(dead, parse_url("v3io:///bigdata/"))
    with pytest.raises(StoreUnavailableError, match=r"cannot reach http://127\.0\.0\.1:9"):
        client.read("bigdata", "x")


def test_a_read_cut_short_resumes_from_its_position(
    v3io_server: V3ioServer, store: V3ioStore, folder: str
) -> None:
    data = os.urandom(8 * MiB)
    _seed(v3io_server, folder, "cut.bin", data)
    v3io_server.clear_requests()
    with store.open_reader(parse_url(_url(folder, "cut.bin"))) as reader:
        head = reader.read(MiB)
        # Cut the connection under the open response, as a network failure would.
        reader.raw._response.connection.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[attr-defined]
        rest = reader.read()
    assert head + rest == data
    ranges = [r.headers.get("Range") for r in v3io_server.requests if r.method == "GET"]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and len(ranges) == 2
