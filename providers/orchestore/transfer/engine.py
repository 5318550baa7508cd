"""``copy()``: plan the objects to copy, then copy them with a bounded pool of workers.

Planning lists the source (one object, or every object below a folder with ``recursive``) and,
when ``overwrite=False`` or ``sync=True`` need it, the destination, once. Each object then goes
to a worker (objects.copy_one), at most ``concurrency`` at a time; the first failure stops the
ones not yet started and is raised once the running ones end.

A plain recursive copy streams its plan: the workers take objects from the listing as it
yields them and only counters are kept, so memory does not grow with the object count and
copying starts with the first page of the listing. The totals
of the progress reports are None until the listing ends.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
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

    if isinstance(jobs, list):
        workers = min(workers, len(jobs))
    if workers <= 1:
        tally = _Tally()
        for job in jobs:
            tally.add(one(job))
        return tally
    return _Workers(jobs, one, workers).run()


class _Workers:
    """``count`` threads that take jobs from one iterator (the listing) until it ends or a job
    fails. No future per object and no wait() over the ones pending: with thousands of small
    objects those cost more of the GIL than the engine's own work did."""

    def __init__(
        self, jobs: Iterable[CopyJob], work: Callable[[CopyJob], CopyOutcome], count: int
    ) -> None:
        self._jobs = iter(jobs)
        self._work = work
        self._taking = threading.Lock()
        self._counting = threading.Lock()
        self._stop = threading.Event()
        self.tally = _Tally()
        self.error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._loop, name=f"orchestore-copy-{index}", daemon=True)
            for index in range(count)
        ]

    def run(self) -> _Tally:
        """Copy every job; the first failure stops the jobs not yet started and is raised once
        the running ones end (an interrupt, which arrives in this thread, too)."""
        for thread in self._threads:
            thread.start()
        try:
            for thread in self._threads:
                thread.join()
        except BaseException:
            self._stop.set()
            for thread in self._threads:
                thread.join()
            raise
        if self.error is not None:
            raise self.error
        return self.tally

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with self._taking:
                    job = next(self._jobs, None)
                if job is None:
                    return
                outcome = self._work(job)
            except BaseException as exc:  # raised by run(), in the calling thread
                with self._counting:
                    if self.error is None:
                        self.error = exc
                self._stop.set()
                return
            with self._counting:
                self.tally.add(outcome)


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
