"""Digests of copied bytes, computed the way the two stores report them, in one pass.

Stores report MD5s: S3's ETag (for a multipart object: the MD5 of its parts' MD5s plus
``-<parts>``), Azure's Content-MD5, GCS's md5Hash; GCS also reports a CRC32C of every object
(FileStat.crc32c). ``plan_checks`` picks, per object, the cheapest digests that still verify
end to end (hashing speeds on the benchmark machine: MD5 0.7 GiB/s, zlib's CRC-32 ~4 GiB/s,
google_crc32c ~12 GiB/s):

- the destination's: a CRC32C for GCS, an MD5 shaped like the destination's (``PartedMD5``,
  per part when it combines parts: ``Store.digest_part_size``) where it reports MD5s, else a
  CRC-32 of the stream and of a read-back of the copy;
- the source's, when it reports one (from the listing: no request per object): its CRC32C, or
  its plain MD5, shared with the destination's digest when that is the same value.

No MD5 is computed that nothing compares. ``Digests`` feeds every digest from the one pass.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
import zlib
from dataclasses import dataclass
from functools import cache
from typing import Any, BinaryIO

from orchestore.errors import ChecksumMismatchError
from orchestore.stores.base import COPY_CHUNK, FileStat, Store
from orchestore.transfer.streaming import ranged_chunks, read_into, reads_ranges
from orchestore.urls import StoreURL

__all__ = [
    "ALGORITHM",
    "CRC32",
    "CRC32C",
    "CRC32C_FAMILIES",
    "Checks",
    "Digest",
    "Digests",
    "PartedMD5",
    "SourceDigest",
    "check_source",
    "digest_of_stream",
    "listed_md5",
    "plan_checks",
    "source_digest",
    "verify_copy",
]

#: the algorithm of the digests stores report
ALGORITHM = "md5"
#: store families whose stat() and listings report a CRC32C of every object (FileStat.crc32c;
#: GCS computes one for every object, composite ones included)
CRC32C_FAMILIES = frozenset({"gcs"})
#: an ETag that may be an MD5 (``hex``, or S3's multipart ``hex-N``)
_MD5_LIKE = re.compile(r"^[0-9a-f]{32}(-[0-9]+)?$")


class PartedMD5:
    """The MD5 of a stream, and with ``part_size`` the MD5s of its ``part_size`` slices."""

    algorithm = ALGORITHM

    def __init__(self, part_size: int | None = None) -> None:
        if part_size is not None and part_size <= 0:
            raise ValueError(f"part_size must be positive, got {part_size}")
        self.part_size = part_size
        self.size = 0
        self._whole = hashlib.md5(usedforsecurity=False) if part_size is None else None
        self._parts: list[bytes] = []
        self._part = hashlib.md5(usedforsecurity=False)
        self._part_filled = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        self.size += view.nbytes
        if self._whole is not None:
            self._whole.update(view)
            return
        assert self.part_size is not None
        while view.nbytes:
            room = self.part_size - self._part_filled
            piece, view = view[:room], view[room:]
            self._part.update(piece)
            self._part_filled += piece.nbytes
            if self._part_filled == self.part_size:
                self._close_part()

    def _close_part(self) -> None:
        self._parts.append(self._part.digest())
        self._part = hashlib.md5(usedforsecurity=False)
        self._part_filled = 0

    def _part_digests(self) -> list[bytes]:
        if self._part_filled or not self._parts:
            return [*self._parts, self._part.digest()]
        return list(self._parts)

    def part_md5(self, number: int) -> bytes | None:
        """The MD5 of part ``number`` (from 1) once its last byte was hashed; for the part
        being filled, the MD5 of its bytes so far (the last, short part: ask at the end); None
        for parts not begun, and without ``part_size``."""
        if number <= len(self._parts):
            return self._parts[number - 1]
        if number == len(self._parts) + 1 and self._part_filled:
            return self._part.digest()
        return None

    def whole(self) -> str | None:
        """The MD5 of the whole stream, when it was computed (no parts, or a single part)."""
        if self._whole is not None:
            return self._whole.hexdigest()
        parts = self._part_digests()
        return parts[0].hex() if len(parts) == 1 else None

    def composite(self) -> str | None:
        """S3's multipart form ``md5(part md5s)-<parts>``, when hashed per part."""
        if self._whole is not None:
            return None
        parts = self._part_digests()
        return f"{hashlib.md5(b''.join(parts), usedforsecurity=False).hexdigest()}-{len(parts)}"

    def hexdigest(self) -> str:
        """The value to show: the whole MD5 when known, else the composite."""
        value = self.whole() or self.composite()
        assert value is not None
        return value

    def matches(self, reported: str) -> bool | None:
        """Whether a store's reported digest is this stream's; None when not comparable."""
        reported = reported.strip('"').lower()
        if "-" in reported:
            composite = self.composite()
            if composite is None or composite.rsplit("-", 1)[1] != reported.rsplit("-", 1)[1]:
                return None  # another part count (another part size): cannot tell
            return composite == reported
        whole = self.whole()
        return None if whole is None else whole == reported

    def fresh(self) -> PartedMD5:
        """An empty digest of the same kind, for a re-read."""
        return PartedMD5(self.part_size)


