"""The azure store against a real Azurite: every credential method Azurite can honour, fail-closed
credentials with decoy AZURE_* variables, atomic block uploads, server-side copies and errors.

Azurite serves the well-known development account; it checks shared keys and SAS signatures, so
wrong keys and read-only SAS tokens are refused for real. It has no Azure AD, so the service
principal and ambient-identity tests check the credential objects the store builds.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity.aio import ClientSecretCredential, DefaultAzureCredential
from azure.storage.blob import (
    AccountSasPermissions,
    BlobServiceClient,
    ContainerSasPermissions,
    ResourceTypes,
    generate_account_sas,
    generate_container_sas,
)

import orchestore
from orchestore import (
    ChecksumMismatchError,
    CredentialsError,
    InvalidURLError,
    NotFoundError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from orchestore.credentials import AzureCredentials
from orchestore.stores.azure import MAX_CONCURRENCY, UPLOAD_BLOCK, AzureStore
from orchestore.stores.azure_writer import _stage_block, composite_md5
from orchestore.urls import parse_url
from tests.servers.azurite import ACCOUNT_KEY, ACCOUNT_NAME, AzuriteServer

BLOCK = AzureStore.block_size
DECOY_SECRET = "decoy-secret-value-that-must-never-be-used-4471"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "0b9e4c56-1d1a-4a4e-9c1b-6ad2b1d2c3e4"
CLIENT_SECRET = "sp-client-secret-value-9925"


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def folder(azurite_container: str) -> str:
    """A fresh folder URL in the session container."""
    return f"az://{azurite_container}/unit-{os.urandom(5).hex()}/"


@pytest.fixture
def key_credentials(azurite: AzuriteServer) -> AzureCredentials:
    return AzureCredentials(
        account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, blob_endpoint=azurite.blob_endpoint
    )


def _sas(permission: AccountSasPermissions, hours: int = 1) -> str:
    return generate_account_sas(
        ACCOUNT_NAME,
        ACCOUNT_KEY,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=permission,
        expiry=datetime.now(UTC) + timedelta(hours=hours),
    )


def _all_permissions() -> AccountSasPermissions:
    return AccountSasPermissions(
        read=True, write=True, delete=True, list=True, add=True, create=True
    )


DECOY_NAMES = (
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_CLIENT_SECRET",
    "AZURE_CLIENT_SECRET",
)


@pytest.fixture
def decoy_env(decoy_azurite: AzuriteServer, monkeypatch: pytest.MonkeyPatch) -> AzuriteServer:
    """Every AZURE_* variable adlfs, azure-identity or the SDK would read, pointing at a decoy."""
    decoy = decoy_azurite
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", decoy.connection_string)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "decoyaccount")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", base64.b64encode(b"decoy" * 8).decode())
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", f"sv=2021&sig={DECOY_SECRET}")
    monkeypatch.setenv("AZURE_STORAGE_CLIENT_ID", "decoy-client")
    monkeypatch.setenv("AZURE_STORAGE_CLIENT_SECRET", DECOY_SECRET)
    monkeypatch.setenv("AZURE_STORAGE_TENANT_ID", "decoy-tenant")
    monkeypatch.setenv("AZURE_STORAGE_ANON", "false")
    monkeypatch.setenv("AZURE_CLIENT_ID", "decoy-client")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", DECOY_SECRET)
    monkeypatch.setenv("AZURE_TENANT_ID", "decoy-tenant")
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"127.0.0.1:{decoy.port}")
    return decoy


def _round_trip(url: str, credentials: AzureCredentials) -> None:
    """Write, list, stream, stat and read back through one credential method."""
    item = orchestore.get_dataitem(url + "data/table.csv", credentials)
    item.put(b"a,b\n1,2\n")
    with item.open("rb") as reader:
        assert reader.read(4) == b"a,b\n"
    assert item.stat().content_type == "text/csv"
    assert orchestore.get_dataitem(url, credentials).listdir() == ["data/"]
    assert item.as_df()["b"].tolist() == [2]
    item.delete()
    assert not item.exists()


def _secrets_absent(text: str, *secrets: str) -> None:
    for secret in (ACCOUNT_KEY, DECOY_SECRET, CLIENT_SECRET, *secrets):
        assert secret not in text


# -- the credential model ---------------------------------------------------------------------
def test_mlrun_names_build_each_method() -> None:
    by_key = AzureCredentials.from_mapping(
        {"AZURE_STORAGE_ACCOUNT_NAME": "acct1", "AZURE_STORAGE_ACCOUNT_KEY": "a2V5"}
    )
    assert (by_key.account_name, by_key.method) == ("acct1", "account_key")
    by_sas = AzureCredentials.from_mapping(
        {"AZURE_STORAGE_ACCOUNT_NAME": "acct1", "AZURE_STORAGE_SAS_TOKEN": "?sv=1&sig=x"}
    )
    assert by_sas.sas_token is not None
    assert by_sas.sas_token.get_secret_value() == "sv=1&sig=x"  # the leading ? is dropped
    by_string = AzureCredentials.from_mapping(
        {"AZURE_STORAGE_CONNECTION_STRING": "AccountName=acct1;AccountKey=a2V5"}
    )
    assert by_string.method == "connection_string"
    by_principal = AzureCredentials.from_mapping(
        {
            "account_name": "acct1",
            "AZURE_STORAGE_TENANT_ID": TENANT,
            "AZURE_STORAGE_CLIENT_ID": CLIENT,
            "AZURE_STORAGE_CLIENT_SECRET": CLIENT_SECRET,
        },
        source="Vault secret kv/azure",
    )
    assert by_principal.method == "service principal (tenant_id, client_id, client_secret)"
    assert by_principal.source == "Vault secret kv/azure"


def test_unknown_and_duplicate_keys_are_named() -> None:
    with pytest.raises(CredentialsError, match="AZURE_STORAGE_KEY"):
        AzureCredentials.from_mapping({"AZURE_STORAGE_KEY": "x", "account_name": "acct1"})
    with pytest.raises(CredentialsError, match="'account_key' and 'AZURE_STORAGE_ACCOUNT_KEY'"):
        AzureCredentials.from_mapping(
            {"account_name": "a1b", "account_key": "k", "AZURE_STORAGE_ACCOUNT_KEY": "k"}
        )


@pytest.mark.parametrize(
    ("fields", "first", "second"),
    [
        ({"connection_string": "AccountName=acct1;AccountKey=a2V5", "account_key": "k"},
         "connection_string", "account_key"),
        ({"account_key": "k", "sas_token": "sig=s"}, "account_key", "sas_token"),
        ({"sas_token": "sig=s", "tenant_id": "t", "client_id": "c", "client_secret": "s"},
         "sas_token", "service principal"),
        ({"account_key": "k", "use_ambient_identity": True}, "account_key", "use_ambient_identity"),
    ],
)  # fmt: skip
def test_two_methods_are_refused_naming_both(
    fields: dict[str, object], first: str, second: str
) -> None:
    with pytest.raises(CredentialsError, match=f"not both {first}.* and {second}") as raised:
        AzureCredentials(account_name="acct1", **fields)
    _secrets_absent(str(raised.value), "a2V5", "sig=s")


def test_incomplete_methods_name_what_is_missing() -> None:
    with pytest.raises(CredentialsError, match="missing client_id, client_secret"):
        AzureCredentials(account_name="acct1", tenant_id=TENANT)
    with pytest.raises(CredentialsError, match="account_key needs account_name"):
        AzureCredentials(account_key="a2V5")
    with pytest.raises(CredentialsError, match="use_ambient_identity needs account_name"):
        AzureCredentials(use_ambient_identity=True)
    with pytest.raises(CredentialsError, match="tokens over https only"):
        AzureCredentials(
            account_name="acct1", use_ambient_identity=True, blob_endpoint="http://127.0.0.1:1/a"
        )
    with pytest.raises(CredentialsError, match="AccountName 'other'"):
        AzureCredentials(account_name="acct1", connection_string="AccountName=other;AccountKey=k")
    with pytest.raises(CredentialsError, match="account_name: must be 3-24"):
        AzureCredentials(account_name="Not_An_Account", account_key="k")


def test_no_secret_in_reprs_or_validation_errors() -> None:
    full = AzureCredentials(
        account_name="acct1", tenant_id=TENANT, client_id=CLIENT, client_secret=CLIENT_SECRET
    )
    by_string = AzureCredentials(connection_string=f"AccountName=acct1;AccountKey={ACCOUNT_KEY}")
    text = (
        f"{full!r} {full} {by_string!r} {by_string} {full.model_dump()} {by_string.fingerprint()}"
    )
    _secrets_absent(text)
    bad_inputs: list[dict[str, object]] = [
        {"account_name": "acct1", "account_key": ACCOUNT_KEY, "sas_token": DECOY_SECRET},
        {"connection_string": f"{ACCOUNT_KEY}-no-pairs"},
        {"connection_string": f"AccountKey={ACCOUNT_KEY}"},
        {"connection_string": f"AccountName=acct1;Secret={ACCOUNT_KEY}"},
        {"connection_string": ACCOUNT_KEY, "blob_endpoint": "http://x"},
        {"account_name": "acct1", "client_secret": CLIENT_SECRET},
        {
            "account_name": "acct1",
            "account_key": ACCOUNT_KEY,
            "blob_endpoint": f"ftp://{ACCOUNT_KEY}",
        },
        {"account_name": "acct1", "account_key": 42, "sas_token": [DECOY_SECRET]},
    ]
    for fields in bad_inputs:
        with pytest.raises(CredentialsError) as raised:
            AzureCredentials(**fields)
        _secrets_absent(f"{raised.value} {raised.value!r}")


def test_importing_orchestore_does_not_import_the_sdk() -> None:
    code = (
        "import sys, orchestore, orchestore.credentials\n"
        "orchestore.credentials.AzureCredentials(account_name='acct1', account_key='a2V5')\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('azure', 'adlfs', 'aiohttp')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- credential methods against Azurite -------------------------------------------------------
def test_connection_string(azurite: AzuriteServer, folder: str) -> None:
    _round_trip(folder, AzureCredentials(connection_string=azurite.connection_string))


def test_account_key(key_credentials: AzureCredentials, folder: str) -> None:
    _round_trip(folder, key_credentials)


def test_account_sas(azurite: AzuriteServer, folder: str) -> None:
    sas = _sas(_all_permissions())
    credentials = AzureCredentials(
        account_name=ACCOUNT_NAME, sas_token=sas, blob_endpoint=azurite.blob_endpoint
    )
    _round_trip(folder, credentials)
    # A connection string may carry a SAS instead of a key.
    string = f"BlobEndpoint={azurite.blob_endpoint};SharedAccessSignature={sas}"
    _round_trip(folder, AzureCredentials(connection_string=string))


def test_container_sas_lists_streams_and_copies(
    azurite: AzuriteServer, azurite_container: str, folder: str
) -> None:
    sas = generate_container_sas(
        ACCOUNT_NAME,
        azurite_container,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    credentials = AzureCredentials(
        account_name=ACCOUNT_NAME, sas_token=sas, blob_endpoint=azurite.blob_endpoint
    )
    source = orchestore.get_dataitem(folder + "source.bin", credentials)
    source.put(b"scoped to one container")
    copied = source.copy_to(folder + "copy.bin", credentials)
    assert copied.get() == b"scoped to one container"
    assert orchestore.get_dataitem(folder, credentials).listdir() == ["copy.bin", "source.bin"]


def test_read_only_sas_refuses_writes_naming_the_source(
    azurite: AzuriteServer, key_credentials: AzureCredentials, folder: str
) -> None:
    orchestore.get_dataitem(folder + "kept.txt", key_credentials).put(b"kept")
    sas = _sas(AccountSasPermissions(read=True, list=True))
    credentials = AzureCredentials(
        account_name=ACCOUNT_NAME, sas_token=sas, blob_endpoint=azurite.blob_endpoint
    ).with_source("Airflow connection 'wasb_readonly'")
    item = orchestore.get_dataitem(folder + "kept.txt", credentials)
    assert item.get() == b"kept"
    with pytest.raises(PermissionDeniedError, match="wasb_readonly") as raised:
        item.put(b"overwritten")
    assert "sas_token" in str(raised.value)
    _secrets_absent(str(raised.value), sas)
    assert item.get() == b"kept"


def test_service_principal_builds_a_client_secret_credential(decoy_env: AzuriteServer) -> None:
    """Azure AD cannot run here (and Azurite takes tokens over https only), so no token is
    requested: the test checks that the store builds azure-identity's ClientSecretCredential with
    the configured tenant, client and authority (not AZURE_AUTHORITY_HOST or the AZURE_CLIENT_*
    decoys) and hands it to the blob client of the account's https endpoint."""
    credentials = AzureCredentials(
        account_name="sptestaccount",
        tenant_id=TENANT,
        client_id=CLIENT,
        client_secret=CLIENT_SECRET,
    )
    store = AzureStore(parse_url("az://c/"), credentials)
    try:
        credential = store.fs.credential
        assert isinstance(credential, ClientSecretCredential)
        assert credential._client._tenant_id == TENANT
        assert credential._client_id == CLIENT
        assert credential._secret == CLIENT_SECRET
        assert credential._client._authority == "https://login.microsoftonline.com"
        assert store.fs.service_client.credential is credential
        assert store.fs.service_client.url == "https://sptestaccount.blob.core.windows.net/"
        _secrets_absent(f"{store!r} {store.fs.service_client!r}")
    finally:
        store.close()


