"""GCSChunkWriter (stores/gcs_upload.py) against the GCS emulator: objects of every shape of
chunking come back byte for byte, with the content type of their name and the server's MD5."""

from __future__ import annotations

import hashlib
import os

import pytest

import orchestore
from orchestore.credentials import GCSCredentials
from orchestore.stores.gcs import GCSStore
from orchestore.stores.gcs_upload import GCSChunkWriter
from orchestore.urls import parse_url
from tests.servers.gcs_emulator import create_bucket

SMALL_CHUNK = 256 * 1024


@pytest.fixture
def bucket(gcs_emulator: str) -> str:
    name = f"upload-{os.urandom(4).hex()}"
    create_bucket(gcs_emulator, name)
    return name


@pytest.fixture
def store(gcs_emulator: str) -> GCSStore:
    return GCSStore(
        parse_url("gs://any"), GCSCredentials(anonymous=True, endpoint_url=gcs_emulator)
    )


@pytest.mark.parametrize("overlap", [False, True])
@pytest.mark.parametrize(
    "size",
    [0, 10, SMALL_CHUNK, SMALL_CHUNK + 1, 3 * SMALL_CHUNK, 3 * SMALL_CHUNK + 12345],
)
def test_every_chunking_round_trips(store: GCSStore, bucket: str, size: int, overlap: bool):
    data = os.urandom(size)
    url = parse_url(f"gs://{bucket}/shapes/{size}-{overlap}.csv")
    writer = GCSChunkWriter(
        url, store, content_type="text/csv", chunk_size=SMALL_CHUNK, overlap=overlap
    )
    with writer:
        for start in range(0, size, 100_000):  # writes that straddle chunk boundaries
            writer.write(data[start : start + 100_000])
    assert store.read(url) == data
    assert store.stat(url).content_type == "text/csv"
    assert writer.reported_digest == hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_an_aborted_chunked_write_leaves_no_object(store: GCSStore, bucket: str) -> None:
    url = parse_url(f"gs://{bucket}/aborted.bin")
    writer = GCSChunkWriter(url, store, content_type=None, chunk_size=SMALL_CHUNK)
    writer.write(os.urandom(2 * SMALL_CHUNK + 5))  # two chunks went to the session
    writer.abort()
    assert not store.exists(url)


def test_a_missing_bucket_is_named(store: GCSStore) -> None:
    url = parse_url(f"gs://nobucket-{os.urandom(3).hex()}/x.bin")
    writer = GCSChunkWriter(url, store, content_type=None, chunk_size=SMALL_CHUNK)
    with pytest.raises(orchestore.NotFoundError, match="bucket"), writer:
        writer.write(os.urandom(SMALL_CHUNK + 1))


def test_chunks_must_fit_gcs_granularity(store: GCSStore) -> None:
    with pytest.raises(ValueError, match="256 KiB"):
        GCSChunkWriter(parse_url("gs://b/x"), store, content_type=None, chunk_size=1000)


def test_a_chunk_reset_mid_way_is_sent_again(gcs_emulator: str, bucket: str) -> None:
    """A connection reset inside a chunk's POST: the chunk is sent again from its buffer and
    the object comes out exact (the reliability suite's uploads fit in one request)."""
    from urllib.parse import urlsplit

    from orchestore import RetryPolicy
    from tests.reliability.fault_proxy import FaultProxy, Reset

    port = urlsplit(gcs_emulator).port
    assert port is not None
    proxy = FaultProxy("127.0.0.1", port).start()
    try:
        credentials = GCSCredentials(anonymous=True, endpoint_url=proxy.url)
        retry = RetryPolicy(attempts=3, backoff=0.05)
        store = GCSStore(parse_url("gs://any"), credentials, retry=retry)
        data = os.urandom(3 * SMALL_CHUNK + 999)
        url = parse_url(f"gs://{bucket}/reset.bin")
        # the emulator closes each connection after one answer: a chunk is its own connection
        proxy.inject(Reset(after=100_000, direction="up"), Reset(after=100_000, direction="up"))
        with GCSChunkWriter(url, store, content_type=None, chunk_size=SMALL_CHUNK) as writer:
            writer.write(data)
        assert proxy.faults_fired == 2
        assert store.read(url) == data
    finally:
        proxy.stop()
