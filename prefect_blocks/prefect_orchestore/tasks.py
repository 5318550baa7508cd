"""Ready Prefect tasks over orchestore URLs: copy, read, write, list_objects, delete, log_artifact.

Each task takes URLs plus the block that serves them, given as a block or by its document name
``"slug/name"`` (e.g. ``"orchestore-data-store/results"``):

- a ``DataStore``: URLs are paths below its base URL (or full URLs under it);
- a credentials block (``S3StoreCredentials``, ...): URLs are full URLs of its scheme;
- an ``ArtifactCatalog``: ``store://`` URLs, or ``key[:tag]`` in its project;
- none: file://, memory:// and anonymous http(s) URLs.

For ``.map()`` fan-out pass blocks by name, or wrap a block object in ``prefect.unmapped``: a
pydantic model is iterable, so ``.map`` would otherwise map over its fields. Every task uses
``NO_CACHE`` (reading and writing data are side effects a cache must not skip) and its run
names carry no URL (a URL may hold a SAS token or signature). Logs show redacted URLs only.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from types import TracebackType
from typing import Any, cast
from uuid import UUID

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.blocks.core import Block
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.exceptions import MissingContextError
from prefect.logging import get_logger

import orchestore
from orchestore.items import DataItem
from orchestore.stores.base import FileStat
from orchestore.transfer import TransferProgress, TransferSummary
from orchestore.transfer import copy as transfer_copy
from prefect_orchestore.catalog import ArtifactCatalog
from prefect_orchestore.credentials import StoreCredentialsBlock
from prefect_orchestore.storage import DataStore

__all__ = ["copy", "delete", "list_objects", "log_artifact", "read", "write"]

#: a block serving a URL: the block itself, its document name "slug/name", or None
BlockRef = Block | str | None

#: by default a copy gets a progress artifact once it has run this long (seconds)
PROGRESS_AFTER = 5.0
#: seconds between two updates of the progress artifact
PROGRESS_EVERY = 1.0


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The task run's logger (its lines reach the Prefect UI), else this module's: a task's
    ``.fn`` may be called outside a run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return get_logger(__name__)


# -- resolving URLs and blocks --------------------------------------------------------------------
def load_block(block: BlockRef, default: type[Block] | None = None) -> Block | None:
    """``block`` itself, or the saved block its name ``"slug/name"`` (or ``"name"`` of
    ``default``'s type) names."""
    if block is None or isinstance(block, Block):
        return block
    if not isinstance(block, str):
        raise TypeError(f"expected a block or a block name 'slug/name', got {type(block).__name__}")
    if "/" not in block:
        if default is None:
            raise ValueError(f"block name {block!r}: give it as 'block-type-slug/name'")
        return default.load(block, _sync=True)
    return Block.load(block, _sync=True)


def item_for(url: str, block: BlockRef = None) -> DataItem:
    """The DataItem for ``url`` served by ``block`` (credentials resolved now, never logged)."""
    loaded = load_block(block)
    if loaded is None:
        return orchestore.get_dataitem(url)
    if isinstance(loaded, DataStore | ArtifactCatalog):
        return loaded.item(url)
    if isinstance(loaded, StoreCredentialsBlock):
        return orchestore.get_dataitem(url, loaded.to_credentials(url))
    raise TypeError(
        f"{type(loaded).__name__} does not serve URLs: use an orchestore DataStore, "
        "ArtifactCatalog or store credentials block"
    )


# -- progress -------------------------------------------------------------------------------------
class ProgressArtifactReporter:
    """Shows a copy's progress as a Prefect progress artifact of the running task.

    The transfer engine calls this object from its worker threads; it only keeps the newest
    snapshot, so a copy never waits on Prefect's API. A reporter thread creates the artifact
    once the copy has run ``after`` seconds (short copies get none) and updates it every
    ``every`` seconds; a copy that completes sets it to 100 %.
    """

    def __init__(
        self,
        title: str,
        *,
        after: float = PROGRESS_AFTER,
        every: float = PROGRESS_EVERY,
        key: str | None = None,
    ) -> None:
        self.title = title
        self.after, self.every, self.key = after, every, key
        self.artifact_id: UUID | None = None
        self._latest: TransferProgress | None = None
        self._logger = _logger()
        self._stop = threading.Event()
        # The thread runs in a copy of the task's context: Prefect finds the task run there
        # (the artifact is linked to it) as it would in the task's own thread.
        self._thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self._run,),
            name="orchestore-progress",
            daemon=True,
        )

    def __call__(self, progress: TransferProgress) -> None:
        self._latest = progress

    def __enter__(self) -> ProgressArtifactReporter:
        if TaskRunContext.get() is not None:  # an artifact belongs to a task run
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if exc_type is None and self.artifact_id is not None:
            self._post(done=True)

    def _run(self) -> None:
        if self._stop.wait(self.after):
            return
        while True:
            self._post()
            if self._stop.wait(self.every):
                return

    def _post(self, done: bool = False) -> None:
        snapshot = self._latest
        percent = 100.0 if done else _percent(snapshot)
        if percent is None:  # nothing known yet to show as a percentage
            return
        description = f"{self.title}: {_describe(snapshot)}"
        try:
            if self.artifact_id is None:
                self.artifact_id = create_progress_artifact(
                    percent, key=self.key, description=description, _sync=True
                )
            else:
                update_progress_artifact(self.artifact_id, percent, description, _sync=True)
        except Exception as exc:  # a progress display must never fail the copy it shows
            self._logger.warning("could not update the progress artifact: %s", type(exc).__name__)


