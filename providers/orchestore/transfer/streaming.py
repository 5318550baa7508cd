"""Stream one object between two stores: the source is read while the destination uploads.

A pump thread produces the source's bytes in order, hashes them (hashlib releases the GIL, so
the digest overlaps the upload) and hands them over a queue of QUEUE_DEPTH; this thread writes
them to the destination's AtomicWriter, which uploads parts as they fill. Two ways to read:

- object stores (RANGED_FAMILIES) with a known size: RANGE_SIZE ranged reads, PARALLEL_RANGES
  of them in flight and delivered in order, as boto3's and rclone's downloads do (one stream
  from a local S3 server is ~half as fast as several);
- anything else: one sequential stream in CHUNK-sized reads;
- objects known to fit in one CHUNK: one read and one write in this thread (a prefix of many
  small objects costs a GET and a PUT each, and no thread).

Memory is bounded by the ranges/chunks in flight plus the writer's part buffers, whatever the
object's size. Any failure on either side aborts the writer: the destination keeps no partial
object.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, BinaryIO

from orchestore.errors import StoreUnavailableError
from orchestore.stores.base import Store
from orchestore.urls import StoreURL

if TYPE_CHECKING:
    from orchestore.transfer.checksums import Digest
    from orchestore.transfer.progress import ProgressMeter

__all__ = ["CHUNK", "QUEUE_DEPTH", "RANGED_FAMILIES", "read_into", "reads_ranges", "stream_object"]

#: bytes per sequential read handed from the pump to the writer
CHUNK = 4 * 1024 * 1024
#: chunks waiting for the writer (one more is being produced, one being written)
QUEUE_DEPTH = 1
#: store families read in parallel ranges. Not Azure: its reader is one streamed obstore GET
#: that resumes cuts, and Azurite pays so much per request that 4 MiB ranges ran at 75 MB/s
#: where the one stream ran at 124 MB/s, at the same CPU (256 MiB, 3 runs, noisy)
RANGED_FAMILIES = frozenset({"gcs", "s3"})
#: bytes per ranged read, and how many are in flight
RANGE_SIZE = 4 * 1024 * 1024
PARALLEL_RANGES = 4
#: seconds between checks, while blocked on the queue, whether the other side gave up
_POLL = 0.5
_END = object()

Chunks = Callable[[threading.Event], Iterator[memoryview]]


def read_into(reader: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``reader`` as far as it goes; 0 at the end of the stream."""
    readinto = getattr(reader, "readinto", None)
    if readinto is not None:
        return int(readinto(view) or 0)
    data = reader.read(view.nbytes)
    view[: len(data)] = data
    return len(data)


def sequential_chunks(reader: BinaryIO) -> Chunks:
    """The source as one stream, CHUNK bytes at a time."""

    def chunks(stop: threading.Event) -> Iterator[memoryview]:
        while not stop.is_set():
            buffer = memoryview(bytearray(CHUNK))
            count = read_into(reader, buffer)
            if not count:
                return
            yield buffer[:count]

    return chunks


def ranged_chunks(store: Store, url: StoreURL, size: int) -> Chunks:
    """The source as RANGE_SIZE ranged reads, PARALLEL_RANGES in flight, in order."""

    def chunks(stop: threading.Event) -> Iterator[memoryview]:
        offsets = iter(range(0, size, RANGE_SIZE))
        pending: deque[tuple[int, Future[bytes]]] = deque()
        with ThreadPoolExecutor(PARALLEL_RANGES, thread_name_prefix="orchestore-range") as pool:
            try:
                while True:
                    while len(pending) < PARALLEL_RANGES:
                        offset = next(offsets, None)
                        if offset is None:
                            break
                        length = min(RANGE_SIZE, size - offset)
                        pending.append((length, pool.submit(store.read, url, offset, length)))
                    if not pending or stop.is_set():
                        return
                    length, future = pending.popleft()
                    data = future.result()
                    if len(data) != length:
                        raise StoreUnavailableError(
                            f"a ranged read returned {len(data)} of {length} bytes (did the "
                            "object change during the copy?)",
                            url=url.display(),
                        )
                    yield memoryview(data)
            finally:
                for _, future in pending:
                    future.cancel()

    return chunks