class CRC32:
    """A CRC-32 of a stream: for destinations that report no digest, so that the copy is
    read back anyway. It checks a copy as well as an MD5 does (nobody forges a copy here)
    and costs a tenth of one: zlib hashes ~4 GB/s, hashlib's MD5 ~0.4 GB/s on this class of
    machine, and the stream and the read-back are both hashed."""

    algorithm = "crc32"
    part_size = None

    def __init__(self) -> None:
        self.size = 0
        self._value = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        self.size += view.nbytes
        self._value = zlib.crc32(view, self._value)

    def hexdigest(self) -> str:
        return f"{self._value:08x}"

    def matches(self, reported: str) -> bool | None:
        """Stores report MD5s, never CRC-32s: not comparable."""
        return None

    def fresh(self) -> CRC32:
        return CRC32()


@cache
def crc32c_available() -> bool:
    """Whether google_crc32c (a dependency of the gcs extra) is installed."""
    return importlib.util.find_spec("google_crc32c") is not None


class CRC32C:
    """The CRC32C (Castagnoli) of a stream, as GCS reports it for every object: ~12 GiB/s with
    google_crc32c's hardware path, so a copy to or from GCS is verified for a fraction of an
    MD5's cost. Only built when ``crc32c_available()``."""

    algorithm = "crc32c"
    part_size = None

    def __init__(self) -> None:
        import google_crc32c  # loaded on first use, like every SDK

        self._extend = google_crc32c.extend
        self.size = 0
        self._value = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        self.size += view.nbytes
        self._value = self._extend(self._value, _immutable(view))

    def hexdigest(self) -> str:
        return f"{self._value:08x}"

    def matches(self, reported: str) -> bool | None:
        """Whether a reported CRC32C (8 hex digits) is this stream's; None for anything else."""
        reported = reported.strip('"').lower()
        return reported == self.hexdigest() if len(reported) == 8 else None

    def fresh(self) -> CRC32C:
        return CRC32C()


def _immutable(view: memoryview) -> bytes:
    """google_crc32c reads only ``bytes``: the chunk's own bytes object when it is one whole
    (ranged reads), else a copy (~3x the CRC's own time, still far below an MD5)."""
    owner = view.obj
    if isinstance(owner, bytes) and len(owner) == view.nbytes:
        return owner
    return view.tobytes()


Digest = PartedMD5 | CRC32 | CRC32C


