"""What every writable store must do: atomic writes, appends, listing, deletes, DataFrames."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pandas as pd
import pytest

from orchestore import InvalidURLError, NotFoundError, UnsupportedOperationError
from tests.contract.conftest import StoreCase

BIG = os.urandom(3 * 1024 * 1024 + 17)  # larger than any single buffer on the way


@pytest.mark.parametrize(
    "data", [b"bytes", bytearray(b"bytearray"), memoryview(b"memoryview"), "str ü"]
)
def test_put_accepts_buffers_and_text(writable: StoreCase, data: object) -> None:
    item = writable.item("put.bin")
    item.put(data)
    expected = data.encode() if isinstance(data, str) else bytes(data)
    assert item.get() == expected


@pytest.mark.parametrize("data", [123, ["a"], None, {"k": "v"}])
def test_put_rejects_other_types_naming_them(writable: StoreCase, data: object) -> None:
    item = writable.item("typed.bin")
    with pytest.raises(TypeError, match=type(data).__name__):
        item.put(data)  # type: ignore[arg-type]
    assert not item.exists()


def test_put_replaces_and_big_objects_round_trip(writable: StoreCase) -> None:
    item = writable.item("deep/er/big.bin")
    item.put(b"first version, longer than the second")
    item.put(BIG)
    assert item.get() == BIG
    assert item.stat().size == len(BIG)


def test_append_creates_then_appends(appendable: StoreCase) -> None:
    item = appendable.item("log.txt")
    item.put("one\n", append=True)
    item.put(b"two\n", append=True)
    assert item.get() == b"one\ntwo\n"


def test_failed_streaming_write_leaves_previous_content(writable: StoreCase) -> None:
    item = writable.item("atomic.bin")
    item.put(b"version 1")
    with pytest.raises(RuntimeError, match="source failed"), item.open("wb") as writer:
        writer.write(b"half of version 2")
        raise RuntimeError("source failed")
    assert item.get() == b"version 1"
    with pytest.raises(RuntimeError, match="text source failed"), item.open("w") as text:
        text.write("partial text")
        raise RuntimeError("text source failed")
    assert item.get() == b"version 1"
    assert [entry.name for entry in writable.folder().ls(detail=True)] == ["atomic.bin"]


def test_abandoned_writer_commits_nothing(writable: StoreCase) -> None:
    item = writable.item("abandoned.bin")
    writer = item.open("wb")
    writer.write(b"never closed")
    del writer
    gc.collect()
    assert not item.exists()


def test_streaming_write_commits_on_close(writable: StoreCase) -> None:
    item = writable.item("streamed.txt")
    with item.open("w") as text:
        text.write("line 1\n")
        text.write("line 2\n")
    assert item.get() == b"line 1\nline 2\n"


def test_upload_and_download_round_trip(writable: StoreCase, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(BIG)
    item = writable.item("uploaded.bin")
    item.upload(source)
    assert item.get(offset=5, size=10) == BIG[5:15]
    item.download(tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == BIG


def test_ls_and_listdir_show_direct_children(writable: StoreCase) -> None:
    for name in ("b.csv", "a.txt", "sub/c.bin", "sub/deeper/d.bin"):
        writable.item(name).put(name)
    folder = writable.folder()
    assert folder.listdir() == ["a.txt", "b.csv", "sub/"]
    urls = folder.ls()
    assert urls[0].endswith("a.txt") and urls[1].endswith("b.csv")
    details = {entry.name: entry for entry in folder.ls(detail=True)}
    assert details["a.txt"].size == len("a.txt") and not details["a.txt"].is_dir
    assert details["sub/"].is_dir
    assert writable.item("sub/").listdir() == ["c.bin", "deeper/"]


def test_ls_of_missing_folder_is_not_found(writable: StoreCase) -> None:
    with pytest.raises(NotFoundError):
        writable.item("nowhere/").ls()


def test_delete_object_and_folders(writable: StoreCase) -> None:
    item = writable.item("gone.bin")
    item.put(b"x")
    item.delete()
    assert not item.exists()
    with pytest.raises(NotFoundError):
        item.delete()
    item.delete(missing_ok=True)
    writable.item("tree/a.bin").put(b"a")
    writable.item("tree/b/c.bin").put(b"c")
    with pytest.raises(UnsupportedOperationError, match="recursive"):
        writable.item("tree/").delete()
    writable.item("tree/").delete(recursive=True)
    assert not writable.item("tree/a.bin").exists()
    assert not writable.item("tree/b/c.bin").exists()


def test_object_operations_need_a_key(writable: StoreCase) -> None:
    with pytest.raises(InvalidURLError, match="object key"):
        writable.folder().put(b"x")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json", ".ndjson"])
def test_write_df_then_as_df(writable: StoreCase, suffix: str) -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "ç"], "score": [0.5, 1.25, -3.0]})
    item = writable.item(f"frames/table{suffix}")
    item.write_df(frame)
    pd.testing.assert_frame_equal(item.as_df(), frame)


def test_write_df_failure_leaves_nothing(writable: StoreCase) -> None:
    item = writable.item("broken.parquet")
    frame = pd.DataFrame({"mixed": [1, "two", 3.0]})  # pyarrow cannot type this column
    with pytest.raises(Exception, match=r"(?i)conversion|convert|type"):
        item.write_df(frame)
    assert not item.exists()


def test_copy_to_within_the_store_and_to_memory(writable: StoreCase) -> None:
    source = writable.item("copy/source.bin")
    source.put(BIG)
    copied = source.copy_to(writable.folder_url + "copy/target.bin")
    assert copied.get() == BIG
    assert source.get(size=10) == BIG[:10]
    elsewhere = source.copy_to("memory://copies/from-" + writable.id)
    assert elsewhere.get() == BIG
