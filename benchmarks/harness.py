"""The parent's side: run a case in a fresh process, seed and check the stores out of band.

``measure()`` starts ``python -m benchmarks.child`` (the core venv's Python, or another venv's
for the Airflow rows), reads its JSON line, and turns a crash or a timeout into a failed row
rather than a failed run. The store helpers use the raw SDKs with fixed settings, so seeding and
checking never depend on the client being measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import clients
from benchmarks.servers import BUCKET

MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
_BLOCK = os.urandom(MIB)


@dataclass
class Result:
    """One case's figures (the median round), or why it has none."""

    label: str
    seconds: float | None = None
    cpu_seconds: float | None = None
    peak_rss_mib: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.seconds is not None


def measure(
    label: str,
    case: str,
    params: dict[str, Any],
    *,
    python: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 900.0,
) -> Result:
    """Run one case once in its own process."""
    command = [python or sys.executable, "-m", "benchmarks.child", case, json.dumps(params)]
    environment = {**os.environ, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false", **(env or {})}
    environment["PYTHONPATH"] = str(ROOT)
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
            cwd=ROOT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Result(label, error=f"timed out after {timeout:.0f} s")
    payload = _last_json_line(done.stdout)
    if payload is None:
        return Result(label, error=_failure(done))
    result = Result(
        label,
        seconds=payload.pop("seconds"),
        cpu_seconds=payload.pop("cpu_seconds"),
        peak_rss_mib=payload.pop("peak_rss_mib"),
        extra=payload,
    )
    if done.returncode != 0:  # finished the job, then died on exit (obstore did once)
        result.notes.append(f"process exited with {done.returncode} after the job")
    return result


def _last_json_line(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def _failure(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else f"exit code {done.returncode}"
    return last[:300]


def median_result(rounds: list[Result]) -> Result:
    """The round with the median wall time; a failure wins (it must show)."""
    failed = [result for result in rounds if not result.ok]
    if failed:
        return failed[0]
    ordered = sorted(rounds, key=lambda result: result.seconds or 0.0)
    chosen = ordered[len(ordered) // 2]
    for result in rounds:
        chosen.notes.extend(note for note in result.notes if note not in chosen.notes)
    return chosen


# -- local files --------------------------------------------------------------------------------
def _chunks(size: int) -> Iterator[bytes]:
    """SIZE bytes in 1 MiB chunks that differ from each other (no dedup, no compression)."""
    for index in range(size // MIB):
        yield index.to_bytes(8, "big") + _BLOCK[8:]
    if size % MIB:
        yield _BLOCK[: size % MIB]


def write_local_file(path: Path, size: int) -> Path:
    with path.open("wb") as local:
        for chunk in _chunks(size):
            local.write(chunk)
    return path


# -- the stores, out of band --------------------------------------------------------------------
def seed_object(endpoints: dict[str, str], location: dict[str, str], source: Path) -> None:
    """Upload a local file to a location with the raw SDK (its fast settings)."""
    store, key = location["store"], location["key"]
    if store in ("s3", "s3_rclone"):
        clients.boto3_client(endpoints, store).upload_file(str(source), BUCKET, key)
    elif store == "az":
        with clients.azure_container(endpoints) as container, source.open("rb") as local:
            container.upload_blob(key, local, overwrite=True, max_concurrency=4)
    elif store == "gs":
        clients.gcs_bucket(endpoints).blob(key).upload_from_filename(str(source))
    else:
        raise ValueError(f"cannot seed {store}")


def object_size(endpoints: dict[str, str], location: dict[str, str]) -> int | None:
    """The stored size of a location, None when absent."""
    store, key = location["store"], location["key"]
    if store == "file":
        return Path(key).stat().st_size if Path(key).exists() else None
    if store in ("s3", "s3_rclone"):
        client = clients.boto3_client(endpoints, store)
        try:
            return int(client.head_object(Bucket=BUCKET, Key=key)["ContentLength"])
        except client.exceptions.ClientError:
            return None
    if store == "az":
        from azure.core.exceptions import ResourceNotFoundError

        with clients.azure_container(endpoints) as container:
            try:
                return int(container.get_blob_client(key).get_blob_properties().size)
            except ResourceNotFoundError:
                return None
    blob = clients.gcs_bucket(endpoints).get_blob(key)
    return None if blob is None else int(blob.size)


def delete(endpoints: dict[str, str], location: dict[str, str]) -> None:
    """Remove a location (an object, or every object under a prefix ending in ``/``)."""
    store, key = location["store"], location["key"]
    if store == "file":
        Path(key).unlink(missing_ok=True)
    elif store in ("s3", "s3_rclone"):
        client = clients.boto3_client(endpoints, store)
        for name in list_keys(endpoints, location):
            client.delete_object(Bucket=BUCKET, Key=name)
    elif store == "az":
        with clients.azure_container(endpoints) as container:
            names = list_keys(endpoints, location)
            for start in range(0, len(names), 256):
                container.delete_blobs(*names[start : start + 256])
    else:
        bucket = clients.gcs_bucket(endpoints)
        for name in list_keys(endpoints, location):
            bucket.blob(name).delete()


def list_keys(endpoints: dict[str, str], location: dict[str, str]) -> list[str]:
    """The keys at a location: the object itself, or everything under a ``/`` prefix."""
    store, key = location["store"], location["key"]
    if store in ("s3", "s3_rclone"):
        client = clients.boto3_client(endpoints, store)
        names = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=key):
            names += [entry["Key"] for entry in page.get("Contents", [])]
    elif store == "az":
        with clients.azure_container(endpoints) as container:
            names = list(container.list_blob_names(name_starts_with=key))
    else:
        names = [blob.name for blob in clients.gcs_bucket(endpoints).list_blobs(prefix=key)]
    return [name for name in names if name == key or key.endswith("/")]


def seed_prefix(endpoints: dict[str, str], prefix: str, count: int, size: int) -> None:
    """``count`` objects of ``size`` random bytes under an S3 prefix, 16 uploads at a time."""
    client = clients.boto3_client(endpoints)

    def put(index: int) -> None:
        name = f"{prefix}{index // 1000:03d}/obj-{index:06d}.bin"
        client.put_object(Bucket=BUCKET, Key=name, Body=os.urandom(size))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(count)))
