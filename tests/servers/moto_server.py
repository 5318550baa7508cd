"""moto's server (S3, STS, IAM) as a real subprocess on 127.0.0.1, for the s3 store's tests.

The harness starts the venv's ``moto_server`` console script on a free port, waits until it
answers, and stops it after the session. Besides the AWS APIs, moto exposes what the tests use
to look at the wire instead of trusting the client:

- ``recording()``: moto's request recorder, so a test sees every request the server received
  (method, URL, headers: the access key id in the Authorization header, the session token);
- ``enforcing_auth()``: moto checks signatures and IAM policies (off by default, when it
  accepts any key), so wrong secrets and denied access come back as a real S3 would send them.

Only the standard library is imported at module level: this plugin is loaded by every suite,
also in the airflow and prefect environments.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers.lifecycle import ManagedServer, stop_process

HOST = "127.0.0.1"
REGION = "us-east-1"
#: moto accepts any key while auth is not enforced; these sign the harness's own requests
ADMIN_KEY_ID = "AKIAORCHESTOREADMIN1"
ADMIN_SECRET = "moto-admin-secret-6c1f0e7b"
BUCKET = "orchestore-tests"
_START_TIMEOUT = 30.0
_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/")
#: moto_server, with its request recorder serialised: moto appends each request to the
#: recording file unlocked, so two concurrent uploads (multipart parts in flight) interleave
#: their lines and break both the recording and the requests
_LAUNCH = """
import sys, threading
from moto.moto_api._internal.recorder.models import Recorder
from moto.server import main
_lock, _record = threading.Lock(), Recorder._record_request
def _locked(self, *args, **kwargs):
    with _lock:
        return _record(self, *args, **kwargs)
Recorder._record_request = _locked
sys.exit(main(sys.argv[1:]))
"""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as moto received it."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    @property
    def access_key_id(self) -> str | None:
        """The key id the request was signed with; None for an unsigned request."""
        match = _CREDENTIAL_RE.search(self.header("Authorization") or "")
        return match.group(1) if match else None

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path

    @property
    def query(self) -> str:
        return urllib.parse.urlsplit(self.url).query

    @property
    def sts_action(self) -> str | None:
        """``AssumeRole`` and the like for STS (form-encoded POST) requests."""
        if self.method != "POST":
            return None
        fields = urllib.parse.parse_qs(self.body.decode("utf-8", "replace"))
        return fields.get("Action", [None])[0]


class MotoServer(ManagedServer):
    """``moto_server`` on 127.0.0.1 and a free port; ``endpoint_url`` once started."""

    def __init__(self, workdir: Path, tls: tuple[Path, Path] | None = None) -> None:
        self.workdir = workdir
        self.tls = tls  # (certificate, key): serve https with that certificate
        self.recording_file = workdir / "recording.jsonl"
        self.log_file = workdir / "moto.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._clients: dict[str, Any] = {}

    @property
    def endpoint_url(self) -> str:
        if not self.port:
            raise RuntimeError("the server is not started")
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> MotoServer:
        executable = Path(sys.executable).parent / "moto_server"
        if not executable.exists():
            pytest.skip(f"moto_server is not installed beside {sys.executable} (moto[server])")
        for _ in range(3):  # a free port can be taken between our probe and moto's bind
            self.port = _free_port()
            if self._launch(executable):
                return self
        raise RuntimeError(f"moto_server did not start; see {self.log_file}")

    def _launch(self, executable: Path) -> bool:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        env["MOTO_RECORDER_FILEPATH"] = str(self.recording_file)
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(Path(sys.executable)),
                    "-c",
                    _LAUNCH,
                    "-H",
                    HOST,
                    "-p",
                    str(self.port),
                    *self._tls_arguments(),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                if self._get("/moto-api/").status == 200:
                    return True
            time.sleep(0.05)
        self.stop()
        return False

    def _tls_arguments(self) -> list[str]:
        return ["-c", str(self.tls[0]), "-k", str(self.tls[1])] if self.tls else []

    def stop(self) -> None:
        process, self._process = self._process, None
        stop_process(process)

    # -- the harness's own access -------------------------------------------------------------
    def client(self, service: str = "s3", **options: Any) -> Any:
        """A boto3 client for setting up and checking state out of band (the admin keys)."""
        cacheable = not options
        if cacheable and service in self._clients:
            return self._clients[service]
        import boto3

        client = boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=options.pop("key_id", ADMIN_KEY_ID),
            aws_secret_access_key=options.pop("secret", ADMIN_SECRET),
            **options,
        )
        if cacheable:
            self._clients[service] = client
        return client

    def create_user(self, name: str, actions: list[str] | None = None) -> tuple[str, str]:
        """An IAM user allowed ``actions`` (none by default); returns (key id, secret)."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        if actions:
            statement = {"Effect": "Allow", "Action": actions, "Resource": "*"}
            policy = {"Version": "2012-10-17", "Statement": [statement]}
            iam.put_user_policy(
                UserName=name, PolicyName="allow", PolicyDocument=json.dumps(policy)
            )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[RecordedRequest]]:
        """Every request moto receives inside the block; the list is filled when it ends."""
        requests: list[RecordedRequest] = []
        self._post("/moto-api/recorder/reset-recording")
        self._post("/moto-api/recorder/start-recording")
        try:
            yield requests
        finally:
            self._post("/moto-api/recorder/stop-recording")
            text = self._get("/moto-api/recorder/download-recording").read().decode()
            requests.extend(_parse_recording(text))
            self._post("/moto-api/recorder/reset-recording")

    @contextlib.contextmanager
    def enforcing_auth(self) -> Iterator[None]:
        """moto verifies signatures and IAM policies inside the block (create users first)."""
        self._post("/moto-api/reset-auth", b"0")
        try:
            yield
        finally:
            self._post("/moto-api/reset-auth", b"inf")

    def _context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=str(self.tls[0])) if self.tls else None

    def _get(self, path: str) -> Any:
        url = self.endpoint_url + path
        return urllib.request.urlopen(url, timeout=10, context=self._context())  # noqa: S310

    def _post(self, path: str, body: bytes = b"") -> None:
        request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 server
            self.endpoint_url + path,
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain"},  # moto reads the raw body, not a form
        )
        with urllib.request.urlopen(request, timeout=10, context=self._context()) as response:  # noqa: S310
            response.read()