def test_ambient_identity_is_explicit() -> None:
    """use_ambient_identity=True is the one way to DefaultAzureCredential (no token requested:
    there is no managed identity endpoint here)."""
    credentials = AzureCredentials(account_name="sptestaccount", use_ambient_identity=True)
    store = AzureStore(parse_url("az://c/"), credentials)
    try:
        assert isinstance(store.fs.credential, DefaultAzureCredential)
        assert store.fs.service_client.credential is store.fs.credential
    finally:
        store.close()


# -- fail closed, hermetic --------------------------------------------------------------------
@pytest.mark.parametrize("credentials", [None, {}, {"account_name": ACCOUNT_NAME}])
def test_no_credentials_fail_closed_despite_decoys(
    decoy_env: AzuriteServer, azurite_container: str, credentials: dict[str, str] | None
) -> None:
    seen = len(decoy_env.requests(settle=True))
    with pytest.raises(CredentialsError, match="no credentials configured") as raised:
        orchestore.get_dataitem(f"az://{azurite_container}/x.bin", credentials).get()
    message = str(raised.value)
    assert "use_ambient_identity=True" in message
    assert "missing" in message
    _secrets_absent(message)
    assert len(decoy_env.requests(settle=True)) == seen


def test_explicit_credentials_ignore_decoy_environment(
    azurite: AzuriteServer, decoy_env: AzuriteServer, folder: str
) -> None:
    seen = len(decoy_env.requests(settle=True))
    methods = [
        AzureCredentials(connection_string=azurite.connection_string),
        AzureCredentials(
            account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, blob_endpoint=azurite.blob_endpoint
        ),
        AzureCredentials(
            account_name=ACCOUNT_NAME,
            sas_token=_sas(_all_permissions()),
            blob_endpoint=azurite.blob_endpoint,
        ),
    ]
    for credentials in methods:
        _round_trip(folder, credentials)
        fs = orchestore.get_dataitem(folder, credentials).store.fs  # type: ignore[attr-defined]
        values = [getattr(fs, name) for name in ("connection_string", "sas_token", "client_id")]
        assert values == [None, None, None]
        assert fs.account_name == ACCOUNT_NAME
    assert len(decoy_env.requests(settle=True)) == seen


