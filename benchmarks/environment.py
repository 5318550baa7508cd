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


def _source_state() -> str:
    """The commit measured, and whether the package's sources differed from it."""
    from benchmarks.harness import ROOT

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], capture_output=True, text=True, timeout=30, check=False, cwd=ROOT
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown (not a git checkout)"
    changed = git("status", "--porcelain", "--", "providers", "prefect_blocks").splitlines()
    return f"{commit}" + (f" plus {len(changed)} uncommitted source files" if changed else "")


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
        f"- orchestore source: commit {_source_state()}",
        f"- versions: {versions}",
        f"- servers: SeaweedFS {_binary_version('weed', 'version')}; "
        f"{_binary_version('rclone', 'version')} (serve s3 and the rclone rows); Azurite 3 (npm); "
        "gcp-storage-emulator (in memory)",
        "",
    ]
    return "\n".join(lines)


FOOTER = """## Notes on method

- Each row is one process (`python -m benchmarks.child`): its library is imported first, then
  only the job is timed; client construction is inside the job, as in a task. CPU is user +
  system of the process and its children (rclone) during the job; peak RSS is the process's
  VmHWM (for rclone, rclone's own), not getrusage's ru_maxrss, which Linux carries over from
  the forking parent.
- Every peer runs with its library's defaults (what hand-written task code gets), except
  azure-storage-blob, given max_concurrency=4 (its default 1 is the slow path nobody tunes).
- Each destination is checked (size, or object count for the prefix copy) and removed after its
  row; a row that left the wrong thing behind shows as failed.
- Sizes: `full` is the issue's, 1 GiB objects and 10,000 prefix objects (about 20 minutes on
  2 cores); `make bench BENCH_SIZE_MIB=512 BENCH_OBJECTS=2000` halves it.
- Airflow's S3Hook and ObjectStoragePath (apache-airflow-providers-amazon) and prefect-aws's
  S3Bucket run in venvs of their own (.venv/bench-airflow, .venv/bench-prefect, built by
  `make bench`); their peak RSS includes importing Airflow or Prefect, as in a task.
- rclone's gcs backend fails against gcp-storage-emulator (HTTP 308 on its resumable upload),
  so jobs that write to gs have no rclone row; it reads from the emulator fine.
- moto is not used here: it is slow for big objects (issue 10); SeaweedFS and rclone serve s3
  are the S3 servers. Bytecode is cached for the run (PYTHONPYCACHEPREFIX in the run's
  folder) so that no child recompiles its libraries under PYTHONDONTWRITEBYTECODE.
"""
