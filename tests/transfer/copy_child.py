"""Run one orchestore.copy in a fresh process and print its peak RSS (for test_memory).

Usage: python -m tests.transfer.copy_child SRC DST [CREDENTIALS_JSON]
Prints JSON: the RSS before the copy and the peak after it (MiB), and the summary.
"""

from __future__ import annotations

import json
import resource
import sys


def _high_water_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    import orchestore

    source, target = sys.argv[1], sys.argv[2]
    credentials = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    destination = orchestore.get_dataitem(target, credentials)
    if destination.kind == "file":  # a sandboxed file store: another store, so a streamed copy
        destination = orchestore.get_dataitem(target, root="/")
    destination.exists()  # builds the client before the baseline is taken
    before = _high_water_mib()
    summary = orchestore.copy(source, destination)
    print(json.dumps({"before": before, "peak": _high_water_mib(), **summary.as_dict()}))


if __name__ == "__main__":
    main()
