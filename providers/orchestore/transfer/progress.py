"""What a transfer reports: progress while it runs, a summary when it ends.

Both are plain frozen dataclasses of numbers and redacted display URLs, so they can be logged,
pickled, put in XCom or shown in a Prefect artifact without ever carrying a secret.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ProgressCallback", "ProgressMeter", "TransferProgress", "TransferSummary"]

#: seconds between two progress callbacks (the final one is always made)
PROGRESS_INTERVAL = 0.1


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """A snapshot of a running transfer; totals are None while unknown."""

    bytes_done: int
    bytes_total: int | None
    objects_done: int
    objects_total: int | None
    elapsed: float

    @property
    def rate(self) -> float:
        """Bytes per second since the transfer started."""
        return self.bytes_done / self.elapsed if self.elapsed > 0 else 0.0


ProgressCallback = Callable[[TransferProgress], None]


@dataclass(frozen=True, slots=True)
class TransferSummary:
    """What a finished transfer did. ``objects`` were copied, ``skipped`` already matched."""

    source: str
    destination: str
    objects: int
    skipped: int
    bytes: int
    seconds: float
    checksums_verified: int
    checksum: str | None

    @property
    def mb_per_s(self) -> float:
        """Throughput in MB/s (10^6 bytes), over the whole call."""
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (for XCom, ``--json`` and Prefect artifacts)."""
        values = dataclasses.asdict(self)
        values["seconds"] = round(self.seconds, 3)
        values["mb_per_s"] = round(self.mb_per_s, 2)
        return values


class ProgressMeter:
    """Counts bytes and objects from many worker threads; reports at most every 0.1 s.

    The callback runs on whichever worker crosses the interval, never two at once; a worker
    that finds another one reporting does not wait for it.
    """

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._reporting = threading.Lock()
        self._last_report = 0.0
        self.bytes_done = 0
        self.objects_done = 0
        self.bytes_total: int | None = None
        self.objects_total: int | None = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def set_totals(self, bytes_total: int | None, objects_total: int | None) -> None:
        with self._lock:
            self.bytes_total, self.objects_total = bytes_total, objects_total
        self._maybe_report()

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self.bytes_done += count
        self._maybe_report()

    def object_done(self) -> None:
        with self._lock:
            self.objects_done += 1
        self._maybe_report()

    def snapshot(self) -> TransferProgress:
        with self._lock:
            return TransferProgress(
                self.bytes_done,
                self.bytes_total,
                self.objects_done,
                self.objects_total,
                self.elapsed,
            )

    def finish(self) -> None:
        """The final report, always made (waits for a report in progress)."""
        if self._callback is not None:
            with self._reporting:
                self._callback(self.snapshot())

    def _maybe_report(self) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        if now - self._last_report < PROGRESS_INTERVAL:
            return
        if not self._reporting.acquire(blocking=False):
            return
        try:
            if now - self._last_report >= PROGRESS_INTERVAL:
                self._last_report = now
                self._callback(self.snapshot())
        finally:
            self._reporting.release()
