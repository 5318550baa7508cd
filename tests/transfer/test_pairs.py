"""Every pair of a representative set of stores: the copy holds the source's exact bytes."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

import orchestore
from tests.contract.conftest import StoreCase
from tests.transfer.conftest import sha256

SOURCES = ["file", "memory", "s3", "az", "gs", "v3io", "http"]
TARGETS = ["file", "memory", "s3", "az", "gs", "v3io"]
#: crosses the engine's 8 MiB chunks; small enough for 42 pairs in a few seconds
SIZE = 9 * 1024 * 1024 + 7
DATA = os.urandom(SIZE)


@pytest.mark.parametrize("target_id", TARGETS)
@pytest.mark.parametrize("source_id", SOURCES)
def test_copy_between_stores_keeps_every_byte(
    store_case: Callable[[str], StoreCase], source_id: str, target_id: str
) -> None:
    source, target = store_case(source_id), store_case(target_id)
    source.seed(source.folder_url + "in/data.bin", DATA)
    seen: list[orchestore.TransferProgress] = []

    summary = orchestore.copy(
        source.folder_url + "in/data.bin",
        target.folder_url + "out/",
        src_credentials=source.credentials,
        dst_credentials=target.credentials,
        progress=seen.append,
    )

    copied = target.item("out/data.bin")
    assert sha256(copied.get()) == sha256(DATA)
    assert (summary.objects, summary.skipped, summary.bytes) == (1, 0, SIZE)
    if source_id != target_id or source_id in ("memory", "v3io"):  # streamed: verified
        # GCS's CRC32C, an MD5 where the destination reports one, else a CRC-32 of a read-back
        algorithm = {"gs": "crc32c", "s3": "md5", "az": "md5"}.get(target_id, "crc32")
        algorithms = (summary.checksum or "").split("+")
        assert (summary.checksums_verified, algorithms[0]) == (1, algorithm)
        # and the bytes read are checked against the source's own digest when it reports one
        # (GCS's CRC32C, else a plain MD5)
        if source_id == "gs":
            assert "crc32c" in algorithms, summary.checksum
        elif _plain_md5_of(source.item("in/data.bin")) is not None:
            assert "md5" in algorithms, summary.checksum
    assert seen[-1].bytes_done == seen[-1].bytes_total == SIZE
    assert seen[-1].objects_done == seen[-1].objects_total == 1
    assert summary.destination == target.folder_url + "out/"


def _plain_md5_of(item: orchestore.DataItem) -> str | None:
    reported = item.store.reported_digest(item.store_url)
    return None if reported is None or "-" in reported else reported


@pytest.mark.parametrize("target_id", TARGETS)
def test_an_empty_object_is_copied_and_verified(
    store_case: Callable[[str], StoreCase], target_id: str, tmp_path: os.PathLike[str]
) -> None:
    source = os.path.join(tmp_path, "empty.bin")
    with open(source, "wb"):
        pass
    target = store_case(target_id)
    summary = orchestore.copy(source, target.folder_url, dst_credentials=target.credentials)
    assert target.item("empty.bin").get() == b""
    verified = 0 if target_id == "file" else 1  # file to file: a kernel copy, not streamed
    assert (summary.objects, summary.bytes, summary.checksums_verified) == (1, 0, verified)