# -- atomic writes ----------------------------------------------------------------------------
def _blob_names(azurite: AzuriteServer, container: str, prefix: str) -> list[str]:
    with BlobServiceClient.from_connection_string(azurite.connection_string) as client:
        blobs = client.get_container_client(container).list_blobs(
            name_starts_with=prefix, include=["uncommittedblobs"]
        )
        return [blob.name for blob in blobs]


def test_failed_large_write_leaves_no_blob_and_no_staged_blocks(
    azurite: AzuriteServer, key_credentials: AzureCredentials, folder: str
) -> None:
    container, prefix = parse_url(folder).bucket, parse_url(folder).path
    item = orchestore.get_dataitem(folder + "big.bin", key_credentials)
    before = len(azurite.requests(settle=True))
    with pytest.raises(RuntimeError, match="source failed"), item.open("wb") as writer:
        # more blocks than are in flight at once: the first ones surely reach the server
        writer.write(os.urandom((MAX_CONCURRENCY + 2) * UPLOAD_BLOCK))
        raise RuntimeError("source failed")
    staged = [r for r in azurite.requests(settle=True)[before:] if "blockid=" in r.path]
    assert staged, "the test must stage blocks to be meaningful"
    assert not item.exists()
    assert _blob_names(azurite, container, prefix) == []  # not even an uncommitted blob


