"""``copy()``: plan the objects to copy, then copy them with a bounded pool of workers.

Planning lists the source (one object, or every object below a folder with ``recursive``) and,
when ``overwrite=False`` or ``sync=True`` need it, the destination, once. Each object then goes
to a worker (objects.copy_one), at most ``concurrency`` at a time; the first failure stops the
ones not yet started and is raised once the running ones end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from orchestore.credentials.base import CredentialsModel
from orchestore.errors import AlreadyExistsError, InvalidURLError, NotFoundError
from orchestore.stores.base import FileStat
from orchestore.transfer.objects import CopyJob, CopyOutcome, copy_one, unchanged
from orchestore.transfer.progress import ProgressCallback, ProgressMeter, TransferSummary
from orchestore.urls import StoreURL, parse_url

if TYPE_CHECKING:
    from orchestore.items import DataItem

__all__ = ["copy"]

Credentials = CredentialsModel | Mapping[str, Any] | None


def copy(
    src: str | os.PathLike[str] | StoreURL | DataItem,
    dst: str | os.PathLike[str] | StoreURL | DataItem,
    *,
    src_credentials: Credentials = None,
    dst_credentials: Credentials = None,
    recursive: bool = False,
    sync: bool = False,
    overwrite: bool = True,
    checksum: bool = True,
    concurrency: int = 8,
    progress: ProgressCallback | None = None,
) -> TransferSummary:
    """Copy an object (or, with ``recursive``, every object below a folder) to ``dst``.

    Within one store (same endpoint and credentials) the server copies; otherwise bytes are
    streamed in bounded memory. A destination ending in ``/`` is a folder: the object keeps its
    name there; with ``recursive`` objects keep their paths relative to ``src``.
    ``sync`` skips objects the destination already holds (same size and digest); with
    ``overwrite=False`` any other existing destination object raises AlreadyExistsError.
    ``checksum`` verifies every streamed copy (ChecksumMismatchError removes the copy).
    ``progress`` is called at most ~10 times a second and once at the end.
    """
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive int, got {concurrency!r}")
    started = time.monotonic()
    source = _item(src, src_credentials)
    target = _item(dst, dst_credentials, near=source)
    jobs = _plan(source, target, recursive=recursive, compare=sync or not overwrite)
    if not overwrite and not sync:
        _refuse_existing(jobs)
    meter = ProgressMeter(progress)
    meter.set_totals(sum(job.source_stat.size for job in jobs if job.source_stat), len(jobs))
    outcomes = _run(
        jobs, sync=sync, overwrite=overwrite, checksum=checksum, meter=meter, workers=concurrency
    )
    meter.finish()
    verified = sum(outcome.verified for outcome in outcomes)
    return TransferSummary(
        source=source.url,
        destination=target.url,
        objects=sum(not outcome.skipped for outcome in outcomes),
        skipped=sum(outcome.skipped for outcome in outcomes),
        bytes=sum(outcome.bytes for outcome in outcomes),
        seconds=time.monotonic() - started,
        checksums_verified=verified,
        checksum="+".join(sorted({o.algorithm for o in outcomes if o.algorithm})) or None,
    )


# -- resolving the two ends --------------------------------------------------------------------
def _item(location: Any, credentials: Credentials, near: DataItem | None = None) -> DataItem:
    """A DataItem for ``location``; a URL on ``near``'s endpoint reuses its credentials."""
    from orchestore.items import DataItem, get_dataitem

    if isinstance(location, DataItem):
        if credentials is not None:
            raise ValueError("a DataItem carries its credentials: pass no credentials with it")
        return location
    url = parse_url(location)
    if credentials is None and near is not None and _same_endpoint(url, near):
        credentials = near.store.credentials
    if isinstance(credentials, Mapping):
        credentials = dict(credentials)
    return get_dataitem(url, credentials)


def _same_endpoint(url: StoreURL, item: DataItem) -> bool:
    if url.family != item.kind:
        return False
    return item.store.endpoint_key(url) == item.store.endpoint_key(item.store_url)


