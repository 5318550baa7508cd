"""Flows for the DataStore tests: a cached task whose result lives in a saved DataStore block.

``CALLS`` records each real execution of ``square`` (flows run in this process), so a test can
tell a computed result from one Prefect read back from the result storage.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task

from prefect_orchestore import DataStore

CALLS: list[int] = []


@task(persist_result=True)
def square(x: int) -> dict[str, int]:
    """A sync task: Prefect commits its result with ``write_path(..., _sync=True)``."""
    CALLS.append(x)
    return {"x": x, "squared": x * x}


@flow(name="orchestore-result-storage")
def square_with_storage(x: int, storage: str, key: str) -> dict[str, int]:
    """Run ``square`` with ``storage`` (a saved block, ``slug/name``) and a fixed cache key."""
    cached = square.with_options(result_storage=storage, cache_key_fn=lambda *_: key)
    return cached(x)


@flow(name="orchestore-vault-store")
def round_trip_through_store(store: str, key: str, payload: bytes) -> dict[str, Any]:
    """Load the DataStore by its document name, write ``payload``, read it back."""
    data_store = DataStore.load(store)
    url = data_store.put(key, payload)
    return {"url": url, "read": data_store.get(key), "listed": data_store.ls("")}
