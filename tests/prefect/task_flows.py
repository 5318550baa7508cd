"""Flows for the task tests: prefect_orchestore.tasks used as a flow author would use them."""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from orchestore.transfer import TransferProgress
from prefect_orchestore import tasks


@flow(name="orchestore-copy-fan-out")
def copy_many(
    sources: list[str], destinations: list[str], source_block: str, destination_block: str
) -> list[dict[str, Any]]:
    """One ``copy`` task per pair, fanned out with ``.map``; blocks given by name."""
    futures = tasks.copy.map(
        sources, destinations, source_block=source_block, destination_block=destination_block
    )
    return futures.result()


@flow(name="orchestore-copy-with-progress")
def copy_with_progress(
    source: str, destination: str, source_block: str, destination_block: str, key: str
) -> dict[str, Any]:
    """One copy that reports progress from its first second (``progress_after=0``)."""
    return tasks.copy(
        source,
        destination,
        source_block=source_block,
        destination_block=destination_block,
        progress_after=0,
        progress_key=key,
    )


@flow(name="orchestore-object-tasks")
def object_tasks(store: str) -> dict[str, Any]:
    """write, read, list_objects, delete and a recursive copy within one DataStore (by name)."""
    kept = tasks.write("kept/a.txt", b"alpha", store)
    gone = tasks.write("gone.txt", "beta", store)
    read_back = tasks.read("kept/a.txt", store)
    read_text = tasks.read(gone, store, encoding="utf-8")
    before = tasks.list_objects("", store)
    detail = tasks.list_objects("kept", store, detail=True)
    deleted = tasks.delete("gone.txt", store)
    backup = tasks.copy("kept/", "backup/", store, store, recursive=True)
    after = tasks.list_objects("", store)
    return {
        "written": [kept, gone],
        "read": [read_back, read_text],
        "before": before,
        "detail": detail,
        "deleted": deleted,
        "backup": backup,
        "after": after,
    }


@flow(name="orchestore-log-artifact")
def log_versions(catalog: str, key: str) -> list[str]:
    """Two versions of ``key`` through the log_artifact task (v1, v2), and a DataFrame."""
    import pandas as pd

    return [
        tasks.log_artifact(key, catalog, data=b"a,b\n1,2\n", tag="v1", labels={"n": 1}),
        tasks.log_artifact(key, catalog, data=b"a,b\n3,4\n5,6\n", tag="v2", labels={"n": 2}),
        tasks.log_artifact("frame", catalog, df=pd.DataFrame({"a": [1, 2, 3]}), tag="v1"),
    ]


@task(cache_policy=NO_CACHE)
def report_half_then_read(key: str) -> list[float]:
    """Feed the reporter 50 % and read the artifact back while the 'copy' still runs."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    seen: list[float] = []
    with tasks.ProgressArtifactReporter("copy a -> b", after=0, every=0.05, key=key) as reporter:
        reporter(TransferProgress(0, 1000, 0, 1, 0.01))
        time.sleep(0.5)
        reporter(TransferProgress(500, 1000, 0, 1, 0.5))
        time.sleep(0.5)
        with get_client(sync_client=True) as client:
            (artifact,) = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )
        seen.append(artifact.data)
        reporter(TransferProgress(1000, 1000, 1, 1, 1.0))
    return seen


@flow(name="orchestore-progress-updates")
def progress_updates(key: str) -> list[float]:
    return report_half_then_read(key)
