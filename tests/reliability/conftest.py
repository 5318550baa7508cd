"""The reliability suite's fixtures: the writable store cases, fault proxies in front of the real
test servers, out-of-band leftover checks, and the tally the closing note reports.

The tally counts what the suite did (faults injected and survived, bad inputs tried and
refused, sentinel hits, objects lost) and prints it at the end of the run.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import orchestore
from orchestore import RetryPolicy
from tests.contract.conftest import SPECS, StoreCase, _fixture_over
from tests.reliability.fault_proxy import FaultProxy

#: a policy that keeps fault tests quick: 3 attempts, short waits and timeouts
FAST = RetryPolicy(attempts=3, backoff=0.05, max_backoff=0.2, connect_timeout=2, read_timeout=5)

TALLY: Counter[str] = Counter()
TALLY_KEYS = (
    "faults injected",
    "faults survived",
    "faults failed cleanly",
    "bad inputs tried",
    "bad inputs refused",
    "sentinel hits",
    "objects checked",
    "objects lost",
)

writable = _fixture_over([spec for spec in SPECS if spec.writable and spec.id != "s3-vault"])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``heavy`` cases run only with ORCHESTORE_HEAVY=1 (CI sets it). They are deselected, not
    skipped: a skip would fail under ORCHESTORE_REQUIRE_ALL."""
    if os.environ.get("ORCHESTORE_HEAVY") == "1":
        return
    heavy = [item for item in items if item.get_closest_marker("heavy")]
    if heavy:
        config.hook.pytest_deselected(items=heavy)
        items[:] = [item for item in items if not item.get_closest_marker("heavy")]


@pytest.fixture
def tally() -> Counter[str]:
    return TALLY


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if any(TALLY.values()):
        terminalreporter.write_sep("-", "reliability figures")
        for key in TALLY_KEYS:
            terminalreporter.write_line(f"{key}: {TALLY[key]}")


# -- out-of-band checks ---------------------------------------------------------------------------
def leftovers(case: StoreCase, request: pytest.FixtureRequest, key: str) -> list[str]:
    """What a failed write of ``key`` may have left behind, seen without orchestore."""
    url = case.folder_url + key
    if case.id in ("file", "path"):
        folder = Path(url.removeprefix("file://")).parent
        if not folder.exists():
            return []
        return [name for name in os.listdir(folder) if name.endswith(".orchestore-tmp")]
    if case.id == "s3":
        bucket = request.getfixturevalue("moto_bucket")
        client = request.getfixturevalue("moto_server").client()
        prefix = url.removeprefix(f"s3://{bucket}/")
        uploads = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
        return [f"open multipart upload {u['UploadId']}" for u in uploads]
    if case.id == "az":
        container = request.getfixturevalue("azurite_container")
        client = request.getfixturevalue("azurite_blob_client")
        name = url.removeprefix(f"az://{container}/")
        blobs = client.get_container_client(container).list_blobs(
            name_starts_with=name, include=["uncommittedblobs"]
        )
        committed = {
            b.name for b in client.get_container_client(container).list_blobs(name_starts_with=name)
        }
        return [f"uncommitted blob {b.name}" for b in blobs if b.name not in committed]
    return []


# -- fault proxies in front of the servers ----------------------------------------------------
def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1].split("/")[0])


@dataclass
class Proxied:
    """A store reached two ways: directly (to check out of band) and through a FaultProxy."""

    store_id: str
    direct: Any
    faulty: Any
    proxy: FaultProxy
    folder: str

    def item(self, name: str, retry: RetryPolicy = FAST) -> orchestore.DataItem:
        """The object through the proxy, with a quick retry policy."""
        return orchestore.get_dataitem(self.folder + name, self.faulty, retry=retry)

    def check(self, name: str) -> orchestore.DataItem:
        """The object straight from the server."""
        return orchestore.get_dataitem(self.folder + name, self.direct)


@pytest.fixture
def proxied(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Proxied]]:
    """``proxied(store_id)``: the store's server behind a fresh FaultProxy."""
    proxies: list[FaultProxy] = []

    def make(store_id: str) -> Proxied:
        credentials, port = _upstream(request, store_id)
        proxy = FaultProxy("127.0.0.1", port).start()
        proxies.append(proxy)
        where = folder(store_id) if store_id != "http" else f"{proxy.url}/"
        return Proxied(store_id, credentials, _through(credentials, store_id, proxy), proxy, where)

    yield make
    for proxy in proxies:
        proxy.stop()


def _upstream(request: pytest.FixtureRequest, store_id: str) -> tuple[Any, int]:
    if store_id == "s3":
        from tests.servers.moto_server import admin_credentials

        server = request.getfixturevalue("moto_server")
        request.getfixturevalue("moto_bucket")
        return admin_credentials(server), _port(server.endpoint_url)
    if store_id == "az":
        server = request.getfixturevalue("azurite")
        request.getfixturevalue("azurite_container")
        from orchestore.credentials import AzureCredentials

        credentials = AzureCredentials(
            account_name=server.account_name,
            account_key=server.account_key,
            blob_endpoint=server.blob_endpoint,
        )
        return credentials, server.port
    if store_id == "gs":
        from orchestore.credentials import GCSCredentials

        endpoint = request.getfixturevalue("gcs_emulator")
        return GCSCredentials(anonymous=True, endpoint_url=endpoint), _port(endpoint)
    if store_id == "v3io":
        from orchestore.credentials import V3ioCredentials
        from tests.servers.v3io_server import V3IO_ACCESS_KEY

        server = request.getfixturevalue("v3io_server")
        return V3ioCredentials(api_url=server.api_url, access_key=V3IO_ACCESS_KEY), server.port
    if store_id == "http":
        server = request.getfixturevalue("http_server")
        return orchestore.HttpCredentials(allowed_hosts=["127.0.0.1"]), server.port
    raise AssertionError(store_id)


def _through(credentials: Any, store_id: str, proxy: FaultProxy) -> Any:
    """The same credentials, with the endpoint moved to the proxy."""
    fields = credentials.model_dump()
    if store_id == "s3":
        fields["endpoint_url"] = proxy.url
    elif store_id == "az":
        fields["blob_endpoint"] = f"{proxy.url}/{credentials.account_name}"
    elif store_id == "gs":
        fields["endpoint_url"] = proxy.url
    elif store_id == "v3io":
        fields["api_url"] = proxy.url
    else:
        return credentials
    revealed = {
        name: value.get_secret_value() if hasattr(value, "get_secret_value") else value
        for name, value in fields.items()
    }
    return type(credentials)(**revealed)


#: a folder URL per proxied store, and the URL form that reaches it
FOLDERS = {
    "s3": "s3://orchestore-tests/reliability-{run}/",
    "az": "az://orchestore-tests/reliability-{run}/",
    "gs": "gs://orchestore-contract/reliability-{run}/",
    "v3io": "v3io:///bigdata/reliability-{run}/",
}


def folder(store_id: str) -> str:
    return FOLDERS[store_id].format(run=os.urandom(4).hex())


__all__ = ["FAST", "Proxied", "folder", "leftovers", "sha256"]