class _Pump(threading.Thread):
    """Produces, hashes and queues the source's chunks; queues its exception if it fails."""

    def __init__(self, chunks: Chunks, digest: Digest | None, handoff: queue.Queue[Any]) -> None:
        super().__init__(name="orchestore-transfer-reader", daemon=True)
        self._chunks, self._digest, self._handoff = chunks, digest, handoff
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            for chunk in self._chunks(self.stop):
                if self._digest is not None:
                    self._digest.update(chunk)
                self._put(chunk)
            self._put(_END)
        except BaseException as exc:  # handed to the writing thread, which raises it
            self._put(exc)

    def _put(self, item: object) -> None:
        while not self.stop.is_set():
            try:
                self._handoff.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue


def reads_ranges(source: Store, size: int | None) -> bool:
    """Whether a copy from ``source`` of ``size`` bytes reads parallel ranges."""
    return size is not None and size > RANGE_SIZE and source.family in RANGED_FAMILIES


def stream_object(
    source: Store,
    source_url: StoreURL,
    target: Store,
    target_url: StoreURL,
    *,
    size: int | None,
    digest: Digest | None,
    meter: ProgressMeter,
) -> tuple[int, str | None]:
    """Copy one object through this process.

    Returns the bytes copied and the digest the destination answered the commit with (if it
    did; see AtomicWriter.reported_digest).

    ``size`` (from the listing or a stat) selects ranged reads for object stores; None streams.
    """
    if size is not None and size <= CHUNK:  # small: one read, one write, no thread
        return _copy_small(source, source_url, size, target, target_url, digest, meter)
    if reads_ranges(source, size):
        assert size is not None
        return _pump_to(ranged_chunks(source, source_url, size), target, target_url, digest, meter)
    with source.open_reader(source_url) as reader:
        return _pump_to(sequential_chunks(reader), target, target_url, digest, meter)


def _copy_small(
    source: Store,
    source_url: StoreURL,
    size: int,
    target: Store,
    target_url: StoreURL,
    digest: Digest | None,
    meter: ProgressMeter,
) -> tuple[int, str | None]:
    """One GET and one PUT: what a prefix of many small objects is made of."""
    # With the size known the read is one ranged GET (s3fs would HEAD first to learn it).
    data = source.read(source_url, 0, size) if size else source.read(source_url)
    if digest is not None:
        digest.update(data)
    with target.open_writer(target_url) as writer:
        _share_digest(writer, digest)
        writer.write(data)
    meter.add_bytes(len(data))
    return len(data), writer.reported_digest


def _share_digest(writer: Any, digest: Digest | None) -> None:
    """A writer that sends each part with its MD5 (AzureBlockWriter) takes them from the
    digest of the source, which hashes every byte before the writer gets it: one MD5 pass,
    and the server checks each part against the source's bytes."""
    take = getattr(writer, "take_part_md5s", None)
    if take is not None and digest is not None:
        take(digest)


def _pump_to(
    chunks: Chunks,
    target: Store,
    target_url: StoreURL,
    digest: Digest | None,
    meter: ProgressMeter,
) -> tuple[int, str | None]:
    handoff: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_DEPTH)
    pump = _Pump(chunks, digest, handoff)
    copied = 0
    try:
        with target.open_writer(target_url) as writer:
            _share_digest(writer, digest)
            pump.start()
            while True:
                item = handoff.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                writer.write(item)
                copied += item.nbytes
                meter.add_bytes(item.nbytes)
    finally:
        pump.stop.set()
        if pump.is_alive():
            pump.join()
    return copied, writer.reported_digest
