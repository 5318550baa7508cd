"""orchestore.copy vs raw boto3 on SeaweedFS: a quick upload/download side-by-side.

    .venv/core/bin/python -m benchmarks.transfer_vs_boto3 [SIZE_MIB] [RUNS] [JOBS]

JOBS (comma-separated, default all): boto3-up, orchestore-up, orchestore-up-nocheck,
boto3-down, orchestore-down, orchestore-down-nocheck. Each run is a fresh process; it prints
one markdown row per job with the medians of MB/s, CPU seconds, peak RSS and the RSS before
the job (imports and a built client). The engine's own tool; ``make bench`` is the full set.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.servers import BUCKET, KEY_ID, REGION, SECRET, SeaweedFS

JOBS = [
    "boto3-up",
    "orchestore-up",
    "orchestore-up-nocheck",
    "boto3-down",
    "orchestore-down",
    "orchestore-down-nocheck",
]

CHILD = """
import json, resource, sys, time
job, endpoint, local, key, bucket, key_id, secret, region = sys.argv[1:9]

def high_water():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

if job.startswith("orchestore"):
    import orchestore
    fields = dict(access_key_id=key_id, secret_access_key=secret, endpoint_url=endpoint,
                  region=region)
    remote = orchestore.get_dataitem(f"s3://{bucket}/{key}", fields)
    remote.exists()
    downloaded = orchestore.get_dataitem(local + ".down", root="/")
else:
    import boto3
    client = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                          aws_access_key_id=key_id, aws_secret_access_key=secret)
    client.list_buckets()
usage = resource.getrusage(resource.RUSAGE_SELF)
started, before = time.perf_counter(), high_water()
checksum = not job.endswith("nocheck")
if job.startswith("orchestore-up"):
    orchestore.copy(local, remote, checksum=checksum)
elif job.startswith("orchestore-down"):
    orchestore.copy(remote, downloaded, checksum=checksum)
elif job == "boto3-up":
    client.upload_file(local, bucket, key)
else:
    client.download_file(bucket, key, local + ".down")
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
print(json.dumps({"seconds": seconds, "cpu": cpu, "before": before, "peak": high_water()}))
"""


def _run(job: str, endpoint: str, local: Path, size: int) -> dict[str, float]:
    key = f"object-{job.split('-')[0]}"
    command = [sys.executable, "-c", CHILD, job, endpoint, str(local), key]
    command += [BUCKET, KEY_ID, SECRET, REGION]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["mb_s"] = size / 1e6 / result["seconds"]
    return result


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    jobs = sys.argv[3].split(",") if len(sys.argv) > 3 else JOBS
    size = size_mib * 1024 * 1024
    with tempfile.TemporaryDirectory() as work:
        local = Path(work) / "source.bin"
        with local.open("wb") as handle:
            for _ in range(size_mib):
                handle.write(os.urandom(1024 * 1024))
        with SeaweedFS(Path(work) / "weed") as weed:
            print(f"| job ({size_mib} MiB, median of {runs}) | MB/s | CPU s | peak RSS MiB |")
            print("|---|---|---|---|")
            for job in jobs:
                results = [_run(job, weed.endpoint_url, local, size) for _ in range(runs)]

                def median(name: str, results: list[dict[str, float]] = results) -> float:
                    return statistics.median(result[name] for result in results)

                print(
                    f"| {job} | {median('mb_s'):.0f} | {median('cpu'):.2f} | "
                    f"{median('peak'):.0f} (before: {median('before'):.0f}) |",
                    flush=True,
                )
                (Path(work) / "source.bin.down").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
