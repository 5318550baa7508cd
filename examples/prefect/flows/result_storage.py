"""A DataStore block as a flow's result storage: task results persisted in any store.

The flow's tasks persist their results through the saved DataStore (any scheme: s3, az, gs,
v3io, file); a later run with the same inputs finds the cached result there and reads it
instead of computing again, on this machine or any other worker with access to the block.

    python result_storage.py orchestore-data-store/results 3 1 4 1 5
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import INPUTS


@task(persist_result=True, cache_policy=INPUTS)
def summarize(numbers: list[int]) -> dict[str, Any]:
    """A result worth keeping: computed once per input, then read from the store."""
    time.sleep(0.5)  # stands in for real work
    computed_at = datetime.now(UTC).isoformat()
    return {"count": len(numbers), "total": sum(numbers), "computed_at": computed_at}


@flow(name="orchestore-result-storage", log_prints=True)
def summarize_numbers(numbers: list[int]) -> dict[str, Any]:
    summary = summarize(numbers)
    print(f"summary of {numbers}: {summary}")
    return summary


def run_with_storage(storage: str, numbers: list[int]) -> dict[str, Any]:
    """Run the flow with ``storage`` (a saved DataStore, ``slug/name``) as its result storage."""
    return summarize_numbers.with_options(result_storage=storage)(numbers)


if __name__ == "__main__":
    run_with_storage(sys.argv[1], [int(n) for n in sys.argv[2:]])
