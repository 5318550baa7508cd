"""A copy whose stored bytes differ from the source's fails and leaves no destination object.

The corruption is real: the destination store's writer flips one byte of what it is given,
after the engine has hashed it, so the server stores (and digests) different bytes.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

import orchestore
from orchestore import ChecksumMismatchError, DataItem
from orchestore.credentials import AzureCredentials
from orchestore.stores.azure import MAX_CONCURRENCY, PUT_BLOB_LIMIT, UPLOAD_BLOCK, AzureStore
from orchestore.stores.azure_writer import AzureBlockWriter
from orchestore.stores.base import AtomicWriter
from orchestore.stores.file import FileStore
from orchestore.stores.s3 import S3Store
from orchestore.urls import StoreURL, parse_url
from tests.servers.azurite import AzuriteServer
from tests.servers.moto_server import MotoServer, admin_credentials

MiB = 1024 * 1024


class _FlippingWriter(AtomicWriter):
    """Passes everything to the real writer, except that the byte at ``at`` is inverted."""

    def __init__(self, inner: AtomicWriter, at: int) -> None:
        super().__init__(inner.url)
        self._inner, self._at, self._offset = inner, at, 0

    def _write(self, data: memoryview) -> None:
        start, self._offset = self._offset, self._offset + data.nbytes
        if start <= self._at < self._offset:
            changed = bytearray(data)
            changed[self._at - start] ^= 0xFF
            data = memoryview(changed)
        self._inner.write(data)

    def _commit(self) -> None:
        self._inner.close()
        self.reported_digest = self._inner.reported_digest  # what the server answered

    def _discard(self) -> None:
        self._inner.abort()


class FlippingS3Store(S3Store):
    """An S3 store on the real moto server whose uploads arrive with one byte flipped."""

    flip_at = 150 * MiB + 12345

    def open_writer(self, url: StoreURL) -> AtomicWriter:
        return _FlippingWriter(super().open_writer(url), self.flip_at)


class FlippingFileStore(FileStore):
    flip_at = 5

    def open_writer(self, url: StoreURL) -> AtomicWriter:
        return _FlippingWriter(super().open_writer(url), self.flip_at)


def _write_file(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    with path.open("wb") as handle:
        for _ in range(size // MiB):
            handle.write(block)
        handle.write(block[: size % MiB])


def test_a_corrupted_200_mib_copy_fails_and_leaves_nothing(
    tmp_path: Path, moto_server: MotoServer, moto_bucket: str
) -> None:
    source = tmp_path / "big.bin"
    _write_file(source, 200 * MiB + 3)
    credentials = admin_credentials(moto_server)
    url = parse_url(f"s3://{moto_bucket}/corrupt-{os.urandom(4).hex()}/big.bin")
    store = FlippingS3Store(url.with_path(""), credentials)
    try:
        with pytest.raises(ChecksumMismatchError) as caught:
            orchestore.copy(source, DataItem(url, store))
        assert caught.value.algorithm == "md5"
        assert caught.value.expected != caught.value.actual
        assert caught.value.url == url.display()
        assert not store.exists(url)
        client = moto_server.client()
        assert client.list_multipart_uploads(Bucket=moto_bucket).get("Uploads", []) == []
    finally:
        store.close()


def test_a_store_reporting_no_digest_is_re_read(tmp_path: Path) -> None:
    source = tmp_path / "small.bin"
    source.write_bytes(os.urandom(3 * MiB))
    target = tmp_path / "out" / "small.bin"
    store = FlippingFileStore(parse_url(str(tmp_path / "out")))
    with pytest.raises(ChecksumMismatchError, match="the copy was removed") as caught:
        orchestore.copy(source, DataItem(parse_url(str(target)), store))
    assert os.listdir(tmp_path / "out") == []
    assert caught.value.algorithm == "crc32"  # no digest reported: a cheap read-back check


def test_checksum_false_skips_the_verification(tmp_path: Path) -> None:
    source = tmp_path / "small.bin"
    source.write_bytes(b"x" * 100)
    target = parse_url(str(tmp_path / "out" / "small.bin"))
    summary = orchestore.copy(
        source, DataItem(target, FlippingFileStore(parse_url(str(tmp_path)))), checksum=False
    )
    assert (summary.checksums_verified, summary.checksum) == (0, None)
    assert (tmp_path / "out" / "small.bin").read_bytes() == b"x" * 5 + b"\x87" + b"x" * 94


class ReplacedMidCopyS3Store(S3Store):
    """A real S3 store whose source object is replaced (a real PUT) after its first range."""

    def read(self, url: StoreURL, offset: int = 0, size: int | None = None) -> bytes:
        data = super().read(url, offset, size)
        if offset == 0:
            self.write(url, os.urandom(self.stat(url).size))  # same size, other bytes
        return data


def test_a_source_replaced_during_a_ranged_copy_fails_and_leaves_nothing(
    tmp_path: Path, moto_server: MotoServer, moto_bucket: str
) -> None:
    credentials = admin_credentials(moto_server)
    url = parse_url(f"s3://{moto_bucket}/replaced-{os.urandom(4).hex()}/source.bin")
    store = ReplacedMidCopyS3Store(url.with_path(""), credentials)
    try:
        store.write(url, os.urandom(12 * MiB))
        target = tmp_path / "copy.bin"
        with pytest.raises(orchestore.StoreUnavailableError, match="changed while"):
            orchestore.copy(DataItem(url, store), target)
        assert not target.exists()
        assert os.listdir(tmp_path) == []
    finally:
        store.close()


def test_small_azure_blobs_are_verified_by_the_md5_azure_answers(
    azurite: AzuriteServer, azurite_container: str, tmp_path: Path
) -> None:
    credentials = AzureCredentials(
        account_name=azurite.account_name,
        account_key=azurite.account_key,
        blob_endpoint=azurite.blob_endpoint,
    )
    source = f"memory://azure-md5-{tmp_path.name}/"
    for name in ("a", "b"):
        orchestore.get_dataitem(source + name).put(os.urandom(1000))
    before = len(azurite.requests(settle=True))
    folder = f"az://{azurite_container}/md5-{os.urandom(4).hex()}/"
    summary = orchestore.copy(source, folder, dst_credentials=credentials, recursive=True)
    during = azurite.requests(settle=True)[before:]
    assert summary.checksums_verified == 2
    assert sorted(r.method for r in during if "/md5-" in r.path) == ["PUT", "PUT"]  # no re-read
    blob = orchestore.get_dataitem(folder + "a", credentials)
    assert blob.store.reported_digest(blob.store_url) is not None


class FlippingAzureStore(AzureStore):
    """An Azure store on the real Azurite whose block uploads arrive with one byte flipped."""

    def open_writer(self, url: StoreURL) -> AtomicWriter:
        return _FlippingWriter(super().open_writer(url), 5 * MiB + 7)


def test_a_corrupted_azure_block_blob_is_caught_by_its_block_md5s(
    azurite: AzuriteServer, azurite_container: str, tmp_path: Path
) -> None:
    """The writer sends each block with the MD5 of what it was given (Azure checks it) and
    reports their composite; the engine's own composite of the source differs: no read-back."""
    credentials = AzureCredentials(
        account_name=azurite.account_name,
        account_key=azurite.account_key,
        blob_endpoint=azurite.blob_endpoint,
    )
    source = tmp_path / "blocks.bin"
    _write_file(source, 19 * MiB)  # several blocks, the flipped byte in an early one
    blocks = math.ceil(19 * MiB / UPLOAD_BLOCK)
    url = parse_url(f"az://{azurite_container}/flip-{os.urandom(4).hex()}/blocks.bin")
    store = FlippingAzureStore(url.with_path(""), credentials)
    before = len(azurite.requests(settle=True))
    try:
        with pytest.raises(ChecksumMismatchError) as caught:
            orchestore.copy(source, DataItem(url, store))
        assert caught.value.algorithm == "md5"
        assert caught.value.actual is not None and caught.value.actual.endswith(f"-{blocks}")
        assert not store.exists(url)
        during = azurite.requests(settle=True)[before:]
        assert [r for r in during if "/flip-" in r.path and r.method == "GET"] == []
        assert sum(r.method == "PUT" and "blockid=" in r.path for r in during) == blocks
    finally:
        store.close()