def test_failed_large_write_keeps_the_previous_content(
    azurite: AzuriteServer, key_credentials: AzureCredentials, folder: str
) -> None:
    container, prefix = parse_url(folder).bucket, parse_url(folder).path
    item = orchestore.get_dataitem(folder + "kept.bin", key_credentials)
    item.put(b"version 1")
    with pytest.raises(RuntimeError, match="source failed"), item.open("wb") as writer:
        writer.write(os.urandom(BLOCK + 1))
        raise RuntimeError("source failed")
    assert item.get() == b"version 1"
    assert _blob_names(azurite, container, prefix) == [prefix + "kept.bin"]


def test_large_write_commits_blocks_on_close(
    key_credentials: AzureCredentials, folder: str
) -> None:
    data = os.urandom(BLOCK + 12345)
    item = orchestore.get_dataitem(folder + "large.bin", key_credentials)
    with item.open("wb") as writer:
        writer.write(data[:100])
        writer.write(data[100:])
    assert item.stat().size == len(data)
    with item.open("rb") as reader:
        reader.seek(BLOCK - 10)
        assert reader.read(20) == data[BLOCK - 10 : BLOCK + 10]
    assert item.get(offset=len(data) - 5) == data[-5:]


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def test_blocks_carry_md5s_azure_checks_and_the_writer_reports_their_composite(
    azurite: AzuriteServer, key_credentials: AzureCredentials, folder: str
) -> None:
    data = os.urandom(5 * UPLOAD_BLOCK + 777)
    item = orchestore.get_dataitem(folder + "composite.bin", key_credentials)
    before = len(azurite.requests(settle=True))
    with item.open("wb") as writer:
        for start in range(0, len(data), 3_000_000):  # writes that straddle the blocks
            writer.write(data[start : start + 3_000_000])
    during = azurite.requests(settle=True)[before:]
    slices = [data[at : at + UPLOAD_BLOCK] for at in range(0, len(data), UPLOAD_BLOCK)]
    assert writer.reported_digest == composite_md5([_md5(s) for s in slices])
    staged = [r for r in during if r.method == "PUT" and "blockid=" in r.path]
    assert len(staged) == 6 and all(r.status == 201 for r in staged)
    assert sum("comp=blocklist" in r.path for r in during) == 1
    assert item.get() == data
    assert item.stat().content_type == "application/octet-stream"


