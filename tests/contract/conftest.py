"""The store cases the contract suite runs over. A store joins by adding one StoreCase.

Each case says what the store can do (capabilities select which contract classes apply, as
universal-pathlib splits Readable/Writable/NonWritable) and how to seed data out of band, so
that readers are tested on data the store under test did not write itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import orchestore
from tests.servers.azurite import azure_contract_case
from tests.servers.gcs_emulator import gcs_contract_case
from tests.servers.http_server import HttpFileServer
from tests.servers.moto_server import s3_contract_case

_counter = itertools.count()


@dataclass
class StoreCase:
    """One store under contract: where a fresh folder is, and how to put bytes there directly."""

    id: str
    folder_url: str
    seed: Callable[[str, bytes], None]
    credentials: Any = None
    options: dict[str, Any] = field(default_factory=dict)

    def item(self, name: str) -> orchestore.DataItem:
        return orchestore.get_dataitem(self.folder_url + name, self.credentials, **self.options)

    def folder(self) -> orchestore.DataItem:
        return orchestore.get_dataitem(self.folder_url, self.credentials, **self.options)


@dataclass(frozen=True)
class StoreSpec:
    """A store's capabilities and how to build a fresh case of it for one test."""

    id: str
    make: Callable[[pytest.FixtureRequest, Path], StoreCase]
    writable: bool = True
    appendable: bool = True
    listable: bool = True


def _seed_file(url: str, data: bytes) -> None:
    path = Path(url.removeprefix("file://"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _http_case(request: pytest.FixtureRequest, tmp_path: Path) -> StoreCase:
    server: HttpFileServer = request.getfixturevalue("http_server")
    root: Path = request.getfixturevalue("http_root")

    def seed(url: str, data: bytes) -> None:
        path = root / url.removeprefix(server.base_url + "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    # The test server listens on 127.0.0.1, which the http store refuses unless allowlisted.
    credentials = orchestore.HttpCredentials(allowed_hosts=["127.0.0.1"])
    return StoreCase(
        "http", f"{server.base_url}/contract-{next(_counter)}/", seed, credentials=credentials
    )


def _s3_from_vault_case(request: pytest.FixtureRequest, tmp_path: Path) -> StoreCase:
    """s3 on moto with credentials that exist only in Vault (OpenBao), under MLRun's key names,
    resolved through ``resolve_credentials(url, vault=...)`` with a read-only Vault token."""
    from orchestore.credentials import VaultConnection, VaultSecretRef, resolve_credentials
    from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET, REGION

    case = s3_contract_case(request, tmp_path)
    assert isinstance(case, StoreCase)
    bao = request.getfixturevalue("openbao")
    moto = request.getfixturevalue("moto_server")
    path = "orchestore/contract/s3"
    bao.put_secret(
        "secret",
        path,
        {
            "AWS_ACCESS_KEY_ID": ADMIN_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET,
            "S3_ENDPOINT_URL": moto.endpoint_url,
            "AWS_REGION": REGION,
        },
    )
    bao.write_policy("contract-s3-read", f'path "secret/data/{path}" {{ capabilities = ["read"] }}')
    token = bao.create_token(["contract-s3-read"])
    secret = VaultSecretRef(
        connection=VaultConnection(url=bao.address, token=token), mount="secret", path=path
    )
    credentials = resolve_credentials(case.folder_url, vault=secret)
    assert credentials is not None and "Vault" in credentials.source
    return StoreCase("s3-vault", case.folder_url, case.seed, credentials=credentials)


def _v3io_case(request: pytest.FixtureRequest, tmp_path: Path) -> StoreCase:
    """v3io on the project's web-API test server, seeded with raw http.client PUTs."""
    import http.client
    from urllib.parse import quote

    from orchestore.credentials import V3ioCredentials
    from tests.servers.v3io_server import V3IO_ACCESS_KEY, V3ioServer

    server: V3ioServer = request.getfixturevalue("v3io_server")
    prefix = "v3io:///bigdata/"

    def seed(url: str, data: bytes) -> None:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
        try:
            path = "/bigdata/" + quote(url.removeprefix(prefix))
            connection.request("PUT", path, data, {"X-v3io-session-key": V3IO_ACCESS_KEY})
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
        finally:
            connection.close()

    credentials = V3ioCredentials(api_url=server.api_url, access_key=V3IO_ACCESS_KEY)
    folder = f"{prefix}contract-{next(_counter)}-{tmp_path.name[-12:]}/"
    return StoreCase("v3io", folder, seed, credentials=credentials)


# One line per store. Later stores (store://) join here.
SPECS = [
    StoreSpec("file", lambda request, tmp: StoreCase("file", f"file://{tmp}/data/", _seed_file)),
    StoreSpec("path", lambda request, tmp: StoreCase("path", f"{tmp}/data/", _seed_file)),
    StoreSpec(
        "memory",
        lambda request, tmp: StoreCase(
            "memory", f"memory://contract-{next(_counter)}/", orchestore.set_in_memory_item
        ),
    ),
    StoreSpec("http", _http_case, writable=False, appendable=False, listable=False),
    StoreSpec("az", azure_contract_case, writable=True, appendable=False, listable=True),
    StoreSpec("gs", gcs_contract_case, writable=True, appendable=False, listable=True),
    StoreSpec("s3", s3_contract_case, writable=True, appendable=False, listable=True),
    StoreSpec("s3-vault", _s3_from_vault_case, writable=True, appendable=False, listable=True),
    StoreSpec("v3io", _v3io_case, writable=True, appendable=True, listable=True),
]


def _fixture_over(selected: list[StoreSpec]):
    by_id = {spec.id: spec for spec in selected}

    @pytest.fixture(params=sorted(by_id))
    def case(request: pytest.FixtureRequest, tmp_path: Path) -> StoreCase:
        return by_id[request.param].make(request, tmp_path)

    return case


readable = _fixture_over(SPECS)
writable = _fixture_over([spec for spec in SPECS if spec.writable])
appendable = _fixture_over([spec for spec in SPECS if spec.appendable])
read_only = _fixture_over([spec for spec in SPECS if not spec.writable])
listable = _fixture_over([spec for spec in SPECS if spec.listable])
unlistable = _fixture_over([spec for spec in SPECS if not spec.listable])