class Digests:
    """Feeds one stream to several digests (the copy hashes each byte once per algorithm)."""

    def __init__(self, *digests: Digest) -> None:
        self.digests = digests

    def update(self, data: bytes | bytearray | memoryview) -> None:
        for digest in self.digests:
            digest.update(data)

    def __getattr__(self, name: str) -> Any:
        # The Azure writer asks the first (the destination's) digest for its part MD5s.
        return getattr(self.digests[0], name)


@dataclass(frozen=True, slots=True)
class SourceDigest:
    """A digest the source reports for the object. ``listed``: an ETag from a listing that may
    be an MD5 (S3's, unless the object is SSE-KMS/C encrypted): a match proves the bytes, a
    mismatch is confirmed with the store (``Store.reported_digest``) before it fails a copy."""

    algorithm: str
    value: str
    listed: bool = False


def source_digest(store: Store, url: StoreURL, stat: FileStat | None) -> SourceDigest | None:
    """What the source says its bytes hash to, from its stat or listing when it tells (no
    request); a store asked only when the stat carries nothing that might be a digest."""
    if stat is not None:
        if stat.crc32c and crc32c_available():
            return SourceDigest("crc32c", stat.crc32c)
        if stat.md5 is not None:
            plain = plain_md5(stat.md5)
            return SourceDigest(ALGORITHM, plain) if plain else None
        tag = listed_md5(stat)
        if tag is not None:
            return None if "-" in tag else SourceDigest(ALGORITHM, tag, listed=True)
    plain = plain_md5(store.reported_digest(url))
    return SourceDigest(ALGORITHM, plain) if plain else None


def listed_md5(stat: FileStat) -> str | None:
    """The stat's MD5, else its ETag when it looks like one (``hex`` or S3's ``hex-N``):
    proof of the bytes when it matches a hash of them, not when it differs (SSE-KMS/C)."""
    if stat.md5 is not None:
        return stat.md5
    tag = str(stat.etag or "").strip('"').lower()
    return tag if _MD5_LIKE.fullmatch(tag) else None


def plain_md5(reported: str | None) -> str | None:
    """A store's digest when it is the plain MD5 of the object (a multipart ETag's depends
    on part sizes this process does not know)."""
    return None if reported is None or "-" in reported else reported.strip('"').lower()


@dataclass(frozen=True, slots=True)
class Checks:
    """The digests one streamed copy computes, and what each is compared with."""

    #: shaped like the destination's digest (or a read-back of it)
    target: Digest
    #: hashed for the source's digest: ``target`` itself when it gives the same value
    source: Digest | None = None
    claimed: SourceDigest | None = None

    @property
    def stream(self) -> Digest | Digests:
        """What the stream feeds: every distinct digest, once."""
        if self.source is None or self.source is self.target:
            return self.target
        return Digests(self.target, self.source)

    def algorithms(self, *, source_checked: bool) -> str:
        """The algorithms verified, as the summary shows them (``md5``, ``crc32c+md5``)."""
        source = self.source if source_checked else None
        if source is None or source.algorithm == self.target.algorithm:
            return self.target.algorithm
        return f"{self.target.algorithm}+{source.algorithm}"


def plan_checks(
    source: Store,
    source_url: StoreURL,
    source_stat: FileStat | None,
    target: Store,
    target_url: StoreURL,
    size: int | None,
) -> Checks:
    """The cheapest digests that verify a streamed copy end to end (see the module doc)."""
    target_digest = _target_digest(target, target_url, size)
    claimed = source_digest(source, source_url, source_stat)
    if claimed is None:
        return Checks(target_digest)
    if claimed.algorithm == "crc32c":
        shared = isinstance(target_digest, CRC32C)
        return Checks(target_digest, target_digest if shared else CRC32C(), claimed)
    shared = _gives_whole_md5(target_digest, size)
    return Checks(target_digest, target_digest if shared else PartedMD5(), claimed)


