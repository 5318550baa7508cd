"""The engine verifies with the cheapest digests the two stores allow, and asks no more.

GCS reports a CRC32C of every object: copies to or from it are checked with one (no MD5).
A source's digest comes from its listing (no HEAD per object); an ETag that only looks like an
MD5 (SSE-KMS) is confirmed with the store before it fails a copy.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

import orchestore
from orchestore import ChecksumMismatchError, DataItem
from orchestore.credentials import GCSCredentials
from orchestore.stores.base import AtomicWriter, FileStat
from orchestore.stores.file import FileStore
from orchestore.stores.gcs import GCSStore
from orchestore.urls import StoreURL, parse_url
from tests.servers.gcs_emulator import create_bucket
from tests.servers.moto_server import MotoServer, admin_credentials
from tests.transfer.test_checksums import _FlippingWriter

MiB = 1024 * 1024
DATA = os.urandom(5 * MiB + 11)


class FlippingGCSStore(GCSStore):
    """A GCS store on the real emulator whose uploads arrive with one byte flipped."""

    def open_writer(self, url: StoreURL) -> AtomicWriter:
        return _FlippingWriter(super().open_writer(url), 4 * MiB + 1)


def _gcs_bucket(gcs_emulator: str) -> tuple[str, GCSCredentials]:
    bucket = f"digests-{os.urandom(4).hex()}"
    create_bucket(gcs_emulator, bucket)
    return bucket, GCSCredentials(anonymous=True, endpoint_url=gcs_emulator)


def test_a_copy_to_gcs_is_verified_by_its_crc32c(tmp_path: Path, gcs_emulator: str) -> None:
    bucket, credentials = _gcs_bucket(gcs_emulator)
    source = tmp_path / "data.bin"
    source.write_bytes(DATA)
    summary = orchestore.copy(source, f"gs://{bucket}/in/", dst_credentials=credentials)
    assert (summary.checksums_verified, summary.checksum) == (1, "crc32c")
    assert orchestore.get_dataitem(f"gs://{bucket}/in/data.bin", credentials).get() == DATA


def test_a_corrupted_copy_to_gcs_fails_on_its_crc32c_and_leaves_nothing(
    tmp_path: Path, gcs_emulator: str
) -> None:
    bucket, credentials = _gcs_bucket(gcs_emulator)
    source = tmp_path / "data.bin"
    source.write_bytes(DATA)
    url = parse_url(f"gs://{bucket}/bad/data.bin")
    store = FlippingGCSStore(url.with_path(""), credentials)
    try:
        with pytest.raises(ChecksumMismatchError, match="the copy was removed") as caught:
            orchestore.copy(source, DataItem(url, store))
        assert caught.value.algorithm == "crc32c"
        assert caught.value.expected != caught.value.actual
        assert not store.exists(url)
    finally:
        store.close()


def test_a_copy_from_gcs_checks_the_source_crc32c_from_its_stat(
    tmp_path: Path, gcs_emulator: str
) -> None:
    bucket, credentials = _gcs_bucket(gcs_emulator)
    orchestore.get_dataitem(f"gs://{bucket}/out/data.bin", credentials).put(DATA)
    stat = orchestore.get_dataitem(f"gs://{bucket}/out/data.bin", credentials).stat()
    assert stat.crc32c is not None and len(stat.crc32c) == 8
    assert stat.md5 is not None and len(stat.md5) == 32
    summary = orchestore.copy(
        f"gs://{bucket}/out/data.bin", str(tmp_path / "copy.bin"), src_credentials=credentials
    )
    # the file store reports nothing: a CRC-32 read-back; the bytes read match GCS's CRC32C
    assert (summary.checksums_verified, summary.checksum) == (1, "crc32+crc32c")
    assert (tmp_path / "copy.bin").read_bytes() == DATA


def test_a_prefix_copy_from_s3_sends_no_head_per_object(
    tmp_path: Path, moto_server: MotoServer, moto_bucket: str
) -> None:
    credentials = admin_credentials(moto_server)
    prefix = f"s3://{moto_bucket}/no-head-{os.urandom(4).hex()}/"
    for index in range(12):
        orchestore.get_dataitem(f"{prefix}d{index % 3}/o{index}.bin", credentials).put(
            os.urandom(1000 + index)
        )
    with moto_server.recording() as requests:
        summary = orchestore.copy(
            prefix, str(tmp_path) + "/", src_credentials=credentials, recursive=True
        )
    assert (summary.objects, summary.checksums_verified) == (12, 12)
    assert summary.checksum == "crc32+md5"  # the listing's ETags checked every object read
    assert [r.method for r in requests if r.method == "HEAD"] == []
    # one GET per object (the rest list the prefix)
    assert sum(r.method == "GET" and r.path.endswith(".bin") for r in requests) == 12


class _MisleadingFileStore(FileStore):
    """A file store whose stat shows an ETag that looks like an MD5 but is not one (as
    SSE-KMS ETags do); ``reported_digest`` answers ``confirmed``."""

    confirmed: str | None = None

    def stat(self, url: StoreURL) -> FileStat:
        return dataclasses.replace(super().stat(url), etag='"' + "ab" * 16 + '"')

    def reported_digest(self, url: StoreURL) -> str | None:
        return self.confirmed


@pytest.mark.parametrize("confirmed", [None, "ab" * 16])
def test_an_etag_that_looks_like_an_md5_fails_a_copy_only_when_the_store_confirms_it(
    tmp_path: Path, confirmed: str | None
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "data.bin").write_bytes(b"payload")
    store = _MisleadingFileStore(parse_url(str(tmp_path / "src")))
    store.confirmed = confirmed
    source = DataItem(parse_url(str(tmp_path / "src" / "data.bin")), store)
    target = tmp_path / "dst" / "data.bin"
    if confirmed is None:  # not a digest after all: the copy stands, checked by a read-back
        summary = orchestore.copy(
            source, DataItem(parse_url(str(target)), FileStore(parse_url(str(tmp_path))))
        )
        assert (summary.checksums_verified, summary.checksum) == (1, "crc32")
        assert target.read_bytes() == b"payload"
        return
    with pytest.raises(ChecksumMismatchError, match="the source reports") as caught:
        orchestore.copy(
            source, DataItem(parse_url(str(target)), FileStore(parse_url(str(tmp_path))))
        )
    assert caught.value.algorithm == "md5"
    assert not target.exists()


def test_a_second_sync_of_a_prefix_compares_the_listings_only(
    moto_server: MotoServer, moto_bucket: str, gcs_emulator: str
) -> None:
    bucket, gcs = _gcs_bucket(gcs_emulator)
    credentials = admin_credentials(moto_server)
    prefix = f"s3://{moto_bucket}/sync-{os.urandom(4).hex()}/"
    for index in range(4):
        orchestore.get_dataitem(f"{prefix}o{index}.bin", credentials).put(os.urandom(2000))
    options = {"src_credentials": credentials, "dst_credentials": gcs, "recursive": True}
    first = orchestore.copy(prefix, f"gs://{bucket}/copy/", sync=True, **options)
    assert (first.objects, first.skipped) == (4, 0)
    with moto_server.recording() as requests:
        again = orchestore.copy(prefix, f"gs://{bucket}/copy/", sync=True, **options)
    assert (again.objects, again.skipped) == (0, 4)
    # S3's ETags (plain MD5s) equal GCS's listed md5Hash: no HEAD, no read of an object
    assert [r for r in requests if r.method == "HEAD" or r.path.endswith(".bin")] == []
