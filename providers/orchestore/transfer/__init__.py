"""Copy data between any two stores: ``orchestore.copy(src, dst)``.

One module per job:

- ``engine``     copy(): resolve both ends, plan the objects, run a bounded pool of workers
- ``objects``    one object: server-side within a store, else streamed; ``sync``'s comparison
- ``streaming``  the pipelined stream (read the source while the destination uploads)
- ``checksums``  the cheapest digests that verify a copy end to end (GCS's CRC32C, MD5s shaped
                 as the destination reports them, a CRC-32 read-back), in one pass
- ``progress``   TransferProgress, TransferSummary and the throttled progress meter

Nothing here imports a cloud SDK: each store does that on first use.
"""

from orchestore.transfer.engine import copy
from orchestore.transfer.progress import ProgressCallback, TransferProgress, TransferSummary

__all__ = ["ProgressCallback", "TransferProgress", "TransferSummary", "copy"]
