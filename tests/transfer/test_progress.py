"""Progress callbacks and the summary: throttled, complete at the end, JSON-safe, no secrets."""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path

import pytest

import orchestore
from orchestore.transfer import TransferProgress, TransferSummary
from orchestore.transfer.progress import PROGRESS_INTERVAL, ProgressMeter
from tests.servers.moto_server import MotoServer, admin_credentials


def test_the_meter_reports_at_most_every_interval_and_once_at_the_end() -> None:
    seen: list[tuple[float, TransferProgress]] = []
    meter = ProgressMeter(lambda snapshot: seen.append((time.monotonic(), snapshot)))
    meter.set_totals(10_000, 1)
    deadline = time.monotonic() + 0.55
    while time.monotonic() < deadline:
        meter.add_bytes(1)
    meter.object_done()
    meter.finish()
    throttled = seen[:-1]  # the final report comes whatever the interval
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(throttled)]
    assert 4 <= len(seen) <= 9
    assert all(gap >= PROGRESS_INTERVAL * 0.99 for gap in gaps)
    final = seen[-1][1]
    assert (final.objects_done, final.objects_total, final.bytes_total) == (1, 1, 10_000)
    assert final.rate == pytest.approx(final.bytes_done / final.elapsed)


def test_a_recursive_copy_reports_growing_counts(tmp_path: Path) -> None:
    for index in range(30):
        (tmp_path / "in" / f"{index:02d}").parent.mkdir(exist_ok=True)
        (tmp_path / "in" / f"{index:02d}").write_bytes(os.urandom(100_000))
    seen: list[TransferProgress] = []
    summary = orchestore.copy(
        tmp_path / "in",
        f"memory://progress-{tmp_path.name}/",
        recursive=True,
        concurrency=4,
        progress=seen.append,
    )
    assert [p.bytes_done for p in seen] == sorted(p.bytes_done for p in seen)
    assert seen[-1].objects_done == seen[-1].objects_total == 30 == summary.objects
    assert seen[-1].bytes_done == seen[-1].bytes_total == 3_000_000 == summary.bytes


def test_the_summary_is_json_safe_and_holds_no_secret(
    tmp_path: Path, moto_server: MotoServer, moto_bucket: str
) -> None:
    credentials = admin_credentials(moto_server)
    secret = credentials.secret_access_key.get_secret_value()
    (tmp_path / "a.txt").write_text("hello")
    summary = orchestore.copy(
        tmp_path / "a.txt", f"s3://{moto_bucket}/summary/a.txt", dst_credentials=credentials
    )
    assert isinstance(summary, TransferSummary)
    text = json.dumps(summary.as_dict())
    assert secret not in text and secret not in repr(summary)
    assert json.loads(text)["destination"] == f"s3://{moto_bucket}/summary/a.txt"
    assert summary.mb_per_s > 0


def test_a_dataitem_carries_its_own_credentials(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    item = orchestore.get_dataitem(tmp_path / "a.txt")
    with pytest.raises(ValueError, match="DataItem carries its credentials"):
        orchestore.copy(item, "memory://x/a.txt", src_credentials={"token": "t"})


def test_copy_to_returns_the_target_item(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("via copy_to")
    target = orchestore.get_dataitem(tmp_path / "a.txt").copy_to(f"memory://c-{tmp_path.name}/a")
    assert target.get() == b"via copy_to"
