"""Reading over HTTP: orchestore's http store against urllib and fsspec's HTTP filesystem.

Run: ``.venv/core/bin/python -m benchmarks.http_read [--size-mib 64] [--rounds 5]``

One local server (tests/servers/http_server.py, HTTP/1.1 keep-alive) serves one file; each
client reads it whole, then reads 200 small ranges, in the same process and run. Reported:
the median time per task and each peer's time as a ratio to orchestore's (>1: orchestore is
faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import fsspec

import orchestore
from tests.servers.http_server import HttpFileServer

RANGES = 200
RANGE_SIZE = 4096


def _median_seconds(task: Callable[[], object], rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        task()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def _offsets(size: int) -> list[int]:
    step = max(1, (size - RANGE_SIZE) // RANGES)
    return [i * step for i in range(RANGES)]


def _clients(url: str, size: int) -> dict[str, dict[str, Callable[[], object]]]:
    # the benchmark server is on 127.0.0.1, which the http store refuses unless allowlisted
    item = orchestore.get_dataitem(url, orchestore.HttpCredentials(allowed_hosts=["127.0.0.1"]))
    http_fs = fsspec.filesystem("http", skip_instance_cache=True)
    offsets = _offsets(size)

    def urllib_range(offset: int) -> bytes:
        headers = {"Range": f"bytes={offset}-{offset + RANGE_SIZE - 1}"}
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - a local http URL
        with urllib.request.urlopen(request) as response:  # noqa: S310 - a local http URL
            return response.read()

    def urllib_whole() -> bytes:
        with urllib.request.urlopen(url) as response:  # noqa: S310 - a local http URL
            return response.read()

    return {
        "orchestore": {
            "whole": item.get,
            "ranges": lambda: [item.get(offset=o, size=RANGE_SIZE) for o in offsets],
        },
        "urllib": {
            "whole": urllib_whole,
            "ranges": lambda: [urllib_range(o) for o in offsets],
        },
        "fsspec-http": {
            "whole": lambda: http_fs.cat_file(url),
            "ranges": lambda: [http_fs.cat_file(url, o, o + RANGE_SIZE) for o in offsets],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "blob.bin").write_bytes(os.urandom(size))
        with HttpFileServer(Path(folder)) as server:
            clients = _clients(f"{server.base_url}/blob.bin", size)
            results = {
                name: {task: _median_seconds(run, args.rounds) for task, run in tasks.items()}
                for name, tasks in clients.items()
            }
            orchestore.default_manager().close()
    print(f"http read, {args.size_mib} MiB file, {RANGES} x {RANGE_SIZE} B ranges", end="")
    print(f", median of {args.rounds} rounds")
    print(f"{'client':<12} {'whole (s)':>10} {'ratio':>6} {'ranges (s)':>11} {'ratio':>6}")
    base = results["orchestore"]
    for name, timing in results.items():
        print(
            f"{name:<12} {timing['whole']:>10.3f} {timing['whole'] / base['whole']:>6.2f}"
            f" {timing['ranges']:>11.3f} {timing['ranges'] / base['ranges']:>6.2f}"
        )


if __name__ == "__main__":
    main()
