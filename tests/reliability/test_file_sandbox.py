"""Issue 11, item 11: a file store with a root refuses every way out of it.

``..`` in plain and encoded forms, absolute paths, file:// URLs, a sibling folder whose name
starts with the root's name, symlinks (to a folder or a file) pointing outside, dangling ones:
every operation (get, put, open, stat, ls, delete, local, upload, download, copy) is refused or
stays inside the root, and a canary file outside keeps its hash and its folder its listing.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import orchestore
from orchestore import InvalidURLError, OrchestoreError, PermissionDeniedError

CANARY = b"the canary outside the root must never change\n"


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, Path]:
    """``tmp/data`` is the root; ``tmp/data-evil`` (a sibling prefix) and ``tmp/outside`` hold
    canaries; symlinks inside the root point at them."""
    root = tmp_path / "data"
    root.mkdir()
    for name in ("outside", "data-evil"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "canary.txt").write_bytes(CANARY)
    (root / "inside.txt").write_bytes(b"inside")
    (root / "to-outside").symlink_to(tmp_path / "outside")
    (root / "canary-link.txt").symlink_to(tmp_path / "outside" / "canary.txt")
    (root / "dangling.txt").symlink_to(tmp_path / "outside" / "not-yet.txt")
    (root / "sub").mkdir()
    (root / "sub" / "up").symlink_to("../..")
    return tmp_path, root


ESCAPES = [
    "../outside/canary.txt",
    "../outside/new.txt",
    "../data-evil/canary.txt",
    "../data-evil/new.txt",
    "sub/../../outside/canary.txt",
    "./../outside/canary.txt",
    "sub/./../../outside/canary.txt",
    "../../../../../../../../etc/passwd",
    "{tmp}/outside/canary.txt",
    "{tmp}/data-evil/new.txt",
    "file://{tmp}/outside/canary.txt",
    "file://{tmp}/data/../outside/canary.txt",
    "file://{tmp}/data-evil/canary.txt",
    "to-outside/canary.txt",
    "to-outside/new.txt",
    "canary-link.txt",
    "dangling.txt",
    "sub/up/outside/canary.txt",
    "sub/up/data-evil/new.txt",
    "..",
    "../",
    "/",
    "{tmp}",
]
#: encodings of ".." that must either be refused or stay literal names inside the root
ENCODED = [
    "%2e%2e/outside/canary.txt",
    "%2E%2E%2Foutside%2Fcanary.txt",
    "%252e%252e/outside/canary.txt",
    "..%2foutside%2fcanary.txt",
    "..%5coutside%5ccanary.txt",
    "..\\outside\\canary.txt",
    "\uff0e\uff0e/outside/canary.txt",
    "..\u2215outside\u2215canary.txt",
    "sub/..%00/x.txt",
]


def _read_all(item: orchestore.DataItem) -> bytes:
    with item.open("rb") as reader:
        return reader.read()


def _write_all(item: orchestore.DataItem) -> None:
    with item.open("wb") as writer:
        writer.write(b"written")


def _operations(item: orchestore.DataItem, scratch: Path) -> list[Callable[[], object]]:
    (scratch / "upload.txt").write_bytes(b"uploaded")
    return [
        item.get,
        lambda: item.put(b"overwritten"),
        lambda: item.put(b"appended", append=True),
        lambda: _read_all(item),
        lambda: _write_all(item),
        item.stat,
        item.ls,
        item.delete,
        lambda: item.delete(recursive=True),
        item.local,
        lambda: item.upload(scratch / "upload.txt"),
        lambda: item.download(scratch / "download.txt"),
        lambda: orchestore.copy(str(scratch / "upload.txt"), item),
        lambda: orchestore.copy(item, str(scratch / "copied.txt")),
    ]


def _snapshot(tmp: Path) -> dict[str, str]:
    """sha256 of every file outside the root (the canaries and anything new)."""
    found = {}
    for folder in ("outside", "data-evil"):
        for path in sorted((tmp / folder).iterdir()):
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.mark.parametrize("path", ESCAPES)
def test_every_way_out_is_refused(
    sandbox: tuple[Path, Path], path: str, tmp_path_factory: pytest.TempPathFactory, tally: Counter
) -> None:
    tmp, root = sandbox
    before = _snapshot(tmp)
    scratch = tmp_path_factory.mktemp("scratch")
    item = orchestore.get_dataitem(path.format(tmp=tmp), root=str(root))
    for operation in _operations(item, scratch):
        tally["bad inputs tried"] += 1
        # refused by the sandbox; a folder URL may be refused earlier as "not an object"
        with pytest.raises((PermissionDeniedError, InvalidURLError)):
            operation()
        tally["bad inputs refused"] += 1
    assert _snapshot(tmp) == before
    assert (root / "inside.txt").read_bytes() == b"inside"


@pytest.mark.parametrize("path", ENCODED)
def test_encoded_dots_stay_inside_or_are_refused(
    sandbox: tuple[Path, Path], path: str, tmp_path_factory: pytest.TempPathFactory, tally: Counter
) -> None:
    tmp, root = sandbox
    before = _snapshot(tmp)
    scratch = tmp_path_factory.mktemp("scratch")
    try:
        item = orchestore.get_dataitem(path, root=str(root))
    except OrchestoreError:
        tally["bad inputs tried"] += 1
        tally["bad inputs refused"] += 1
        return
    for operation in _operations(item, scratch):
        tally["bad inputs tried"] += 1
        try:
            operation()
        except OrchestoreError:
            tally["bad inputs refused"] += 1  # refused, or a typed error about a literal name
        else:
            tally["bad inputs refused"] += 1  # served as a literal name inside the root
            local = item.store.local_path(item.store_url)
            assert local is not None and Path(local).resolve().is_relative_to(root)
    assert _snapshot(tmp) == before
    for dirpath, _, files in os.walk(tmp):  # nothing was written anywhere but the root/scratch
        if files and not Path(dirpath).is_relative_to(root):
            assert Path(dirpath).name in ("outside", "data-evil") or "scratch" in dirpath


def test_deleting_the_root_itself_is_refused(sandbox: tuple[Path, Path]) -> None:
    _, root = sandbox
    for path in ("", ".", "sub/..", str(root)):
        with pytest.raises(PermissionDeniedError):
            orchestore.get_dataitem(path or ".", root=str(root)).delete(recursive=True)
    assert (root / "inside.txt").exists()


def test_inside_paths_and_inside_symlinks_still_work(sandbox: tuple[Path, Path]) -> None:
    _, root = sandbox
    (root / "sub" / "file.txt").write_bytes(b"in sub")
    (root / "inner-link.txt").symlink_to(root / "sub" / "file.txt")
    assert orchestore.get_dataitem("inner-link.txt", root=str(root)).get() == b"in sub"
    assert orchestore.get_dataitem("sub/../inside.txt", root=str(root)).get() == b"inside"
    orchestore.get_dataitem("new/deeper.txt", root=str(root)).put(b"made")
    assert (root / "new" / "deeper.txt").read_bytes() == b"made"
