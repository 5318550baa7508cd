"""A real Prefect flow that round-trips a CSV through orchestore between two tasks.

``write_csv`` writes a small DataFrame to a URL with ``write_df`` and returns the URL;
``count_rows`` reads it back with ``as_df`` and returns the row count. The flow does this for a
file:// URL and for a memory:// URL in the same flow run: memory items are process-local, and a
Prefect flow's tasks (thread-pool runner) share the flow's process, so they see each other's.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

import orchestore

ROWS: dict[str, list[Any]] = {
    "city": ["Oslo", "Lima", "Pune"],
    "temp_c": [4.5, 19.0, 31.25],
}


# NO_CACHE: writing is a side effect that must happen on every run, whatever the inputs.
@task(cache_policy=NO_CACHE)
def write_csv(url: str) -> str:
    """Write ROWS as CSV to ``url``; return the DataItem's (credential-free) URL."""
    item = orchestore.get_dataitem(url)
    item.write_df(pd.DataFrame(ROWS))
    return item.url


@task(cache_policy=NO_CACHE)
def count_rows(url: str) -> int:
    """Read ``url`` back as a DataFrame and count its rows."""
    return len(orchestore.get_dataitem(url).as_df())


@flow(name="orchestore-roundtrip")
def orchestore_roundtrip(file_url: str, memory_url: str) -> dict[str, Any]:
    """Both round trips, submitted to the task runner so they run in worker threads."""
    results: dict[str, Any] = {}
    for name, url in (("file", file_url), ("memory", memory_url)):
        written = write_csv.submit(url)
        counted = count_rows.submit(written)
        results[name] = {"url": written.result(), "rows": counted.result()}
    return results