def test_azure_rejects_a_block_whose_bytes_do_not_match_its_md5(
    key_credentials: AzureCredentials, folder: str
) -> None:
    url = parse_url(folder + "rejected.bin")
    item = orchestore.get_dataitem(url, key_credentials)
    store = item.store
    assert isinstance(store, AzureStore)
    blob = store.fs.service_client.get_blob_client(url.bucket, url.path)
    body = b"the bytes that arrive" * 1000
    wrong = _md5(body + b"!")
    with pytest.raises(HttpResponseError) as caught:
        store._run(_stage_block(blob, "block-0000001", io.BytesIO(body), len(body), wrong))
    assert caught.value.status_code == 400
    with pytest.raises(ChecksumMismatchError, match="arrived changed"), store.translated(url):
        raise caught.value
    store._run(_stage_block(blob, "block-0000001", io.BytesIO(body), len(body), _md5(body)))


# -- server-side copy -------------------------------------------------------------------------
def test_copy_within_the_store_is_server_side(
    azurite: AzuriteServer, key_credentials: AzureCredentials, folder: str
) -> None:
    data = os.urandom(3 * 1024 * 1024)
    source = orchestore.get_dataitem(folder + "copy/source.bin", key_credentials)
    source.put(data)
    before = len(azurite.requests(settle=True))
    target = source.copy_to(folder + "copy/target.bin", key_credentials)
    during = azurite.requests(settle=True)[before:]
    assert target.get() == data
    source_path = f"/{ACCOUNT_NAME}/{parse_url(folder).bucket}/{source.key}"
    assert [r for r in during if r.method == "GET" and r.path.startswith(source_path)] == []
    assert any(r.method == "PUT" and target.key in r.path for r in during)  # Copy Blob


