"""``copy()``: plan the objects to copy, then copy them with a bounded pool of workers.

Planning lists the source (one object, or every object below a folder with ``recursive``) and,
when ``overwrite=False`` or ``sync=True`` need it, the destination, once. Each object then goes
to a worker (objects.copy_one), at most ``concurrency`` at a time; the first failure stops the
ones not yet started and is raised once the running ones end.

A plain recursive copy streams its plan: objects are handed to the workers as the listing
yields them (a window of ``2 x concurrency``) and only counters are kept, so memory does not
grow with the object count and copying starts with the first page of the listing. The totals
of the progress reports are None until the listing ends.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
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
    meter = ProgressMeter(progress)
    jobs: Iterable[CopyJob] = _plan(
        source, target, recursive=recursive, compare=sync or not overwrite
    )
    if isinstance(jobs, list):
        if not overwrite and not sync:
            _refuse_existing(jobs)
        meter.set_totals(sum(job.source_stat.size for job in jobs if job.source_stat), len(jobs))
    else:
        jobs = _counted(jobs, meter)
    tally = _run(
        jobs, sync=sync, overwrite=overwrite, checksum=checksum, meter=meter, workers=concurrency
    )
    meter.finish()
    return TransferSummary(
        source=source.url,
        destination=target.url,
        objects=tally.objects,
        skipped=tally.skipped,
        bytes=tally.bytes,
        seconds=time.monotonic() - started,
        checksums_verified=tally.verified,
        checksum="+".join(sorted(tally.algorithms)) or None,
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
def _plan(
    source: DataItem, target: DataItem, *, recursive: bool, compare: bool
) -> list[CopyJob] | Iterator[CopyJob]:
    """The jobs: a list when they must all be known first (one object; ``compare``, which
    checks every destination before copying), else an iterator that follows the listing."""
    if recursive:
        listed = _walk(source)
        if listed is not None:
            jobs = _folder_jobs(source, target, listed, compare=compare)
            return list(jobs) if compare else jobs
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


def _walk(source: DataItem) -> Iterator[FileStat] | None:
    """Every object below the source folder, as listed; None when the source is one object.

    The first entry is fetched here, so that a source that is no folder is known now."""
    listing = iter(source.store.walk_files(source.store_url))
    try:
        first = next(listing, None)
    except InvalidURLError:
        return None  # an object where a folder was expected: copy that object
    except NotFoundError:
        if source.store_url.path.endswith("/") or not source.store.exists(source.store_url):
            raise
        return None
    return listing if first is None else itertools.chain((first,), listing)


def _folder_jobs(
    source: DataItem, target: DataItem, listed: Iterable[FileStat], *, compare: bool
) -> Iterator[CopyJob]:
    base = _folder_path(source.store_url)
    target_base = _folder_path(target.store_url)
    existing = _existing(target) if compare else {}
    for stat in listed:
        path = parse_url(stat.url).path
        if not path.startswith(base):
            raise InvalidURLError(f"listed {stat.url} outside the folder", url=source.url)
        relative = path[len(base) :]
        yield CopyJob(
            source.store,
            source.store_url.with_path(path),
            target.store,
            target.store_url.with_path(target_base + relative),
            stat,
            existing.get(relative),
        )


def _counted(jobs: Iterable[CopyJob], meter: ProgressMeter) -> Iterator[CopyJob]:
    """The jobs as they come; the meter gets the totals once the listing has ended."""
    objects = size = 0
    for job in jobs:
        objects += 1
        size += job.source_stat.size if job.source_stat is not None else 0
        yield job
    meter.set_totals(size, objects)


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
@dataclass(slots=True)
class _Tally:
    """What the finished objects add up to (the outcomes themselves are not kept)."""

    objects: int = 0
    skipped: int = 0
    bytes: int = 0
    verified: int = 0
    algorithms: set[str] = field(default_factory=set)

    def add(self, outcome: CopyOutcome) -> None:
        self.skipped += outcome.skipped
        self.objects += not outcome.skipped
        self.bytes += outcome.bytes
        self.verified += outcome.verified
        if outcome.algorithm:
            self.algorithms.add(outcome.algorithm)


def _run(
    jobs: Iterable[CopyJob],
    *,
    sync: bool,
    overwrite: bool,
    checksum: bool,
    meter: ProgressMeter,
    workers: int,
) -> _Tally:
    def one(job: CopyJob) -> CopyOutcome:
        outcome = _copy_or_skip(job, sync=sync, overwrite=overwrite, checksum=checksum, meter=meter)
        meter.object_done()
        return outcome

    tally = _Tally()
    if workers == 1 or (isinstance(jobs, list) and len(jobs) <= 1):
        for job in jobs:
            tally.add(one(job))
        return tally
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="orchestore-copy")
    pending: set[Future[CopyOutcome]] = set()
    try:
        for job in jobs:  # the listing goes on while the first objects copy
            pending.add(pool.submit(one, job))
            if len(pending) >= 2 * workers:
                pending = _collect(pending, FIRST_COMPLETED, tally)
        while pending:
            pending = _collect(pending, FIRST_EXCEPTION, tally)
        return tally
    finally:
        # On a failure or an interrupt (Ctrl-C arrives in this thread, inside wait()), the
        # objects not yet started are dropped; the ones in flight finish or fail on their own.
        pool.shutdown(wait=True, cancel_futures=True)


def _collect(
    pending: set[Future[CopyOutcome]], until: str, tally: _Tally
) -> set[Future[CopyOutcome]]:
    """Wait for ``until``, count what finished, raise the first failure; the rest pending."""
    done, still = wait(pending, return_when=until)
    for future in done:
        error = future.exception()
        if error is not None:
            raise error
        tally.add(future.result())
    return still


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
