"""Issue 11, item 2: the server is killed at ~40 % of a 64 MiB copy, then restarted.

The copy fails within a bounded time (no hang), leaves no partial object, and a retry after the
restart produces a byte-identical object. Each test runs its own server (these are killed),
behind a FaultProxy so that the client's endpoint stays the same across the restart (the
restarted server gets a new port). moto is SIGKILLed and forgets everything; Azurite is sent
SIGTERM (a SIGKILL loses its last metadata writes) and keeps its data on disk, so a download
from it is retried against the same blob.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import orchestore
from orchestore import RetryPolicy, StoreUnavailableError
from tests.reliability.fault_proxy import FaultProxy

MiB = 1024 * 1024
SIZE = 64 * MiB
POLICY = RetryPolicy(attempts=3, backoff=0.1, connect_timeout=2, read_timeout=10)
pytestmark = pytest.mark.heavy


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("payload") / "sixty-four.bin"
    data = os.urandom(SIZE)
    path.write_bytes(data)
    return path, _sha(data)


class _KillAt:
    """A progress callback that kills the server once ``fraction`` of the bytes went by.

    The kill runs in a thread of its own, as an orchestrator stops a pod: a server that drains
    its open responses on SIGTERM (Azurite) must not wait on the very thread that reads them.
    """

    def __init__(self, kill: Callable[[], None], fraction: float = 0.4) -> None:
        self._kill, self._fraction = kill, fraction
        self.killed_at: float | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __call__(self, progress: Any) -> None:
        total = progress.bytes_total or SIZE
        with self._lock:
            if self.killed_at is None and progress.bytes_done >= self._fraction * total:
                self.killed_at = progress.bytes_done / total
                self._thread = threading.Thread(target=self._kill, name="killer")
                self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()


def _terminate_group(process: Any, proxy: FaultProxy) -> None:
    """SIGTERM, as an orchestrator stops a pod: Azurite's metadata store (LokiJS) saves on exit,
    where a SIGKILL would lose the last seconds of it. Azurite then drains the responses in
    flight, which a stopped pod's network does not do: the open connections are reset."""
    os.killpg(process.pid, signal.SIGTERM)
    proxy.drop_connections()
    process.wait(timeout=20)


def _kill(process: Any) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[tuple[Any, FaultProxy]]:
    from tests.servers.moto_server import MotoServer

    (tmp_path / "moto").mkdir()
    server = MotoServer(tmp_path / "moto").start()
    proxy = FaultProxy("127.0.0.1", server.port).start()
    yield server, proxy
    proxy.stop()
    server.stop()


@pytest.fixture
def azurite(tmp_path: Path) -> Iterator[tuple[Any, FaultProxy]]:
    from tests.servers.azurite import AzuriteServer

    (tmp_path / "azurite").mkdir()
    server = AzuriteServer(tmp_path / "azurite").start()
    proxy = FaultProxy("127.0.0.1", server.port).start()
    yield server, proxy
    proxy.stop()
    server.stop()


def _failing_copy(source: Any, target: Any, kill: Callable[[], None]) -> tuple[float, _KillAt]:
    killer = _KillAt(kill)
    started = time.monotonic()
    try:
        with pytest.raises(StoreUnavailableError):
            orchestore.copy(source, target, progress=killer)
    finally:
        killer.join()
    return time.monotonic() - started, killer


def test_upload_to_s3_killed_at_40_percent(
    moto: tuple[Any, FaultProxy], payload: tuple[Path, str], tally: Counter
) -> None:
    from orchestore.credentials import S3Credentials
    from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET

    server, proxy = moto
    server.client().create_bucket(Bucket="killed")
    credentials = S3Credentials(
        access_key_id=ADMIN_KEY_ID,
        secret_access_key=ADMIN_SECRET,
        endpoint_url=proxy.url,
        region="us-east-1",
    )
    target = orchestore.get_dataitem("s3://killed/big.bin", credentials, retry=POLICY)
    path, digest = payload
    elapsed, killer = _failing_copy(str(path), target, lambda: _kill(server._process))
    tally["faults injected"] += 1
    # bounded: parts in flight are waited for at most the policy's worst case, then aborted
    assert killer.killed_at is not None and elapsed < 2 * POLICY.worst_case_seconds, elapsed
    server._process = None
    server._clients.clear()
    server.start()  # a new, empty moto on another port
    proxy.upstream = ("127.0.0.1", server.port)
    server.client().create_bucket(Bucket="killed")
    assert not target.exists()
    orchestore.copy(str(path), target)
    body = server.client().get_object(Bucket="killed", Key="big.bin")["Body"].read()
    assert _sha(body) == digest
    assert server.client().list_multipart_uploads(Bucket="killed").get("Uploads", []) == []
    tally["faults survived"] += 1
    tally["objects checked"] += 1


@pytest.mark.parametrize("direction", ["upload", "download"])
def test_azure_killed_at_40_percent_keeps_its_data(
    azurite: tuple[Any, FaultProxy],
    payload: tuple[Path, str],
    tmp_path: Path,
    direction: str,
    tally: Counter,
) -> None:
    from azure.storage.blob import BlobServiceClient

    from orchestore.credentials import AzureCredentials

    server, proxy = azurite
    path, digest = payload
    with BlobServiceClient.from_connection_string(server.connection_string) as client:
        client.create_container("killed")
        if direction == "download":
            with path.open("rb") as data:
                client.get_blob_client("killed", "big.bin").upload_blob(data, max_concurrency=4)
    credentials = AzureCredentials(
        account_name=server.account_name,
        account_key=server.account_key,
        blob_endpoint=f"{proxy.url}/{server.account_name}",
    )
    remote = orchestore.get_dataitem("az://killed/big.bin", credentials, retry=POLICY)
    local = tmp_path / "downloaded" / "big.bin"
    local.parent.mkdir()
    source, target = (str(path), remote) if direction == "upload" else (remote, str(local))
    stop_pod = lambda: _terminate_group(server._process, proxy)  # noqa: E731
    elapsed, killer = _failing_copy(source, target, stop_pod)
    tally["faults injected"] += 1
    assert killer.killed_at is not None and elapsed < POLICY.worst_case_seconds, elapsed
    assert list(local.parent.iterdir()) == []  # no partial download, no temp file
    server._process = None
    server.start()  # the same data folder: what was committed before the kill is still there
    proxy.upstream = ("127.0.0.1", server.port)
    with BlobServiceClient.from_connection_string(server.connection_string) as client:
        blob = client.get_blob_client("killed", "big.bin")
        if direction == "upload":
            assert not blob.exists()  # the staged blocks were never committed
        else:
            assert _sha(blob.download_blob().readall()) == digest  # kept across the restart
        orchestore.copy(source, target)
        copied = blob.download_blob().readall() if direction == "upload" else local.read_bytes()
    assert _sha(copied) == digest
    tally["faults survived"] += 1
    tally["objects checked"] += 1
