"""Peak memory of big transfers: orchestore's cloud stores against the libraries' defaults.

Run: ``.venv/core/bin/python -m benchmarks.stream_memory [--size-mib 256] [--stores s3 az gs]``

Each measurement runs in a fresh process against a local server (moto, Azurite, the GCS
emulator, started by the same code the tests use), so one's peak cannot hide another's:

- ``open``:   write SIZE through ``item.open("wb")`` in 1 MiB writes, read it back through
              ``item.open("rb")`` in 1 MiB reads, compare sha256;
- ``updown``: ``item.upload(local)`` then ``item.download(local)``;
- ``peer``:   the same upload/download with the fsspec library's defaults
              (s3fs/adlfs/gcsfs ``put_file``/``get_file``), as hand-written code would do.

Reported: peak RSS growth over the process's RSS just before the transfer (MiB; the high-water
mark from getrusage when it moved, else a 5 ms sampler) and the wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

MIB = 1024 * 1024
_BLOCK = os.urandom(MIB)


def _chunks(size: int) -> Iterator[bytes]:
    """SIZE bytes in 1 MiB chunks that differ from each other (no dedup, no compression)."""
    for index in range(size // MIB):
        yield index.to_bytes(8, "big") + _BLOCK[8:]


class _PeakSampler:
    """The highest RSS seen while a block runs, plus getrusage's exact high-water mark."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._max_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> _PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        max_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if max_after > self._max_before:
            self.peak = max(self.peak, max_after)

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.baseline) / MIB


# -- one store's server and handles ------------------------------------------------------------
@contextlib.contextmanager
def _s3(workdir: Path) -> Iterator[tuple[str, Any, Callable[[], Any]]]:
    import s3fs

    from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET, MotoServer, admin_credentials

    with MotoServer(workdir) as server:
        server.client().create_bucket(Bucket="bench")

        def peer() -> Any:
            return s3fs.S3FileSystem(
                key=ADMIN_KEY_ID,
                secret=ADMIN_SECRET,
                endpoint_url=server.endpoint_url,
                skip_instance_cache=True,
            )

        yield "s3://bench/", admin_credentials(server), peer


@contextlib.contextmanager
def _az(workdir: Path) -> Iterator[tuple[str, Any, Callable[[], Any]]]:
    import adlfs
    from azure.storage.blob import BlobServiceClient

    from orchestore.credentials import AzureCredentials
    from tests.servers.azurite import AzuriteServer

    with AzuriteServer(workdir) as server:
        with BlobServiceClient.from_connection_string(server.connection_string) as client:
            client.create_container("bench")
        credentials = AzureCredentials(
            account_name=server.account_name,
            account_key=server.account_key,
            blob_endpoint=server.blob_endpoint,
        )

        def peer() -> Any:
            return adlfs.AzureBlobFileSystem(
                connection_string=server.connection_string, skip_instance_cache=True
            )

        yield "az://bench/", credentials, peer


@contextlib.contextmanager
def _gs(workdir: Path) -> Iterator[tuple[str, Any, Callable[[], Any]]]:
    import gcsfs

    from orchestore.credentials import GCSCredentials
    from tests.servers.gcs_emulator import GcsEmulator, create_bucket

    with GcsEmulator() as server:
        create_bucket(server.endpoint_url, "bench")
        credentials = GCSCredentials(anonymous=True, endpoint_url=server.endpoint_url)

        def peer() -> Any:
            return gcsfs.GCSFileSystem(
                token="anon",  # noqa: S106 - gcsfs's name for anonymous access
                endpoint_url=server.endpoint_url,
                skip_instance_cache=True,
            )

        yield "gs://bench/", credentials, peer


SERVERS = {"s3": _s3, "az": _az, "gs": _gs}