def test_copy_of_a_missing_blob_names_the_source(
    key_credentials: AzureCredentials, folder: str
) -> None:
    source = orchestore.get_dataitem(folder + "absent.bin", key_credentials)
    with pytest.raises(NotFoundError, match=r"absent\.bin"):
        source.copy_to(folder + "target.bin", key_credentials)


# -- errors -----------------------------------------------------------------------------------
def test_missing_container_is_not_found_naming_it(key_credentials: AzureCredentials) -> None:
    item = orchestore.get_dataitem("az://no-such-container/dir/x.bin", key_credentials)
    calls = [
        item.get,
        item.stat,
        lambda: item.open("rb"),
        lambda: item.put(b"x"),
        lambda: orchestore.get_dataitem("az://no-such-container/dir/", key_credentials).ls(),
    ]
    for call in calls:
        with pytest.raises(NotFoundError, match="container 'no-such-container' does not exist"):
            call()
    assert not item.exists()


def test_wrong_key_is_a_credentials_error_naming_the_source(azurite: AzuriteServer) -> None:
    wrong_key = base64.b64encode(os.urandom(64)).decode()
    credentials = AzureCredentials(
        account_name=ACCOUNT_NAME, account_key=wrong_key, blob_endpoint=azurite.blob_endpoint
    ).with_source("Vault secret kv/data/azure")
    item = orchestore.get_dataitem("az://orchestore-tests/x.bin", credentials)
    for call in (item.get, lambda: item.put(b"x")):
        with pytest.raises(CredentialsError, match="Vault secret kv/data/azure") as raised:
            call()
        assert "account_key" in str(raised.value)
        _secrets_absent(f"{raised.value} {raised.value!r}", wrong_key)


