"""Issue 11, items 1 and 6: a source that fails mid-write never leaves a partial object.

For every writable store (file, memory, s3 on moto, az on Azurite, gs on the GCS emulator, v3io
on its test server): the call raises, the destination is absent or keeps its previous content
byte for byte (sha256), no S3 multipart upload stays open, no uncommitted Azure blob becomes
visible, no temp file is left beside a file. fsspec's own ``with fs.open(p, "wb")`` commits
whatever was written when the block raises; ours must not.
"""

from __future__ import annotations

import io
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import orchestore
from tests.contract.conftest import StoreCase
from tests.reliability.conftest import FAST, leftovers, sha256
from tests.reliability.fault_proxy import Cut, FaultProxy
from tests.servers.http_server import HttpFileServer

KiB, MiB = 1024, 1024 * 1024
V1 = os.urandom(300 * KiB + 11)


class SourceFailed(Exception):
    """What the failing source raises: the test's own exception, not a store's."""


class FailingReader(io.RawIOBase):
    """A readable that yields ``fail_after`` bytes of ``total``, then raises."""

    def __init__(self, total: int, fail_after: int) -> None:
        super().__init__()
        self._data = os.urandom(min(total, fail_after))
        self._position, self._fail_after = 0, fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._position >= self._fail_after:
            raise SourceFailed(f"the source failed after {self._position} bytes")
        count = min(len(buffer), self._fail_after - self._position)
        buffer[:count] = self._data[self._position : self._position + count]
        self._position += count
        return count


def _assert_intact(
    case: StoreCase, request: pytest.FixtureRequest, key: str, before: bytes | None, tally: Counter
) -> None:
    item = case.item(key)
    tally["objects checked"] += 1
    lost = item.exists() if before is None else sha256(item.get()) != sha256(before)
    tally["objects lost"] += int(lost)
    assert not lost, f"{item.url}: the failed write changed the destination"
    assert leftovers(case, request, key) == []


@pytest.mark.parametrize("fail_after", [5 * KiB, 17 * MiB], ids=["5KiB", "past-one-part"])
@pytest.mark.parametrize("existing", [True, False], ids=["over-v1", "fresh"])
def test_source_raising_mid_write_leaves_nothing(
    writable: StoreCase,
    request: pytest.FixtureRequest,
    fail_after: int,
    existing: bool,
    tally: Counter,
) -> None:
    """17 MiB is past the 16 MiB part/block size: a multipart upload, staged Azure blocks or a
    resumable GCS session exist when the source fails."""
    key = f"failing-{fail_after}-{existing}.bin"
    item = writable.item(key)
    if existing:
        item.put(V1)
    tally["faults injected"] += 1
    with pytest.raises(SourceFailed), item.open("wb") as writer:
        shutil.copyfileobj(FailingReader(4 * fail_after, fail_after), writer, 1 * MiB)
    _assert_intact(writable, request, key, V1 if existing else None, tally)
    tally["faults failed cleanly"] += 1


def test_abandoned_text_and_binary_writers_commit_nothing(
    writable: StoreCase, request: pytest.FixtureRequest, tally: Counter
) -> None:
    item = writable.item("abandoned.bin")
    item.put(V1)
    tally["faults injected"] += 2
    writer = item.open("wb")
    writer.write(b"v2, never closed")
    del writer  # dropped unclosed: an abandoned writer is discarded, never committed
    with pytest.raises(SourceFailed), item.open("w") as text:
        text.write("v2 as text")
        raise SourceFailed("the text source failed")
    _assert_intact(writable, request, "abandoned.bin", V1, tally)
    tally["faults failed cleanly"] += 2


SOURCE = os.urandom(4 * MiB)


@pytest.fixture
def cut_source(http_server: HttpFileServer, http_root: Path) -> Iterator[tuple[str, FaultProxy]]:
    """A 4 MiB file (4 declared chunks of 1 MiB) behind a proxy that cuts every response at 1.5."""
    (http_root / "declared-4-chunks.bin").write_bytes(SOURCE)
    with FaultProxy("127.0.0.1", http_server.port) as proxy:
        proxy.always(Cut(after=MiB + MiB // 2))
        yield f"{proxy.url}/declared-4-chunks.bin", proxy


def _http_source(url: str, attempts: int) -> orchestore.DataItem:
    credentials = orchestore.HttpCredentials(allowed_hosts=["127.0.0.1"])
    return orchestore.get_dataitem(
        url, credentials, retry=FAST.model_copy(update={"attempts": attempts})
    )


def test_copy_from_a_stream_ending_at_one_and_a_half_of_four_chunks(
    writable: StoreCase,
    request: pytest.FixtureRequest,
    cut_source: tuple[str, FaultProxy],
    tally: Counter,
) -> None:
    """Without retries the short stream is an error, and the destination keeps v1."""
    url, proxy = cut_source
    target = writable.item("short-source.bin")
    target.put(V1)
    tally["faults injected"] += 1
    with pytest.raises(orchestore.StoreUnavailableError, match=r"truncated|ended early"):
        orchestore.copy(_http_source(url, attempts=1), target)
    assert proxy.faults_fired == 1
    _assert_intact(writable, request, "short-source.bin", V1, tally)
    tally["faults failed cleanly"] += 1


def test_a_cut_stream_resumes_where_it_stopped(
    cut_source: tuple[str, FaultProxy], tally: Counter
) -> None:
    """With retries, each cut response resumes with a ranged GET: 3 responses, exact bytes."""
    url, proxy = cut_source
    target = orchestore.get_dataitem(f"memory://reliability-{os.urandom(4).hex()}/resumed.bin")
    orchestore.copy(_http_source(url, attempts=3), target)
    assert sha256(target.get()) == sha256(SOURCE)
    assert proxy.faults_fired == 2 and proxy.count("GET", "declared-4-chunks") <= 3
    tally["faults injected"] += 2
    tally["faults survived"] += 2