# -- the measurements (in a child process) ------------------------------------------------------
def _measure_open(folder: str, credentials: Any, size: int, workdir: Path) -> dict[str, Any]:
    import orchestore

    item = orchestore.get_dataitem(folder + "big-open.bin", credentials)
    item.put(b"warm-up")  # imports, connection pools and clients exist before the baseline
    item.get()
    written, read = hashlib.sha256(), hashlib.sha256()
    with _PeakSampler() as sampler:
        start = time.perf_counter()
        with item.open("wb") as writer:
            for chunk in _chunks(size):
                written.update(chunk)
                writer.write(chunk)
        with item.open("rb") as reader:
            while block := reader.read(MIB):
                read.update(block)
        seconds = time.perf_counter() - start
    assert written.hexdigest() == read.hexdigest(), "the round trip changed the data"
    return {"growth_mib": sampler.growth_mib, "seconds": seconds}


def _local_file(workdir: Path, size: int) -> Path:
    path = workdir / "source.bin"
    with path.open("wb") as local:
        for chunk in _chunks(size):
            local.write(chunk)
    return path


def _measure_updown(folder: str, credentials: Any, size: int, workdir: Path) -> dict[str, Any]:
    import orchestore

    source = _local_file(workdir, size)
    item = orchestore.get_dataitem(folder + "big-updown.bin", credentials)
    item.put(b"warm-up")
    item.get()
    with _PeakSampler() as sampler:
        start = time.perf_counter()
        item.upload(source)
        item.download(workdir / "back.bin")
        seconds = time.perf_counter() - start
    assert (workdir / "back.bin").stat().st_size == size
    return {"growth_mib": sampler.growth_mib, "seconds": seconds}


def _measure_peer(folder: str, peer: Callable[[], Any], size: int, workdir: Path) -> dict[str, Any]:
    source = _local_file(workdir, size)
    fs = peer()
    path = folder.split("://", 1)[1] + "big-peer.bin"
    fs.pipe_file(path, b"warm-up")
    fs.cat_file(path)
    with _PeakSampler() as sampler:
        start = time.perf_counter()
        fs.put_file(str(source), path)
        fs.get_file(path, str(workdir / "back.bin"))
        seconds = time.perf_counter() - start
    assert (workdir / "back.bin").stat().st_size == size
    return {"growth_mib": sampler.growth_mib, "seconds": seconds}


def _child(store: str, mode: str, size: int) -> None:
    os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"
    with tempfile.TemporaryDirectory(prefix=f"bench-{store}-") as folder:
        workdir = Path(folder)
        (workdir / "server").mkdir()
        with SERVERS[store](workdir / "server") as (url, credentials, peer):
            if mode == "open":
                result = _measure_open(url, credentials, size, workdir)
            elif mode == "updown":
                result = _measure_updown(url, credentials, size, workdir)
            else:
                result = _measure_peer(url, peer, size, workdir)
            import orchestore

            orchestore.default_manager().close()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--stores", nargs="+", default=list(SERVERS), choices=list(SERVERS))
    parser.add_argument("--modes", nargs="+", default=["open", "updown", "peer"])
    parser.add_argument("--child", nargs=2, metavar=("STORE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = args.size_mib * MIB
    if args.child:
        _child(args.child[0], args.child[1], size)
        return
    print(f"{args.size_mib} MiB per transfer; peak RSS growth over the pre-transfer RSS")
    print(f"{'store':<6} {'mode':<8} {'growth MiB':>11} {'seconds':>8}  vs peer (time, memory)")
    for store in args.stores:
        results = {}
        for mode in args.modes:
            command = [
                sys.executable,
                "-m",
                "benchmarks.stream_memory",
                "--size-mib",
                str(args.size_mib),
                "--child",
                store,
                mode,
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"{store:<6} {mode:<8} failed:\n{done.stderr[-2000:]}")
                continue
            results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        for mode, result in results.items():
            versus = ""
            if "peer" in results and mode != "peer":
                peer = results["peer"]
                versus = (
                    f"  {result['seconds'] / peer['seconds']:.2f}x time,"
                    f" {result['growth_mib'] / max(peer['growth_mib'], 1):.2f}x memory"
                )
            growth, seconds = result["growth_mib"], result["seconds"]
            print(f"{store:<6} {mode:<8} {growth:>11.1f} {seconds:>8.2f}{versus}")


if __name__ == "__main__":
    main()
