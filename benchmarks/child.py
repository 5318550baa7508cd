"""One measured case in its own process: ``python -m benchmarks.child CASE PARAMS_JSON``.

A case (benchmarks/cases.py) imports its libraries and returns the job; only the job is timed.
Printed as the last stdout line, in JSON:

- ``seconds``: wall time of the job (client construction included: a task builds its clients);
- ``cpu_seconds``: user + system CPU of this process and its waited-for children (rclone) during
  the job, all threads included;
- ``peak_rss_mib``: the process's high-water RSS (VmHWM), or its tool's (rclone) when higher;
- whatever the job returned (bytes moved, per-phase timings, the API it used).

Its own process per case, so one client's peak cannot hide behind another's.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

MIB = 1024 * 1024


def _cpu_seconds() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def peak_rss_mib(pid: int | str = "self") -> float:
    """The high-water RSS of a live process since its exec (VmHWM), 0 when it is gone.

    Not getrusage's ru_maxrss: Linux carries the forking process's high-water mark across
    exec, so every child would report at least the benchmark parent's peak.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / MIB
    except OSError:
        pass
    return 0.0


def main() -> None:
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    name, params = sys.argv[1], json.loads(sys.argv[2])
    from benchmarks import peers
    from benchmarks.cases import CASES

    job = {**CASES, **peers.CASES}[name](params)
    cpu, start = _cpu_seconds(), time.perf_counter()
    extra = job() or {}
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu
    peak = max(peak_rss_mib(), extra.pop("tool_peak_rss_mib", 0.0))
    result = {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mib": peak, **extra}
    sys.stdout.flush()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