def _parse_recording(text: str) -> list[RecordedRequest]:
    requests = []
    for line in text.splitlines():
        entry = json.loads(line)
        body = entry.get("body") or ""
        raw = base64.b64decode(body) if entry.get("body_encoded") else body.encode()
        requests.append(RecordedRequest(entry["method"], entry["url"], entry["headers"], raw))
    return requests


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's S3/STS/IAM server for the whole session."""
    with MotoServer(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(scope="session")
def moto_bucket(moto_server: MotoServer) -> str:
    """A bucket created once for the session; tests use their own prefixes in it."""
    moto_server.client().create_bucket(Bucket=BUCKET)
    return BUCKET


def admin_credentials(server: MotoServer, **fields: Any) -> Any:
    """S3Credentials with the admin keys for ``server`` (plus ``fields``)."""
    from orchestore.credentials import S3Credentials

    defaults = {"endpoint_url": server.endpoint_url, "region": REGION}
    return S3Credentials(
        access_key_id=ADMIN_KEY_ID, secret_access_key=ADMIN_SECRET, **{**defaults, **fields}
    )


def s3_contract_case(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    """The contract suite's s3 case: a fresh prefix in the session bucket, seeded with boto3."""
    from tests.contract.conftest import StoreCase  # imported late: that module imports this one

    server: MotoServer = request.getfixturevalue("moto_server")
    bucket: str = request.getfixturevalue("moto_bucket")
    client = server.client()
    prefix = f"s3://{bucket}/"

    def seed(url: str, data: bytes) -> None:
        client.put_object(Bucket=bucket, Key=url.removeprefix(prefix), Body=data)

    folder = f"{prefix}contract-{os.urandom(6).hex()}/"
    return StoreCase("s3", folder, seed, credentials=admin_credentials(server))
