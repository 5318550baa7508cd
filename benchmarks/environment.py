"""The head of RESULTS.md: when, on what machine, with which versions, at what scale."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from importlib import metadata

from benchmarks.servers import venv_binary
from benchmarks.settings import Scale

DISTRIBUTIONS = [
    "orchestore",
    "boto3",
    "s3fs",
    "adlfs",
    "gcsfs",
    "obstore",
    "azure-storage-blob",
    "google-cloud-storage",
    "fsspec",
    "moto",
    "gcp-storage-emulator",
]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _binary_version(name: str, *args: str) -> str:
    try:
        done = subprocess.run(
            [str(venv_binary(name)), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        return "not found"
    return (done.stdout.strip().splitlines() or ["?"])[0]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def header(scale: Scale, minutes: float, scenarios: list[str]) -> str:
    versions = ", ".join(f"{name} {_version(name)}" for name in DISTRIBUTIONS)
    lines = [
        "# orchestore benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks.run`); every figure in a table comes from",
        "the same run, each client in its own process against the same local server. Ratios",
        "`orchestore ÷ this` above 1.00x mean orchestore is faster. The local servers, not the",
        "clients, cap throughput (see issue 10), so compare ratios, CPU and RSS, not MB/s with",
        "a cloud. The machine is shared while this runs: figures are noisy, ratios less so.",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {os.cpu_count()} cores ({_cpu_model()}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}",
        f"- scale: `{scale.name}` ({scale.big_mib} MiB objects, {scale.small_ops} small ops x "
        f"{scale.small_rounds} rounds, {scale.prefix_objects:,} objects in the prefix copy); "
        f"scenarios: {', '.join(scenarios)}; {minutes:.1f} min",
        f"- versions: {versions}",
        f"- servers: SeaweedFS {_binary_version('weed', 'version')}; "
        f"{_binary_version('rclone', 'version')} (serve s3 and the rclone rows); Azurite 3 (npm); "
        "gcp-storage-emulator (in memory)",
        "",
    ]
    return "\n".join(lines)
