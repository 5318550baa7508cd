"""The file store's own promises: the root sandbox and atomic writes on a real file system."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

import orchestore
from orchestore import InvalidURLError, NotFoundError, PermissionDeniedError
from orchestore.stores.file import WRITE_PIECE, WRITEBACK_BYTES


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "root").mkdir()
    (tmp_path / "outside.txt").write_text("secret outside the sandbox")
    return tmp_path / "root"


@pytest.mark.parametrize(
    "url", ["../outside.txt", "a/../../outside.txt", "file:///etc/hostname", "/etc/hostname"]
)
def test_root_rejects_paths_outside(root: Path, url: str) -> None:
    item = orchestore.get_dataitem(url, root=root)
    for call in (item.get, item.stat, lambda: item.put(b"x"), item.delete, item.ls):
        with pytest.raises(PermissionDeniedError, match="outside the store's root"):
            call()


def test_root_rejects_symlinks_that_leave_it(root: Path) -> None:
    (root / "escape").symlink_to(root.parent)
    item = orchestore.get_dataitem("escape/outside.txt", root=root)
    with pytest.raises(PermissionDeniedError):
        item.get()
    with pytest.raises(PermissionDeniedError):
        orchestore.get_dataitem("escape/new.txt", root=root).put(b"x")
    assert not (root.parent / "new.txt").exists()


def test_root_allows_inside_and_relative(root: Path) -> None:
    orchestore.get_dataitem("sub/data.txt", root=root).put("inside")
    assert (root / "sub" / "data.txt").read_text() == "inside"
    assert orchestore.get_dataitem(f"file://{root}/sub/data.txt", root=root).get() == b"inside"
    (root / "link").symlink_to(root / "sub")
    assert orchestore.get_dataitem("link/data.txt", root=root).get() == b"inside"
    with pytest.raises(PermissionDeniedError, match="root"):
        orchestore.get_dataitem(str(root), root=root).delete(recursive=True)


def test_write_is_atomic_and_leaves_no_temp_file(tmp_path: Path) -> None:
    item = orchestore.get_dataitem(tmp_path / "out.bin")
    item.put(b"v1")
    writer = item.open("wb")
    writer.write(b"v2 in progress")
    temp_files = [p.name for p in tmp_path.iterdir() if p.name != "out.bin"]
    assert len(temp_files) == 1 and temp_files[0].startswith(".out.bin.")
    assert (tmp_path / "out.bin").read_bytes() == b"v1"  # not visible before close
    assert orchestore.get_dataitem(tmp_path).listdir() == ["out.bin"]  # temp files are hidden
    writer.close()
    assert (tmp_path / "out.bin").read_bytes() == b"v2 in progress"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


@pytest.mark.parametrize("fails", [False, True], ids=["committed", "aborted"])
def test_large_writes_are_written_back_while_they_arrive(tmp_path: Path, fails: bool) -> None:
    """Helper threads write back every WRITEBACK_BYTES; the file is whole (or absent) after."""
    chunk = os.urandom(4 * 1024 * 1024)
    chunks = 3 * WRITEBACK_BYTES // len(chunk) + 1
    item = orchestore.get_dataitem(tmp_path / "big.bin")
    started: list[threading.Thread] = []
    writer = item.open("wb")
    for _ in range(chunks):
        writer.write(chunk)
        helper = writer._writeback  # type: ignore[attr-defined]
        if helper is not None and helper not in started:
            started.append(helper)
    assert started, "a write-back must have started to make the test meaningful"
    if fails:
        writer.abort()
        assert list(tmp_path.iterdir()) == []
    else:
        writer.close()
        assert (tmp_path / "big.bin").stat().st_size == chunks * len(chunk)
        with open(tmp_path / "big.bin", "rb") as written:
            assert all(written.read(len(chunk)) == chunk for _ in range(chunks))
        assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]
    assert not any(t.is_alive() for t in started)  # joined before the descriptor closed


def test_writes_and_appends_larger_than_one_write_call_arrive_whole(tmp_path: Path) -> None:
    first, more = os.urandom(3 * WRITE_PIECE + 5), os.urandom(2 * WRITE_PIECE + 1)
    item = orchestore.get_dataitem(tmp_path / "pieces.bin")
    item.put(first)
    item.put(more, append=True)
    assert (tmp_path / "pieces.bin").read_bytes() == first + more


def test_written_files_get_normal_permissions(tmp_path: Path) -> None:
    orchestore.get_dataitem(tmp_path / "perm.txt").put("x")
    mode = stat.S_IMODE(os.stat(tmp_path / "perm.txt").st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_folder_and_file_confusions_are_typed(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InvalidURLError, match="folder"):
        orchestore.get_dataitem(tmp_path / "dir").get()
    with pytest.raises(InvalidURLError, match="folder"):
        orchestore.get_dataitem(tmp_path / "dir").put(b"x")
    with pytest.raises(InvalidURLError, match="folder is expected"):
        orchestore.get_dataitem(tmp_path / "file.txt").ls()
    with pytest.raises(NotFoundError):
        orchestore.get_dataitem(tmp_path / "nope").ls()


def test_local_is_the_file_itself(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a\n1\n")
    assert orchestore.get_dataitem(f"file://{tmp_path}/x.csv").local() == str(tmp_path / "x.csv")