def _percent(progress: TransferProgress | None) -> float | None:
    if progress is None:
        return 0.0
    for done, total in (
        (progress.bytes_done, progress.bytes_total),
        (progress.objects_done, progress.objects_total),
    ):
        if total is not None:
            return 100.0 if total == 0 else min(100.0, 100.0 * done / total)
    return None


def _describe(progress: TransferProgress | None) -> str:
    if progress is None:
        return "starting"
    total = "?" if progress.bytes_total is None else _mb(progress.bytes_total)
    objects = "?" if progress.objects_total is None else str(progress.objects_total)
    return (
        f"{_mb(progress.bytes_done)} of {total}, {progress.objects_done} of {objects} objects, "
        f"{progress.rate / 1e6:.1f} MB/s"
    )


def _mb(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


# -- the tasks ------------------------------------------------------------------------------------
@task(name="orchestore-copy", task_run_name="copy", cache_policy=NO_CACHE)
def copy(
    source: str,
    destination: str,
    source_block: BlockRef = None,
    destination_block: BlockRef = None,
    recursive: bool = False,
    sync: bool = False,
    overwrite: bool = True,
    checksum: bool = True,
    concurrency: int = 8,
    progress_after: float = PROGRESS_AFTER,
    progress_key: str | None = None,
) -> dict[str, Any]:
    """Copy an object (a folder with ``recursive``) between any two stores; the summary dict.

    ``orchestore.transfer.copy`` does the work (server-side within one store, else streamed in
    bounded memory, checksums verified). A copy running longer than ``progress_after`` seconds
    shows a progress artifact (``progress_key`` names it on the Artifacts page).
    """
    source_item = item_for(source, source_block)
    target_item = item_for(destination, destination_block)
    title = f"copy {source_item.url} -> {target_item.url}"
    with ProgressArtifactReporter(title, after=progress_after, key=progress_key) as reporter:
        summary: TransferSummary = transfer_copy(
            source_item,
            target_item,
            recursive=recursive,
            sync=sync,
            overwrite=overwrite,
            checksum=checksum,
            concurrency=concurrency,
            progress=reporter,
        )
    _logger().info(
        "copied %d objects (%d bytes, %d skipped) from %s to %s in %.2f s (%.1f MB/s)",
        summary.objects,
        summary.bytes,
        summary.skipped,
        summary.source,
        summary.destination,
        summary.seconds,
        summary.mb_per_s,
    )
    return summary.as_dict()


@task(name="orchestore-read", task_run_name="read", cache_policy=NO_CACHE)
def read(url: str, block: BlockRef = None, encoding: str | None = None) -> bytes | str:
    """The object's bytes (decoded with ``encoding`` when given)."""
    item = item_for(url, block)
    data = item.get()
    _logger().info("read %d bytes from %s", len(data), item.url)
    return data.decode(encoding) if encoding else data


@task(name="orchestore-write", task_run_name="write", cache_policy=NO_CACHE)
def write(url: str, data: bytes | str, block: BlockRef = None) -> str:
    """Write ``data`` (text as UTF-8) atomically; returns the object's URL (redacted)."""
    item = item_for(url, block)
    item.put(data)
    size = len(data.encode() if isinstance(data, str) else data)
    _logger().info("wrote %d bytes to %s", size, item.url)
    return item.url


@task(name="orchestore-list-objects", task_run_name="list-objects", cache_policy=NO_CACHE)
def list_objects(
    url: str, block: BlockRef = None, detail: bool = False
) -> list[str] | list[dict[str, Any]]:
    """The direct children of the folder ``url``: URLs, or with ``detail`` JSON-safe dicts
    (url, size, modified, etag, content_type, is_dir)."""
    item = item_for(url if url.endswith("/") or not url else url + "/", block)
    entries = cast(list[FileStat], item.ls(detail=True))
    _logger().info("listed %d entries in %s", len(entries), item.url)
    if not detail:
        return [entry.url for entry in entries]
    return [_stat_dict(entry) for entry in entries]


def _stat_dict(entry: FileStat) -> dict[str, Any]:
    return {
        "url": entry.url,
        "size": entry.size,
        "modified": entry.modified.isoformat() if entry.modified else None,
        "etag": entry.etag,
        "content_type": entry.content_type,
        "is_dir": entry.is_dir,
    }


@task(name="orchestore-delete", task_run_name="delete", cache_policy=NO_CACHE)
def delete(
    url: str, block: BlockRef = None, recursive: bool = False, missing_ok: bool = False
) -> str:
    """Remove the object (a folder with ``recursive``); NotFoundError unless ``missing_ok``."""
    item = item_for(url, block)
    item.delete(recursive=recursive, missing_ok=missing_ok)
    _logger().info("deleted %s", item.url)
    return item.url


@task(name="orchestore-log-artifact", task_run_name="log-artifact", cache_policy=NO_CACHE)
def log_artifact(
    key: str,
    catalog: ArtifactCatalog | str,
    data: bytes | str | None = None,
    local_path: str | None = None,
    df: Any = None,
    target_url: str | None = None,
    tag: str = "latest",
    project: str | None = None,
    labels: dict[str, Any] | None = None,
    description: str | None = None,
    format: str | None = None,
) -> str:
    """Log a version of ``key`` in the catalog (an ArtifactCatalog, or its name); its URL.

    Exactly one of ``data``, ``local_path`` (a file on the worker), ``df`` (a pandas
    DataFrame, parquet unless ``format``) or ``target_url`` (existing data in the artifact
    root's store, registered without a copy). The returned ``store://`` URL is pinned to the
    new version's uid.
    """
    block = load_block(catalog, default=ArtifactCatalog)
    if not isinstance(block, ArtifactCatalog):
        raise TypeError(f"catalog must be an ArtifactCatalog, got {type(block).__name__}")
    url = block.log_artifact(
        key,
        data,
        local_path=local_path,
        df=df,
        target_url=target_url,
        tag=tag,
        project=project,
        labels=labels,
        description=description,
        format=format,
        _sync=True,
    )
    _logger().info("logged %s", url)
    return url
