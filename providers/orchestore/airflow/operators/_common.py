"""What every orchestore operator shares: a URL plus a connection id becomes a DataItem, and a
transfer's progress becomes a task-log line every few seconds.

Nothing here imports a store SDK at module level: operators are imported when a DAG file is
parsed, and the heavy parts load inside ``execute()``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from orchestore.airflow.hooks import DataStoreHook
    from orchestore.transfer import TransferProgress

__all__ = ["PROGRESS_EVERY", "ProgressLog", "describe_progress", "store_hook"]

#: seconds between two progress lines in the task log
PROGRESS_EVERY: Final = 5.0


@contextmanager
def store_hook(conn_id: str | None) -> Iterator[DataStoreHook]:
    """A DataStoreHook for ``conn_id`` (None: no connection, or ds:// URLs naming their own),
    closed when the block ends (its clients are the process's shared ones).

    The hook resolves connections the Airflow way (secrets backends, env, the API) and hands
    every secret to Airflow's masker before a store sees it.
    """
    from orchestore.airflow.hooks import DataStoreHook

    hook = DataStoreHook(conn_id)
    try:
        yield hook
    finally:
        hook.close()


class ProgressLog:
    """A transfer ``progress`` callback that logs at most one line every ``every`` seconds.

    The transfer engine calls back up to ~10 times a second; a task log needs far fewer lines.
    The operator logs the summary when the copy ends, so a short copy logs no progress line.
    """

    def __init__(self, log: logging.Logger, *, every: float = PROGRESS_EVERY) -> None:
        self.log = log
        self.every = every
        self._last = time.monotonic()

    def __call__(self, progress: TransferProgress) -> None:
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self.log.info("%s", describe_progress(progress))


def describe_progress(progress: TransferProgress) -> str:
    """``copied 12.0 MiB of 30.0 MiB (40%), 3/10 objects, 8.1 MiB/s, 2.0 s``."""
    from orchestore.cli.output import human_size

    done = human_size(progress.bytes_done)
    if progress.bytes_total:
        share = min(progress.bytes_done / progress.bytes_total, 1.0)
        amount = f"{done} of {human_size(progress.bytes_total)} ({share:.0%})"
    else:
        amount = done
    objects = f"{progress.objects_done}/{progress.objects_total or '?'} objects"
    rate = f"{human_size(progress.rate)}/s"
    return f"copied {amount}, {objects}, {rate}, {progress.elapsed:.1f} s"
