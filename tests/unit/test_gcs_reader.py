"""GCSStreamReader (stores/gcs_reader.py) against the GCS emulator: a streamed read that seeks,
stops at the end, and never mixes two versions of an object overwritten while it is read."""

from __future__ import annotations

import io
import os

import pytest

import orchestore
from orchestore.credentials import GCSCredentials
from orchestore.stores.gcs_reader import GCSStreamReader
from tests.servers.gcs_emulator import create_bucket

DATA = os.urandom(3 * 1024 * 1024 + 4321)


@pytest.fixture
def item(gcs_emulator: str) -> orchestore.DataItem:
    bucket = f"reader-{os.urandom(4).hex()}"
    create_bucket(gcs_emulator, bucket)
    credentials = GCSCredentials(anonymous=True, endpoint_url=gcs_emulator)
    item = orchestore.get_dataitem(f"gs://{bucket}/data.bin", credentials)
    item.put(DATA)
    return item


def test_a_streamed_read_seeks_and_ends(item: orchestore.DataItem) -> None:
    with item.open("rb") as reader:
        assert isinstance(reader, io.BufferedReader)
        assert isinstance(reader.raw, GCSStreamReader)
        assert reader.read(10) == DATA[:10]
        reader.seek(2 * 1024 * 1024 + 3)
        assert reader.read(100) == DATA[2 * 1024 * 1024 + 3 : 2 * 1024 * 1024 + 103]
        reader.seek(-7, os.SEEK_END)
        assert reader.read() == DATA[-7:]
        assert reader.read(10) == b""
        reader.seek(5)
        assert reader.read() == DATA[5:]


def test_an_overwritten_object_is_not_mixed_in(item: orchestore.DataItem) -> None:
    with item.open("rb") as reader:
        assert reader.read(1000) == DATA[:1000]
        # another size (gcp-storage-emulator ignores the generation a GET asks for, which
        # GCS itself refuses once overwritten; the reader checks the size it is sent)
        item.put(os.urandom(len(DATA) + 1))
        reader.seek(2 * 1024 * 1024)  # past the buffer: a new GET, of the opened generation
        with pytest.raises(orchestore.OrchestoreError, match="changed"):
            reader.read(100)