def test_an_intact_azure_block_blob_is_verified_without_a_read_back(
    azurite: AzuriteServer, azurite_container: str, tmp_path: Path
) -> None:
    credentials = AzureCredentials(
        account_name=azurite.account_name,
        account_key=azurite.account_key,
        blob_endpoint=azurite.blob_endpoint,
    )
    source = tmp_path / "blocks.bin"
    _write_file(source, 17 * MiB + 3)
    url = f"az://{azurite_container}/intact-{os.urandom(4).hex()}/blocks.bin"
    before = len(azurite.requests(settle=True))
    summary = orchestore.copy(source, url, dst_credentials=credentials)
    during = azurite.requests(settle=True)[before:]
    assert (summary.checksums_verified, summary.checksum) == (1, "md5")
    assert [r for r in during if "/intact-" in r.path and r.method == "GET"] == []
    copied = orchestore.get_dataitem(url, credentials)
    assert copied.get() == source.read_bytes()


class _FlippingBlockWriter(AzureBlockWriter):
    """The real block writer, with one byte inverted after the engine hashed it."""

    flip_at = 9 * MiB + 7
    _offset = 0

    def _write(self, data: memoryview) -> None:
        start, self._offset = self._offset, self._offset + data.nbytes
        if start <= self.flip_at < self._offset:
            changed = bytearray(data)
            changed[self.flip_at - start] ^= 0xFF
            data = memoryview(changed)
        super()._write(data)


class FlippingBlocksAzureStore(AzureStore):
    def open_writer(self, url: StoreURL) -> AtomicWriter:
        return _FlippingBlockWriter(
            url,
            self,
            block_size=UPLOAD_BLOCK,
            parallel=MAX_CONCURRENCY,
            put_blob_limit=PUT_BLOB_LIMIT,
            content_settings={"content_type": "application/octet-stream"},
        )


def test_azure_checks_each_block_against_the_md5_of_the_source_bytes(
    azurite: AzuriteServer, azurite_container: str, tmp_path: Path
) -> None:
    """The block writer takes the engine's per-block MD5s of the source (one MD5 pass), so a
    byte changed on its way through the writer is refused by Azure itself."""
    credentials = AzureCredentials(
        account_name=azurite.account_name,
        account_key=azurite.account_key,
        blob_endpoint=azurite.blob_endpoint,
    )
    source = tmp_path / "blocks.bin"
    _write_file(source, 19 * MiB)  # three blocks, the flipped byte in the second
    url = parse_url(f"az://{azurite_container}/inside-{os.urandom(4).hex()}/blocks.bin")
    store = FlippingBlocksAzureStore(url.with_path(""), credentials)
    before = len(azurite.requests(settle=True))
    try:
        with pytest.raises(ChecksumMismatchError, match="arrived changed") as caught:
            orchestore.copy(source, DataItem(url, store))
        assert caught.value.algorithm == "md5"
        assert not store.exists(url)
        during = [r for r in azurite.requests(settle=True)[before:] if "/inside-" in r.path]
        assert any(r.status == 400 and "blockid=" in r.path for r in during)
        assert not any("comp=blocklist" in r.path for r in during)  # never committed
    finally:
        store.close()
