"""Azure reads through obstore (stores/azure_transport.py) against a real Azurite: ranges, the
end of a blob, streamed reads that seek, every credential kind obstore takes, and that the
AZURE_* environment never reaches it (in a fresh process full of decoys)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

import orchestore
from orchestore.credentials import AzureCredentials
from orchestore.errors import CredentialsError, NotFoundError
from orchestore.stores.azure import AzureStore
from orchestore.stores.azure_transport import STREAM_CHUNK, ObstoreBlobs
from orchestore.urls import parse_url
from tests.servers.azurite import ACCOUNT_KEY, ACCOUNT_NAME, AzuriteServer

DATA = os.urandom(2 * STREAM_CHUNK + 12345)  # more than one streamed chunk


@pytest.fixture
def key_credentials(azurite: AzuriteServer) -> AzureCredentials:
    return AzureCredentials(
        account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, blob_endpoint=azurite.blob_endpoint
    )


@pytest.fixture
def blob_url(azurite_container: str, key_credentials: AzureCredentials) -> str:
    url = f"az://{azurite_container}/transport-{os.urandom(5).hex()}/data.bin"
    orchestore.get_dataitem(url, key_credentials).put(DATA)
    return url


def _store(url: str, credentials: AzureCredentials) -> AzureStore:
    store = orchestore.get_dataitem(url, credentials).store
    assert isinstance(store, AzureStore)
    assert store.blobs is not None  # the reads below go through obstore
    return store


def test_ranged_whole_and_past_the_end_reads(blob_url: str, key_credentials: AzureCredentials):
    store, url = _store(blob_url, key_credentials), parse_url(blob_url)
    assert store.read(url) == DATA
    assert store.read(url, 5, 100) == DATA[5:105]
    assert store.read(url, len(DATA) - 10) == DATA[-10:]
    assert store.read(url, len(DATA) - 10, 100) == DATA[-10:]
    assert store.read(url, len(DATA)) == b""
    assert store.read(url, len(DATA) + 5, 10) == b""
    assert store.read(url, 0, 0) == b""


def test_a_streamed_reader_reads_seeks_and_reads_on(
    blob_url: str, key_credentials: AzureCredentials
) -> None:
    with orchestore.get_dataitem(blob_url, key_credentials).open("rb") as reader:
        assert reader.read(10) == DATA[:10]
        reader.seek(STREAM_CHUNK + 7)
        assert reader.read(100) == DATA[STREAM_CHUNK + 7 : STREAM_CHUNK + 107]
        reader.seek(-5, os.SEEK_END)
        assert reader.read() == DATA[-5:]
        reader.seek(3)
        assert reader.read() == DATA[3:]


def test_names_object_store_refuses_are_read_through_the_sdk(
    azurite_container: str, key_credentials: AzureCredentials
) -> None:
    """Azure allows empty segments; object_store does not parse them ("." and ".." segments
    are refused too, but the SDK cannot write those names either: HTTP normalises them)."""
    url = f"az://{azurite_container}/transport-{os.urandom(5).hex()}/odd//double.bin"
    item = orchestore.get_dataitem(url, key_credentials)
    item.put(DATA[:1000])
    assert item.get() == DATA[:1000]
    assert item.store.read(parse_url(url), 10, 5) == DATA[10:15]
    with item.open("rb") as reader:
        assert reader.read() == DATA[:1000]


def test_missing_blobs_and_containers_are_named(
    azurite_container: str, key_credentials: AzureCredentials
) -> None:
    missing = f"az://{azurite_container}/transport-{os.urandom(5).hex()}/none.bin"
    with pytest.raises(NotFoundError):
        orchestore.get_dataitem(missing, key_credentials).get()
    with pytest.raises(NotFoundError):
        orchestore.get_dataitem(missing, key_credentials).open("rb")
    no_container = f"az://nocontainer{os.urandom(3).hex()}/x.bin"
    with pytest.raises(NotFoundError, match="container"):
        orchestore.get_dataitem(no_container, key_credentials).get()


def test_a_wrong_key_is_refused_as_credentials(blob_url: str, azurite: AzuriteServer) -> None:
    wrong = AzureCredentials(
        account_name=ACCOUNT_NAME,
        account_key="d3Jvbmcta2V5LXdyb25nLWtleQ==",
        blob_endpoint=azurite.blob_endpoint,
    )
    with pytest.raises(CredentialsError) as raised:
        orchestore.get_dataitem(blob_url, wrong).get()
    assert "d3Jvbmcta2V5" not in str(raised.value)


def test_sas_and_connection_strings_read_through_obstore(
    blob_url: str, azurite: AzuriteServer
) -> None:
    sas = generate_account_sas(
        ACCOUNT_NAME,
        ACCOUNT_KEY,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    kinds = [
        AzureCredentials(
            account_name=ACCOUNT_NAME, sas_token=sas, blob_endpoint=azurite.blob_endpoint
        ),
        AzureCredentials(connection_string=azurite.connection_string),
        AzureCredentials(
            connection_string=f"BlobEndpoint={azurite.blob_endpoint};SharedAccessSignature={sas}"
        ),
    ]
    for credentials in kinds:
        store, url = _store(blob_url, credentials), parse_url(blob_url)
        assert store.read(url, 1, 10) == DATA[1:11]


def test_ambient_identity_stays_on_the_sdk() -> None:
    credentials = AzureCredentials(account_name="sptestaccount", use_ambient_identity=True)
    store = AzureStore(parse_url("az://c/"), credentials)
    assert store.blobs is None


def test_the_provider_hides_its_secret() -> None:
    credentials = AzureCredentials(
        account_name="sptestaccount", tenant_id="t", client_id="c", client_secret="s3cr3t-value"
    )
    blobs = ObstoreBlobs.for_credentials(
        credentials,
        "sptestaccount",
        "https://sptestaccount.blob.core.windows.net",
        AzureStore.retry_policy,  # type: ignore[arg-type]
    )
    assert blobs is not None
    assert "s3cr3t-value" not in repr(blobs._provider)


def test_a_service_principal_gives_obstore_expiring_bearer_tokens() -> None:
    """No Azure AD here: the provider's answer is checked with azure-identity's token type."""
    from azure.core.credentials import AccessToken

    credentials = AzureCredentials(
        account_name="sptestaccount", tenant_id="t", client_id="c", client_secret="s3cr3t-value"
    )
    blobs = ObstoreBlobs.for_credentials(
        credentials,
        "sptestaccount",
        "https://sptestaccount.blob.core.windows.net",
        AzureStore.retry_policy,  # type: ignore[arg-type]
    )
    assert blobs is not None
    provider = blobs._provider
    asked: list[tuple[str, ...]] = []

    class _Issuer:
        def get_token(self, *scopes: str) -> AccessToken:
            asked.append(scopes)
            return AccessToken("bearer-token", 1_900_000_000)

    provider._credential = _Issuer()
    answer = provider()
    assert answer == {
        "token": "bearer-token",
        "expires_at": datetime.fromtimestamp(1_900_000_000, UTC),
    }
    assert asked == [("https://storage.azure.com/.default",)]


_DECOY_CHILD = """
import json, sys
import orchestore
from orchestore.credentials import AzureCredentials
args = json.loads(sys.argv[1])
item = orchestore.get_dataitem(args["url"], AzureCredentials(**args["credentials"]))
assert item.store.blobs is not None
print(item.store.read(orchestore.urls.parse_url(args["url"]), 3, 20).hex())
"""


def test_obstore_reads_no_azure_environment(
    blob_url: str, azurite: AzuriteServer, decoy_azurite: AzuriteServer
) -> None:
    """A fresh process whose every AZURE_* variable object_store reads points at a decoy (or
    would change how it signs): the read still goes to the configured Azurite, with its key."""
    decoys = {
        "AZURE_STORAGE_ACCOUNT_NAME": "decoyaccount",
        "AZURE_STORAGE_ACCOUNT_KEY": "ZGVjb3lkZWNveWRlY295ZGVjb3k=",
        "AZURE_STORAGE_ACCESS_KEY": "ZGVjb3lkZWNveWRlY295ZGVjb3k=",
        "AZURE_STORAGE_MASTER_KEY": "ZGVjb3lkZWNveWRlY295ZGVjb3k=",
        "AZURE_STORAGE_SAS_KEY": "sv=2021&sig=decoy",
        "AZURE_STORAGE_SAS_TOKEN": "sv=2021&sig=decoy",
        "AZURE_STORAGE_TOKEN": "decoy-token",
        "AZURE_STORAGE_ENDPOINT": decoy_azurite.blob_endpoint,
        "AZURE_ENDPOINT": decoy_azurite.blob_endpoint,
        "AZURE_STORAGE_USE_EMULATOR": "true",
        "AZURITE_BLOB_STORAGE_URL": decoy_azurite.blob_endpoint,
        "AZURE_SKIP_SIGNATURE": "true",
        "AZURE_USE_FABRIC_ENDPOINT": "true",
        "AZURE_CLIENT_ID": "decoy",
        "AZURE_CLIENT_SECRET": "decoy",
        "AZURE_TENANT_ID": "decoy",
        "AZURE_FEDERATED_TOKEN_FILE": "/nonexistent/token",
        "AZURE_USE_AZURE_CLI": "true",
        "AZURE_CONTAINER_NAME": "decoycontainer",
        "AZURE_MSI_ENDPOINT": "http://127.0.0.1:9/msi",
    }
    credentials = {
        "account_name": ACCOUNT_NAME,
        "account_key": ACCOUNT_KEY,
        "blob_endpoint": azurite.blob_endpoint,
    }
    seen = len(decoy_azurite.requests(settle=True))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _DECOY_CHILD,
            json.dumps({"url": blob_url, "credentials": credentials}),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **decoys},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == DATA[3:23].hex()
    assert len(decoy_azurite.requests(settle=True)) == seen


_FORKING = """
import json, os, sys
import orchestore
from orchestore.credentials import AzureCredentials
from orchestore.urls import parse_url
args = json.loads(sys.argv[1])
item = orchestore.get_dataitem(args["url"], AzureCredentials(**args["credentials"]))
store, url = item.store, parse_url(args["url"])
assert store.blobs is not None and store.read(url, 0, 4) == bytes.fromhex(args["head"])
pid = os.fork()
if pid == 0:  # the child: obstore's runtime is gone, the SDK reads
    code = 1
    try:
        ok = store.blobs is None and store.read(url, 0, 4) == bytes.fromhex(args["head"])
        with item.open("rb") as reader:
            ok = ok and reader.read(4) == bytes.fromhex(args["head"])
        code = 0 if ok else 2
    finally:
        os._exit(code)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert store.blobs is not None and store.read(url, 0, 4) == bytes.fromhex(args["head"])
print("ok")
"""


def test_a_forked_child_reads_through_the_sdk_instead_of_hanging(
    blob_url: str, azurite: AzuriteServer
) -> None:
    """obstore's runtime does not survive fork: a child of a process that used it reads
    through the SDK; the parent keeps obstore."""
    credentials = {
        "account_name": ACCOUNT_NAME,
        "account_key": ACCOUNT_KEY,
        "blob_endpoint": azurite.blob_endpoint,
    }
    args = {"url": blob_url, "credentials": credentials, "head": DATA[:4].hex()}
    done = subprocess.run(
        [sys.executable, "-c", _FORKING, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