def _target_digest(target: Store, url: StoreURL, size: int | None) -> Digest:
    """A CRC32C where the destination reports one, else an MD5 shaped like the one it will
    report, else a CRC-32 (the copy is read back: both passes should be cheap)."""
    if target.family in CRC32C_FAMILIES and crc32c_available():
        return CRC32C()
    if target.reports_md5(url, size):
        return PartedMD5(target.digest_part_size(url))
    return CRC32()


def _gives_whole_md5(digest: Digest, size: int | None) -> bool:
    """Whether ``digest`` will hold the stream's plain MD5 (not hashed per part, or one part)."""
    if not isinstance(digest, PartedMD5):
        return False
    return digest.part_size is None or (size is not None and size <= digest.part_size)


def check_source(
    store: Store, url: StoreURL, checks: Checks, target: Store, target_url: StoreURL
) -> bool:
    """The bytes read must be the bytes the source stores; otherwise the copy is removed.

    Returns whether they were checked (False: the source reports no digest of them).
    """
    claimed, streamed = checks.claimed, checks.source
    if claimed is None or streamed is None:
        return False
    actual = streamed.whole() if isinstance(streamed, PartedMD5) else streamed.hexdigest()
    if actual is None:
        return False
    if actual == claimed.value:
        return True
    expected = claimed.value
    if claimed.listed:  # an ETag that looked like an MD5: ask the store what it is
        expected = plain_md5(store.reported_digest(url))
        if expected is None:
            return False  # not a digest after all (SSE-KMS/C)
        if expected == actual:
            return True
    target.delete(target_url)
    raise ChecksumMismatchError(
        f"the bytes read from the source have {claimed.algorithm} {actual}, the source reports "
        f"{expected}; the copy was removed",
        url=url.display(),
        algorithm=claimed.algorithm,
        expected=expected,
        actual=actual,
    )


def digest_of_stream(reader: BinaryIO, digest: Digest) -> Digest:
    """Hash the rest of a stream into ``digest`` (an empty one: see ``fresh``)."""
    buffer = bytearray(COPY_CHUNK)
    view = memoryview(buffer)
    while True:
        count = read_into(reader, view)
        if not count:
            return digest
        digest.update(view[:count])


def _read_back(store: Store, url: StoreURL, expected: Digest) -> Digest:
    """Hash the copy as it is stored: object stores in parallel ranges (as a streamed copy
    reads its source: bounded memory, no read-ahead buffers), others as one stream."""
    digest = expected.fresh()
    if reads_ranges(store, expected.size):
        stored = store.stat(url).size
        if stored != expected.size:  # ranges cover the expected size only: compare sizes
            digest.size = stored
            return digest
        for chunk in ranged_chunks(store, url, stored)(threading.Event()):
            digest.update(chunk)
        return digest
    with store.open_reader(url) as reader:
        return digest_of_stream(reader, digest)


def verify_copy(
    store: Store, url: StoreURL, expected: Digest, *, reported: str | None = None
) -> None:
    """Check what ``store`` holds at ``url`` against the digest of the bytes sent.

    Uses the store's own digest when it reports a comparable one (``reported``: what it
    answered the write with; else it is asked), else re-reads the object. On a mismatch the
    object is deleted and ChecksumMismatchError raised.
    """
    if isinstance(expected, CRC32C):  # what the writer answered is an MD5, if anything
        reported = store.stat(url).crc32c
    elif reported is None and isinstance(expected, PartedMD5):
        reported = store.reported_digest(url)
    verdict = expected.matches(reported) if reported else None
    actual = reported
    if verdict is None:
        reread = _read_back(store, url, expected)
        actual = reread.hexdigest()
        verdict = reread.size == expected.size and actual == expected.hexdigest()
    if not verdict:
        store.delete(url)
        raise ChecksumMismatchError(
            f"{expected.algorithm} of the copy is {actual}, the source's bytes were "
            f"{expected.hexdigest()}; the copy was removed",
            url=url.display(),
            algorithm=expected.algorithm,
            expected=expected.hexdigest(),
            actual=actual,
        )
