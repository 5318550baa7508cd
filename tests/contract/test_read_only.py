"""What a read-only store must refuse, loudly and without touching the data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from orchestore import ReadOnlyStoreError, UnsupportedOperationError
from tests.contract.conftest import StoreCase


def test_every_write_raises_read_only(read_only: StoreCase, tmp_path: Path) -> None:
    read_only.seed(read_only.folder_url + "kept.bin", b"original")
    item = read_only.item("kept.bin")
    local = tmp_path / "local.bin"
    local.write_bytes(b"new")
    writes = [
        lambda: item.put(b"new"),
        lambda: item.put(b"more", append=True),
        lambda: item.open("wb"),
        lambda: item.open("w"),
        lambda: item.delete(),
        lambda: item.upload(local),
        lambda: item.write_df(pd.DataFrame({"a": [1]}), format="csv"),
    ]
    for write in writes:
        with pytest.raises(ReadOnlyStoreError, match="read-only"):
            write()
    assert item.get() == b"original"


def test_read_only_is_an_unsupported_operation(read_only: StoreCase) -> None:
    with pytest.raises(UnsupportedOperationError):
        read_only.item("x.bin").put(b"x")


def test_listing_unsupported_is_typed(unlistable: StoreCase) -> None:
    with pytest.raises(UnsupportedOperationError, match="listing"):
        unlistable.folder().ls()
    with pytest.raises(UnsupportedOperationError, match="listing"):
        unlistable.folder().listdir()