# -- planning ----------------------------------------------------------------------------------
def _plan(source: DataItem, target: DataItem, *, recursive: bool, compare: bool) -> list[CopyJob]:
    if recursive:
        listed = _walk(source)
        if listed is not None:
            return _folder_jobs(source, target, listed, compare=compare)
    source_stat = source.stat()
    if source_stat.is_dir:
        raise InvalidURLError("names a folder: copy it with recursive=True", url=source.url)
    target_url = target.store_url
    if recursive or _is_folder(target_url):
        target_url = target_url.with_path(_folder_path(target_url) + source.store_url.name)
    target_stat = _stat_or_none(target, target_url) if compare else None
    return [
        CopyJob(source.store, source.store_url, target.store, target_url, source_stat, target_stat)
    ]


def _walk(source: DataItem) -> list[FileStat] | None:
    """Every object below the source folder; None when the source is one object."""
    try:
        return list(source.store.walk_files(source.store_url))
    except InvalidURLError:
        return None  # an object where a folder was expected: copy that object
    except NotFoundError:
        if source.store_url.path.endswith("/") or not source.store.exists(source.store_url):
            raise
        return None


def _folder_jobs(
    source: DataItem, target: DataItem, listed: list[FileStat], *, compare: bool
) -> list[CopyJob]:
    base = _folder_path(source.store_url)
    target_base = _folder_path(target.store_url)
    existing = _existing(target) if compare else {}
    jobs = []
    for stat in listed:
        path = parse_url(stat.url).path
        if not path.startswith(base):
            raise InvalidURLError(f"listed {stat.url} outside the folder", url=source.url)
        relative = path[len(base) :]
        jobs.append(
            CopyJob(
                source.store,
                source.store_url.with_path(path),
                target.store,
                target.store_url.with_path(target_base + relative),
                stat,
                existing.get(relative),
            )
        )
    return jobs


def _existing(target: DataItem) -> dict[str, FileStat]:
    """The destination folder's objects by relative path (empty when it does not exist)."""
    base = _folder_path(target.store_url)
    try:
        listed = list(target.store.walk_files(target.store_url))
    except NotFoundError:
        return {}
    return {parse_url(stat.url).path[len(base) :]: stat for stat in listed}


def _stat_or_none(target: DataItem, url: StoreURL) -> FileStat | None:
    try:
        stat = target.store.stat(url)
    except NotFoundError:
        return None
    return None if stat.is_dir else stat


def _is_folder(url: StoreURL) -> bool:
    return not url.path or url.path.endswith("/")


def _folder_path(url: StoreURL) -> str:
    return url.path if _is_folder(url) else url.path + "/"


def _refuse_existing(jobs: list[CopyJob]) -> None:
    taken = [job for job in jobs if job.target_stat is not None]
    if taken:
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise AlreadyExistsError(
            f"exists{more}; pass overwrite=True to replace, or sync=True to skip unchanged objects",
            url=taken[0].target_url.display(),
        )


# -- running -----------------------------------------------------------------------------------
def _run(
    jobs: list[CopyJob],
    *,
    sync: bool,
    overwrite: bool,
    checksum: bool,
    meter: ProgressMeter,
    workers: int,
) -> list[CopyOutcome]:
    def one(job: CopyJob) -> CopyOutcome:
        outcome = _copy_or_skip(job, sync=sync, overwrite=overwrite, checksum=checksum, meter=meter)
        meter.object_done()
        return outcome

    if len(jobs) <= 1 or workers == 1:
        return [one(job) for job in jobs]
    pool = ThreadPoolExecutor(max_workers=min(workers, len(jobs)))
    try:
        futures: list[Future[CopyOutcome]] = [pool.submit(one, job) for job in jobs]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((future for future in done if future.exception() is not None), None)
        if failed is not None:
            raise failed.exception()  # type: ignore[misc]
        return [future.result() for future in futures]
    finally:
        # On a failure or an interrupt (Ctrl-C arrives in this thread, inside wait()), the
        # objects not yet started are dropped; the ones in flight finish or fail on their own.
        pool.shutdown(wait=True, cancel_futures=True)


def _copy_or_skip(
    job: CopyJob, *, sync: bool, overwrite: bool, checksum: bool, meter: ProgressMeter
) -> CopyOutcome:
    if job.target_stat is not None:
        if sync and unchanged(job):
            return CopyOutcome(skipped=True)
        if not overwrite:
            raise AlreadyExistsError(
                "exists and differs from the source; pass overwrite=True to replace it",
                url=job.target_url.display(),
            )
    return copy_one(job, checksum=checksum, meter=meter)