class _BadServer:
    """A TCP server on 127.0.0.1 that answers every request 503, or hangs up; counts requests."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                head = b""
                with contextlib.suppress(OSError):
                    while b"\r\n\r\n" not in head and (chunk := connection.recv(65536)):
                        head += chunk
                self.requests += 1
                with contextlib.suppress(OSError):
                    connection.sendall(self.answer)

    def credentials(self) -> AzureCredentials:
        endpoint = f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"
        return AzureCredentials(
            account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, blob_endpoint=endpoint
        )

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.sock.close()
        self._thread.join(timeout=5)


@pytest.fixture
def busy_server() -> Iterator[_BadServer]:
    server = _BadServer(
        b"HTTP/1.1 503 Server Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    yield server
    server.close()


@pytest.fixture
def hang_up_server() -> Iterator[_BadServer]:
    server = _BadServer(b"")
    yield server
    server.close()


def test_server_errors_are_unavailable_after_bounded_retries(busy_server: _BadServer) -> None:
    item = orchestore.get_dataitem("az://c/x.bin", busy_server.credentials(), retries=2)
    with pytest.raises(StoreUnavailableError, match=r"HTTP 503.*after 2 retries") as raised:
        item.get()
    assert busy_server.requests == 3  # the first attempt and two retries, then it gives up
    assert isinstance(raised.value, ConnectionError)
    _secrets_absent(str(raised.value))


def test_dropped_connections_are_unavailable(hang_up_server: _BadServer) -> None:
    item = orchestore.get_dataitem("az://c/x.bin", hang_up_server.credentials(), retries=1)
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=r"cannot reach .* after 1 retries"):
        item.stat()
    assert time.monotonic() - started < 10


def test_refused_connection_is_unavailable(hang_up_server: _BadServer) -> None:
    credentials = hang_up_server.credentials()
    hang_up_server.close()  # nothing listens on this port any more
    with pytest.raises(StoreUnavailableError, match="cannot reach"):
        orchestore.get_dataitem("az://c/x.bin", credentials, retries=0).stat()


# -- URL forms --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    [
        "abfs://{c}@devstoreaccount1.dfs.core.windows.net/{p}",
        "abfss://{c}@devstoreaccount1.dfs.core.windows.net/{p}",
        "wasbs://{c}@devstoreaccount1.blob.core.windows.net/{p}",
        "wasb://{c}@devstoreaccount1.blob.core.windows.net/{p}",
    ],
)
def test_azure_docs_url_forms_reach_the_same_blob(
    key_credentials: AzureCredentials, folder: str, template: str
) -> None:
    orchestore.get_dataitem(folder + "forms.txt", key_credentials).put(b"same blob")
    url = parse_url(folder + "forms.txt")
    pasted = template.format(c=url.bucket, p=url.path)
    item = orchestore.get_dataitem(pasted, key_credentials)
    assert item.get() == b"same blob"
    listed = orchestore.get_dataitem(pasted.rsplit("/", 1)[0] + "/", key_credentials).ls()
    assert listed == [pasted]


def test_url_account_must_match_the_credentials(key_credentials: AzureCredentials) -> None:
    url = "abfss://data@otheraccount.dfs.core.windows.net/x.csv"
    with pytest.raises(CredentialsError, match=r"'otheraccount'.*'devstoreaccount1'"):
        orchestore.get_dataitem(url, key_credentials)


def test_object_operations_need_a_key(key_credentials: AzureCredentials, folder: str) -> None:
    with pytest.raises(InvalidURLError, match="object key"):
        orchestore.get_dataitem(folder, key_credentials).open("wb")


def test_account_host_in_the_url_selects_the_endpoint() -> None:
    """Without blob_endpoint, the URL's account host (sovereign clouds too) is the endpoint;
    abfs (dfs) and wasbs (blob) URLs of one account share one store. No request is made."""
    credentials = AzureCredentials(account_name="sovereign1", account_key="a2V5")
    dfs = orchestore.get_dataitem("abfss://c@sovereign1.dfs.core.chinacloudapi.cn/x", credentials)
    blob = orchestore.get_dataitem("wasbs://c@sovereign1.blob.core.chinacloudapi.cn/x", credentials)
    assert dfs.store is blob.store
    assert dfs.store.fs.service_client.url == "https://sovereign1.blob.core.chinacloudapi.cn/"  # type: ignore[attr-defined]
    plain = orchestore.get_dataitem("az://c/x", credentials)
    assert plain.store.fs.service_client.url == "https://sovereign1.blob.core.windows.net/"  # type: ignore[attr-defined]
