"""Copy one object: server-side within one store, else streamed; then verify it.

``sync`` decides here too whether an existing destination already holds the source's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from orchestore.errors import ChecksumMismatchError, StoreUnavailableError
from orchestore.stores.base import FileStat, Store
from orchestore.transfer.checksums import (
    ALGORITHM,
    PartedMD5,
    check_source,
    digest_of_stream,
    listed_md5,
    plan_checks,
    verify_copy,
)
from orchestore.transfer.progress import ProgressMeter
from orchestore.transfer.streaming import reads_ranges, stream_object
from orchestore.urls import StoreURL

__all__ = ["CopyJob", "CopyOutcome", "copy_one", "unchanged"]


@dataclass(frozen=True, slots=True)
class CopyJob:
    """One object to copy: where from, where to, and what the listings said about both."""

    source: Store
    source_url: StoreURL
    target: Store
    target_url: StoreURL
    source_stat: FileStat | None = None
    target_stat: FileStat | None = None

    @property
    def server_side(self) -> bool:
        """Same store instance (endpoint and credentials) that copies without this process
        (it overrides the streaming default of ``Store.copy_within``)."""
        return self.source is self.target and (
            type(self.source).copy_within is not Store.copy_within
        )


@dataclass(frozen=True, slots=True)
class CopyOutcome:
    bytes: int = 0
    verified: bool = False
    skipped: bool = False
    #: the checksum's algorithm when verified
    algorithm: str | None = None


def copy_one(job: CopyJob, *, checksum: bool, meter: ProgressMeter) -> CopyOutcome:
    """Copy ``job``'s object; the destination appears complete and verified, or not at all.

    The digests come from ``plan_checks``: the destination's (compared with what it reports,
    or with a read-back) and the source's (the bytes read must be the bytes the source
    stores: the destination's digest only proves it stored what was read), in one pass.
    """
    if job.server_side:
        return _server_side(job, checksum=checksum, meter=meter)
    size = job.source_stat.size if job.source_stat is not None else None
    checks = None
    if checksum:
        checks = plan_checks(
            job.source, job.source_url, job.source_stat, job.target, job.target_url, size
        )
    copied, reported = stream_object(
        job.source,
        job.source_url,
        job.target,
        job.target_url,
        size=size,
        digest=checks.stream if checks is not None else None,  # type: ignore[arg-type]
        meter=meter,
    )
    _check_source_unchanged(job)
    if checks is None:
        return CopyOutcome(bytes=copied)
    checked = check_source(job.source, job.source_url, checks, job.target, job.target_url)
    verify_copy(job.target, job.target_url, checks.target, reported=reported)
    algorithm = checks.algorithms(source_checked=checked)
    return CopyOutcome(bytes=copied, verified=True, algorithm=algorithm)


def _check_source_unchanged(job: CopyJob) -> None:
    """Ranged reads are separate requests: a source replaced meanwhile could mix versions,
    so its ETag must be the one the plan saw; otherwise the copy is removed."""
    stat = job.source_stat
    if stat is None or stat.etag is None or not reads_ranges(job.source, stat.size):
        return
    before = stat.etag
    after = job.source.stat(job.source_url).etag
    if after != before:
        job.target.delete(job.target_url)
        raise StoreUnavailableError(
            "the source changed while it was being copied; the copy was removed, copy again",
            url=job.source_url.display(),
        )


def _server_side(job: CopyJob, *, checksum: bool, meter: ProgressMeter) -> CopyOutcome:
    """The store copies; its digests are compared when both sides report comparable ones."""
    job.source.copy_within(job.source_url, job.target_url)
    size = job.source_stat.size if job.source_stat is not None else 0
    meter.add_bytes(size)
    if not checksum:
        return CopyOutcome(bytes=size)
    before = job.source.reported_digest(job.source_url)
    after = job.target.reported_digest(job.target_url)
    if before is None or after is None or "-" in before or "-" in after:
        return CopyOutcome(bytes=size)  # composites depend on the part size: not comparable
    if before != after:
        job.target.delete(job.target_url)
        raise ChecksumMismatchError(
            f"the server-side copy's {ALGORITHM} is {after}, the source's {before}; the copy "
            "was removed",
            url=job.target_url.display(),
            algorithm=ALGORITHM,
            expected=before,
            actual=after,
        )
    return CopyOutcome(bytes=size, verified=True, algorithm=ALGORITHM)


def unchanged(job: CopyJob) -> bool:
    """Whether the existing destination already holds the source's bytes (for ``sync``).

    Sizes must match; then the stores' own digests decide when comparable; a source that is
    cheap to read (a local file, memory) is hashed the way the destination reports; otherwise
    (rclone's fallback) a destination written after the source last changed counts as a match.
    """
    source_stat, target_stat = job.source_stat, job.target_stat
    if source_stat is None or target_stat is None or source_stat.size != target_stat.size:
        return False
    listed = _listings_agree(source_stat, target_stat)
    if listed is not None:
        return listed
    reported = job.target.reported_digest(job.target_url)
    if reported is not None:
        verdict = _compare_with_source(job, reported)
        if verdict is not None:
            return verdict
    return _newer(target_stat.modified, source_stat.modified)


def _listings_agree(source: FileStat, target: FileStat) -> bool | None:
    """What the two listings' digests say, without a request: equal CRC32Cs or equal MD5s
    (ETags that look like one: equal ones mean equal bytes) match; different CRC32Cs differ;
    None when they cannot tell (then the stores are asked)."""
    if source.crc32c and target.crc32c:
        return source.crc32c == target.crc32c
    source_md5, target_md5 = listed_md5(source), listed_md5(target)
    if source_md5 is not None and source_md5 == target_md5:
        return True
    return None


def _compare_with_source(job: CopyJob, reported: str) -> bool | None:
    own = job.source.reported_digest(job.source_url)
    comparable = own is not None and ("-" in own) == ("-" in reported)
    if comparable and (own == reported or "-" not in reported):
        return own == reported
    if job.source.local_path(job.source_url) is None and job.source.family != "memory":
        return None
    with job.source.open_reader(job.source_url) as reader:
        digest = digest_of_stream(reader, PartedMD5(job.target.digest_part_size(job.target_url)))
    return digest.matches(reported)


def _newer(target: datetime | None, source: datetime | None) -> bool:
    if target is None or source is None:
        return False
    if (target.tzinfo is None) != (source.tzinfo is None):
        return False
    return target >= source
