"""Azurite, Microsoft's Azure Storage emulator, on 127.0.0.1 for the azure store's tests.

The harness installs ``azurite@3`` with npm into a cache folder outside the repository
(``$ORCHESTORE_CACHE`` or ``~/.cache/orchestore``, then ``azurite/``) once, and reuses it. Each
server listens on a port the kernel picks (``--blobPort 0``; the port is read back from Azurite's
start-up line), keeps its data in a temporary folder, and writes its access log to a file so
tests can check which requests a server saw (a decoy must see none; a server-side copy must not
GET its source). ``--silent`` is therefore not passed.

Fixtures: ``azurite`` (the server), ``azurite_container`` (a container created for the session)
and ``decoy_azurite`` (a second server that tests point AZURE_* variables at).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.lifecycle import ManagedServer, stop_process

__all__ = [
    "ACCOUNT_KEY",
    "ACCOUNT_NAME",
    "AccessLogLine",
    "AzuriteServer",
    "azurite_binary",
]

#: the emulator's well-known development account (public, documented by Microsoft)
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
NPM_PACKAGE = "azurite@3"
HOST = "127.0.0.1"
_START_TIMEOUT = 60.0
_INSTALL_TIMEOUT = 600.0
_LISTENING = re.compile(r"successfully listens on http://[\d.]+:(\d+)")
_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


def _cache_dir() -> Path:
    root = os.environ.get("ORCHESTORE_CACHE") or os.path.expanduser("~/.cache/orchestore")
    return Path(root) / "azurite"


def azurite_binary() -> Path:
    """``azurite-blob`` from the cache, installed with npm on first use (under a file lock)."""
    cache = _cache_dir()
    binary = cache / "node_modules" / ".bin" / "azurite-blob"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("Azurite needs Node.js and npm (npm is not on PATH)")
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs may install at once
        if not binary.exists():
            command = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(cache)]
            subprocess.run(
                [*command, NPM_PACKAGE], check=True, capture_output=True, timeout=_INSTALL_TIMEOUT
            )
    return binary


@dataclass(frozen=True)
class AccessLogLine:
    """One request as Azurite's access log shows it."""

    method: str
    path: str
    status: int


class AzuriteServer(ManagedServer):
    """One ``azurite-blob`` process on 127.0.0.1 with its own data folder and access log."""

    host = HOST
    account_name = ACCOUNT_NAME
    account_key = ACCOUNT_KEY

    def __init__(self, workdir: Path | None = None) -> None:
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="azurite-"))
        self.log_path = self.workdir / "access.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    # -- addresses ----------------------------------------------------------------------------
    @property
    def blob_endpoint(self) -> str:
        if not self.port:
            raise RuntimeError("Azurite is not started")
        return f"http://{self.host}:{self.port}/{self.account_name}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};"
            f"AccountKey={self.account_key};BlobEndpoint={self.blob_endpoint};"
        )

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> AzuriteServer:
        if self._process is not None:
            raise RuntimeError("Azurite is already started")
        command = [str(azurite_binary()), "--blobHost", self.host, "--blobPort", "0"]
        command += ["--location", str(self.workdir / "data"), "--skipApiVersionCheck"]
        command += ["--disableTelemetry"]
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            self.port = self._wait_for_port()
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the process group we started (SIGTERM, then SIGKILL after 10 s)."""
        process, self._process = self._process, None
        stop_process(process, group=True)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            match = _LISTENING.search(self._log_text())
            if match:
                return int(match.group(1))
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"Azurite exited at start-up:\n{self._log_text()}")
            time.sleep(0.05)
        raise RuntimeError(f"Azurite did not start within {_START_TIMEOUT:.0f} s")

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        url = f"{self.blob_endpoint}?comp=list"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own http URL
                    return
            except urllib.error.HTTPError as answer:
                answer.close()
                return  # any HTTP answer (403 without auth) means it serves
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("Azurite does not answer HTTP")

    # -- what the server saw -------------------------------------------------------------------
    def _log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def requests(self, *, settle: bool = False) -> list[AccessLogLine]:
        """Every request in the access log so far, oldest first.

        Azurite logs a request after answering it, so the line of the latest request may still
        be on its way; ``settle=True`` first waits until the log has not grown for 100 ms.
        """
        if settle:
            self._settle()
        lines = []
        for match in _ACCESS.finditer(self._log_text()):
            lines.append(AccessLogLine(match["method"], match["path"], int(match["status"])))
        return lines

    def _settle(self, quiet: float = 0.1, limit: float = 5.0) -> None:
        deadline = time.monotonic() + limit
        size = -1
        while time.monotonic() < deadline:
            current = self.log_path.stat().st_size
            if current == size:
                return
            size = current
            time.sleep(quiet)


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteServer]:
    """The Azurite server the azure store's tests and contract cases use."""
    with AzuriteServer() as server:
        yield server


@pytest.fixture(scope="session")
def decoy_azurite() -> Iterator[AzuriteServer]:
    """A second Azurite that AZURE_* decoy variables point at; it must never see a request."""
    with AzuriteServer() as server:
        yield server


@pytest.fixture(scope="session")
def azurite_container(azurite: AzuriteServer) -> str:
    """A container created out of band (raw SDK) for the session's tests."""
    from azure.storage.blob import BlobServiceClient

    name = "orchestore-tests"
    with BlobServiceClient.from_connection_string(azurite.connection_string) as client:
        client.create_container(name)
    return name


@pytest.fixture(scope="session")
def azurite_blob_client(azurite: AzuriteServer) -> Iterator[object]:
    """A raw (synchronous) azure-storage-blob client, for seeding and inspecting out of band."""
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient.from_connection_string(azurite.connection_string) as client:
        yield client


def azure_contract_case(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    """The contract suite's az case: a fresh folder in the session container, seeded by the SDK."""
    from orchestore.credentials import AzureCredentials
    from tests.contract.conftest import StoreCase  # imported late: that module imports this one

    server: AzuriteServer = request.getfixturevalue("azurite")
    container: str = request.getfixturevalue("azurite_container")
    client = request.getfixturevalue("azurite_blob_client")
    prefix = f"az://{container}/"

    def seed(url: str, data: bytes) -> None:
        blob = client.get_blob_client(container, url.removeprefix(prefix))  # type: ignore[attr-defined]
        blob.upload_blob(data, overwrite=True)

    credentials = AzureCredentials(
        account_name=server.account_name,
        account_key=server.account_key,
        blob_endpoint=server.blob_endpoint,
    )
    folder = f"{prefix}contract-{os.urandom(6).hex()}/"
    return StoreCase("az", folder, seed, credentials=credentials)
