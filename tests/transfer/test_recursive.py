"""Folder copies: relative paths kept, a bounded pool of workers, sync and overwrite=False."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import orchestore
from orchestore import AlreadyExistsError, DataItem
from orchestore.stores.file import FileStore
from orchestore.urls import StoreURL, parse_url
from tests.servers.moto_server import MotoServer, RecordedRequest, admin_credentials

NAMES = [f"part-{index:02d}.bin" for index in range(12)] + ["sub/a.txt", "sub/deeper/b.txt"]


class ObservedFileStore(FileStore):
    """A real file store that counts the source objects being read at once.

    The first two reads wait for each other (a barrier): the copy only gets past them if two
    objects really are in flight together.
    """

    def __init__(self, endpoint: StoreURL) -> None:
        super().__init__(endpoint)
        self.lock = threading.Lock()
        self.reading_now = self.most_reading = 0
        self.barrier = threading.Barrier(2, timeout=10)

    def read(self, url: StoreURL, offset: int = 0, size: int | None = None) -> bytes:
        with self.lock:
            self.reading_now += 1
            self.most_reading = max(self.most_reading, self.reading_now)
        try:
            if not self.barrier.broken:
                self.barrier.wait()
            return super().read(url, offset, size)
        finally:
            with self.lock:
                self.reading_now -= 1


def _tree(root: Path) -> dict[str, bytes]:
    content = {name: os.urandom(1000 + index) for index, name in enumerate(NAMES)}
    for name, data in content.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return content


def _object_puts(requests: list[RecordedRequest], prefix: str) -> list[str]:
    return sorted(
        r.path.split(prefix, 1)[1]
        for r in requests
        if r.method == "PUT" and prefix in r.path and not r.header("x-amz-copy-source")
    )


@pytest.fixture
def s3_folder(moto_server: MotoServer, moto_bucket: str) -> str:
    return f"s3://{moto_bucket}/recursive-{os.urandom(4).hex()}/"


def test_recursive_copy_uses_a_bounded_pool(
    tmp_path: Path, moto_server: MotoServer, s3_folder: str
) -> None:
    content = _tree(tmp_path / "tree")
    source_store = ObservedFileStore(parse_url(str(tmp_path)))
    source = DataItem(parse_url(str(tmp_path / "tree")), source_store)
    credentials = admin_credentials(moto_server)

    summary = orchestore.copy(
        source, s3_folder, dst_credentials=credentials, recursive=True, concurrency=3
    )

    assert 2 <= source_store.most_reading <= 3
    assert (summary.objects, summary.skipped) == (len(NAMES), 0)
    assert summary.bytes == sum(map(len, content.values()))
    assert summary.checksums_verified == len(NAMES)
    for name, data in content.items():
        assert orchestore.get_dataitem(s3_folder + name, credentials).get() == data


def test_sync_copies_only_what_changed(
    tmp_path: Path, moto_server: MotoServer, s3_folder: str
) -> None:
    root = tmp_path / "tree"
    content = _tree(root)
    credentials = admin_credentials(moto_server)
    orchestore.copy(root, s3_folder, dst_credentials=credentials, recursive=True)

    (root / "part-03.bin").write_bytes(os.urandom(10))  # another size
    same_size = bytearray(content["sub/a.txt"])
    same_size[0] ^= 1
    (root / "sub" / "a.txt").write_bytes(same_size)  # same size, other bytes
    (root / "new.bin").write_bytes(b"new")
    prefix = parse_url(s3_folder).path
    with moto_server.recording() as requests:
        summary = orchestore.copy(
            root, s3_folder, dst_credentials=credentials, recursive=True, sync=True
        )
    assert _object_puts(requests, prefix) == ["new.bin", "part-03.bin", "sub/a.txt"]
    assert (summary.objects, summary.skipped) == (3, len(NAMES) - 2)

    with moto_server.recording() as again:
        summary = orchestore.copy(
            root, s3_folder, dst_credentials=credentials, recursive=True, sync=True
        )
    assert _object_puts(again, prefix) == []
    assert (summary.objects, summary.skipped, summary.bytes) == (0, len(NAMES) + 1, 0)


def test_sync_between_two_object_stores_compares_their_digests(
    moto_server: MotoServer, s3_folder: str, tmp_path: Path
) -> None:
    credentials = admin_credentials(moto_server)
    for name in ("a", "b/c"):
        orchestore.get_dataitem(f"memory://sync-{tmp_path.name}/{name}").put(name * 100)
    source = f"memory://sync-{tmp_path.name}/"
    orchestore.copy(source, s3_folder, dst_credentials=credentials, recursive=True)
    orchestore.get_dataitem(source + "a").put("A" * 100)
    summary = orchestore.copy(
        source, s3_folder, dst_credentials=credentials, recursive=True, sync=True
    )
    assert (summary.objects, summary.skipped) == (1, 1)
    assert orchestore.get_dataitem(s3_folder + "a", credentials).get() == b"A" * 100


def test_overwrite_false_refuses_before_copying_anything(
    tmp_path: Path, moto_server: MotoServer, s3_folder: str
) -> None:
    root = tmp_path / "tree"
    _tree(root)
    credentials = admin_credentials(moto_server)
    orchestore.get_dataitem(s3_folder + "sub/a.txt", credentials).put(b"already here")
    prefix = parse_url(s3_folder).path
    with moto_server.recording() as requests, pytest.raises(AlreadyExistsError, match=r"a\.txt"):
        orchestore.copy(
            root, s3_folder, dst_credentials=credentials, recursive=True, overwrite=False
        )
    assert _object_puts(requests, prefix) == []
    assert orchestore.get_dataitem(s3_folder + "sub/a.txt", credentials).get() == b"already here"

    single = orchestore.get_dataitem(s3_folder + "sub/a.txt", credentials)
    with pytest.raises(AlreadyExistsError):
        orchestore.copy(root / "sub" / "a.txt", single, overwrite=False)
    with pytest.raises(FileExistsError):  # also the builtin's meaning
        orchestore.copy(root / "sub" / "a.txt", single, overwrite=False)


def test_overwrite_false_with_sync_skips_what_matches(
    tmp_path: Path, moto_server: MotoServer, s3_folder: str
) -> None:
    root = tmp_path / "tree"
    _tree(root)
    credentials = admin_credentials(moto_server)
    orchestore.copy(root, s3_folder, dst_credentials=credentials, recursive=True)
    (root / "extra.bin").write_bytes(b"extra")
    summary = orchestore.copy(
        root, s3_folder, dst_credentials=credentials, recursive=True, sync=True, overwrite=False
    )
    assert (summary.objects, summary.skipped) == (1, len(NAMES))
    (root / "extra.bin").write_bytes(b"EXTRA")
    with pytest.raises(AlreadyExistsError, match="differs"):
        orchestore.copy(
            root,
            s3_folder,
            dst_credentials=credentials,
            recursive=True,
            sync=True,
            overwrite=False,
        )


def test_a_folder_without_recursive_is_refused(tmp_path: Path) -> None:
    _tree(tmp_path / "tree")
    with pytest.raises(orchestore.InvalidURLError, match="recursive=True"):
        orchestore.copy(tmp_path / "tree", "memory://nowhere/")


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        orchestore.copy(tmp_path, "memory://x/", concurrency=0)
    with pytest.raises(orchestore.NotFoundError):
        orchestore.copy(tmp_path / "absent.bin", "memory://x/")
    with pytest.raises(orchestore.NotFoundError):
        orchestore.copy(tmp_path / "absent", "memory://x/", recursive=True)
