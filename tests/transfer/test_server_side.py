"""Within one store the server copies: its request log shows no GET of the object's bytes."""

from __future__ import annotations

import os

import orchestore
from orchestore.credentials import AzureCredentials, GCSCredentials
from tests.servers.azurite import AzuriteServer
from tests.servers.gcs_emulator import RecordingProxy, create_bucket, seed_object, wait_for
from tests.servers.moto_server import MotoServer, admin_credentials

DATA = os.urandom(3 * 1024 * 1024 + 1)


def test_s3_copy_is_copy_object(moto_server: MotoServer, moto_bucket: str) -> None:
    credentials = admin_credentials(moto_server)
    prefix = f"s3://{moto_bucket}/server-side-{os.urandom(4).hex()}/"
    orchestore.get_dataitem(prefix + "a.bin", credentials).put(DATA)
    with moto_server.recording() as requests:
        summary = orchestore.copy(prefix + "a.bin", prefix + "b.bin", src_credentials=credentials)
    key = prefix.removeprefix(f"s3://{moto_bucket}/") + "a.bin"
    assert [r for r in requests if r.method == "GET" and r.path.endswith(key)] == []
    assert [r.method for r in requests if r.header("x-amz-copy-source")] == ["PUT"]
    assert sum(len(r.body) for r in requests) < 64 * 1024
    assert orchestore.get_dataitem(prefix + "b.bin", credentials).get() == DATA
    # CopyObject keeps a single-part object's MD5 ETag: the two digests are compared
    assert (summary.objects, summary.bytes, summary.checksums_verified) == (1, len(DATA), 1)


def test_s3_recursive_copy_within_a_bucket_stays_on_the_server(
    moto_server: MotoServer, moto_bucket: str
) -> None:
    credentials = admin_credentials(moto_server)
    prefix = f"s3://{moto_bucket}/server-side-{os.urandom(4).hex()}/"
    for name in ("a", "b/c", "b/d/e"):
        orchestore.get_dataitem(f"{prefix}in/{name}", credentials).put(name.encode())
    with moto_server.recording() as requests:
        summary = orchestore.copy(
            prefix + "in/", prefix + "out/", src_credentials=credentials, recursive=True
        )
    copies = [r for r in requests if r.header("x-amz-copy-source")]
    assert len(copies) == summary.objects == 3
    assert not [r for r in requests if r.method == "GET" and "/in/" in r.path]
    assert orchestore.get_dataitem(prefix + "out/b/d/e", credentials).get() == b"b/d/e"


def test_azure_copy_is_copy_blob_from_url(azurite: AzuriteServer, azurite_container: str) -> None:
    credentials = AzureCredentials(
        account_name=azurite.account_name,
        account_key=azurite.account_key,
        blob_endpoint=azurite.blob_endpoint,
    )
    folder = f"az://{azurite_container}/server-side-{os.urandom(4).hex()}/"
    orchestore.get_dataitem(folder + "a.bin", credentials).put(DATA)
    before = len(azurite.requests(settle=True))
    orchestore.copy(folder + "a.bin", folder + "b.bin", src_credentials=credentials)
    during = azurite.requests(settle=True)[before:]
    assert not [r for r in during if r.method == "GET" and r.path.endswith("/a.bin")]
    assert any(r.method == "PUT" and r.path.endswith("/b.bin") for r in during)
    assert orchestore.get_dataitem(folder + "b.bin", credentials).get() == DATA


def test_gcs_copy_is_a_rewrite(gcs_emulator: str, gcs_proxy: RecordingProxy) -> None:
    bucket = f"transfer-{os.urandom(4).hex()}"
    create_bucket(gcs_emulator, bucket)
    seed_object(gcs_emulator, bucket, "a.bin", DATA)
    credentials = GCSCredentials(anonymous=True, endpoint_url=gcs_proxy.endpoint_url)
    gcs_proxy.clear()
    orchestore.copy(f"gs://{bucket}/a.bin", f"gs://{bucket}/b.bin", src_credentials=credentials)

    def requests() -> list:  # connections opened and closed unused carry no request
        return [e for e in gcs_proxy.exchanges if e.method]

    assert wait_for(lambda: all(e.status is not None for e in requests()))
    exchanges = requests()
    assert any("/rewriteTo/" in e.target for e in exchanges)
    assert not [e for e in exchanges if "alt=media" in e.target]
    assert sum(e.sent + e.received for e in exchanges) < 64 * 1024  # no object bytes moved
    copied = orchestore.get_dataitem(f"gs://{bucket}/b.bin", credentials)
    assert copied.get() == DATA


def test_file_copy_within_the_file_store_leaves_only_the_target(tmp_path: os.PathLike[str]) -> None:
    source = os.path.join(tmp_path, "a.bin")
    with open(source, "wb") as handle:
        handle.write(DATA)
    summary = orchestore.copy(source, os.path.join(tmp_path, "deep", "b.bin"))
    with open(os.path.join(tmp_path, "deep", "b.bin"), "rb") as handle:
        assert handle.read() == DATA
    assert summary.bytes == len(DATA)
    assert [name for name in os.listdir(os.path.join(tmp_path, "deep"))] == ["b.bin"]
