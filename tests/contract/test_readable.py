"""What every store must do with data it did not write itself: read, stat, stream, convert."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime

import pandas as pd
import pytest

import orchestore
from orchestore import NotFoundError
from tests.contract.conftest import StoreCase

PAYLOAD = bytes(range(256)) * 41 + b"tail"  # 10,500 bytes, every byte value


def _seeded(case: StoreCase, name: str, data: bytes = PAYLOAD) -> orchestore.DataItem:
    case.seed(case.folder_url + name, data)
    return case.item(name)


def test_get_reads_everything(readable: StoreCase) -> None:
    assert _seeded(readable, "blob.bin").get() == PAYLOAD


@pytest.mark.parametrize(
    ("offset", "size", "expected"),
    [
        (0, 10, PAYLOAD[:10]),
        (100, 50, PAYLOAD[100:150]),
        (10_000, None, PAYLOAD[10_000:]),
        (10_000, 0, PAYLOAD[10_000:]),  # size=0 reads to the end, as in MLRun
        (len(PAYLOAD) - 3, 100, PAYLOAD[-3:]),  # a size past the end is clamped
        (len(PAYLOAD), None, b""),
        (len(PAYLOAD) + 10, 5, b""),
    ],
)
def test_get_with_offset_and_size(
    readable: StoreCase, offset: int, size: int | None, expected: bytes
) -> None:
    assert _seeded(readable, "ranges.bin").get(offset=offset, size=size) == expected


def test_get_rejects_negative_ranges(readable: StoreCase) -> None:
    item = _seeded(readable, "neg.bin")
    with pytest.raises(ValueError, match="offset"):
        item.get(offset=-1)
    with pytest.raises(ValueError, match="size"):
        item.get(size=-5)


def test_missing_object_is_not_found(readable: StoreCase) -> None:
    item = readable.item("missing.bin")
    assert not item.exists()
    for call in (item.get, item.stat, lambda: item.open("rb").read()):
        with pytest.raises(NotFoundError) as raised:
            call()
        assert isinstance(raised.value, FileNotFoundError)
        assert "missing.bin" in str(raised.value)


def test_stat_reports_size_time_and_type(readable: StoreCase) -> None:
    item = _seeded(readable, "table.csv", b"a,b\n1,2\n")
    stat = item.stat()
    assert stat.size == 8
    assert not stat.is_dir
    assert stat.content_type == "text/csv"
    assert stat.modified is not None
    assert abs((datetime.now(UTC) - stat.modified).total_seconds()) < 120
    assert item.exists()


def test_open_streams_and_seeks(readable: StoreCase) -> None:
    with _seeded(readable, "stream.bin").open("rb") as reader:
        assert reader.read(4) == PAYLOAD[:4]
        assert reader.tell() == 4
        reader.seek(1000)
        assert reader.read(10) == PAYLOAD[1000:1010]
        reader.seek(-4, io.SEEK_END)
        assert reader.read() == b"tail"
        reader.seek(0)
        assert reader.read() == PAYLOAD


def test_open_text_mode(readable: StoreCase) -> None:
    with _seeded(readable, "notes.txt", "zürich\nline two\n".encode()).open("r") as reader:
        assert reader.readlines() == ["zürich\n", "line two\n"]


def test_open_rejects_unknown_mode(readable: StoreCase) -> None:
    with pytest.raises(ValueError, match="mode"):
        _seeded(readable, "mode.bin").open("a+")


def test_download_writes_a_complete_local_file(
    readable: StoreCase, tmp_path: os.PathLike[str]
) -> None:
    target = os.path.join(tmp_path, "out", "copy.bin")
    _seeded(readable, "download.bin").download(target)
    with open(target, "rb") as copied:
        assert copied.read() == PAYLOAD
    assert os.listdir(os.path.dirname(target)) == ["copy.bin"]  # no temp file left behind


def test_local_gives_a_readable_path_cleaned_up_on_close(readable: StoreCase) -> None:
    item = _seeded(readable, "local.bin")
    with item:
        path = item.local()
        with open(path, "rb") as local:
            assert local.read() == PAYLOAD
    if item.store.local_path(item.store_url) is None:  # a temp copy, not the file itself
        assert not os.path.exists(path)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"city": ["Zürich", "Lyon", "Oslo"], "rain_mm": [1.5, 0.0, 12.25], "n": [1, 2, 3]}
    )


def _encoded(fmt: str) -> bytes:
    frame = _frame()
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps(frame.to_dict(orient="records")).encode()
    return "\n".join(json.dumps(row) for row in frame.to_dict(orient="records")).encode()


@pytest.mark.parametrize(
    ("suffix", "fmt"),
    [(".csv", "csv"), (".parquet", "parquet"), (".json", "json"), (".ndjson", "ndjson")],
)
def test_as_df_by_suffix(readable: StoreCase, suffix: str, fmt: str) -> None:
    frame = _seeded(readable, f"frame{suffix}", _encoded(fmt)).as_df()
    pd.testing.assert_frame_equal(frame, _frame())


def test_as_df_with_explicit_format(readable: StoreCase) -> None:
    frame = _seeded(readable, "frame.data", _encoded("csv")).as_df(format="csv", usecols=["city"])
    assert frame["city"].tolist() == ["Zürich", "Lyon", "Oslo"]


def test_as_df_unknown_suffix_names_it(readable: StoreCase) -> None:
    item = _seeded(readable, "frame.xyz", b"?")
    with pytest.raises(orchestore.UnsupportedOperationError, match=r"\.xyz"):
        item.as_df()
    with pytest.raises(ValueError, match="excel"):
        item.as_df(format="excel")


def test_url_and_repr_name_the_item(readable: StoreCase) -> None:
    item = readable.item("named.csv")
    assert item.url.endswith("named.csv")
    assert repr(item) == f"DataItem({item.url!r})"
    assert item.suffix == ".csv"
