"""Stream one object between two stores: the source is read while the destination uploads.

A reader thread fills CHUNK-sized buffers (hashing each one: hashlib releases the GIL, so the
digest overlaps the upload) and hands them over a queue of QUEUE_DEPTH; this thread writes
them to the destination's AtomicWriter, which uploads parts as they fill. Memory is bounded by
the chunks in flight plus the writer's part buffer, whatever the object's size. Any failure
on either side aborts the writer: the destination keeps no partial object.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, Any, BinaryIO

from orchestore.stores.base import Store
from orchestore.urls import StoreURL

if TYPE_CHECKING:
    from orchestore.transfer.checksums import PartedMD5
    from orchestore.transfer.progress import ProgressMeter

__all__ = ["CHUNK", "QUEUE_DEPTH", "read_into", "stream_object"]

#: bytes per buffer handed from the reader to the writer
CHUNK = 4 * 1024 * 1024
#: buffers waiting for the writer; with the one being read and the one being written, at most
#: QUEUE_DEPTH + 2 chunks are held
QUEUE_DEPTH = 2
#: seconds between checks, while blocked on the queue, whether the other side gave up
_POLL = 0.5
_END = object()


def read_into(reader: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``reader`` as far as it goes; 0 at the end of the stream."""
    readinto = getattr(reader, "readinto", None)
    if readinto is not None:
        return int(readinto(view) or 0)
    data = reader.read(view.nbytes)
    view[: len(data)] = data
    return len(data)


class _Reader(threading.Thread):
    """Reads, hashes and queues the source's chunks; queues its exception if it fails."""

    def __init__(
        self, source: BinaryIO, digest: PartedMD5 | None, chunks: queue.Queue[Any]
    ) -> None:
        super().__init__(name="orchestore-transfer-reader", daemon=True)
        self._source, self._digest, self._chunks = source, digest, chunks
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                buffer = memoryview(bytearray(CHUNK))
                count = read_into(self._source, buffer)
                if not count:
                    break
                chunk = buffer[:count]
                if self._digest is not None:
                    self._digest.update(chunk)
                self._put(chunk)
            self._put(_END)
        except BaseException as exc:  # handed to the writing thread, which raises it
            self._put(exc)

    def _put(self, item: object) -> None:
        while not self.stop.is_set():
            try:
                self._chunks.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue


def stream_object(
    source: Store,
    source_url: StoreURL,
    target: Store,
    target_url: StoreURL,
    *,
    digest: PartedMD5 | None,
    meter: ProgressMeter,
) -> int:
    """Copy one object through this process; returns the bytes copied."""
    chunks: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_DEPTH)
    copied = 0
    with source.open_reader(source_url) as reader:
        pump = _Reader(reader, digest, chunks)
        try:
            with target.open_writer(target_url) as writer:
                pump.start()
                while True:
                    item = chunks.get()
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
    return copied
