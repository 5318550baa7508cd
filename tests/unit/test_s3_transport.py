"""The s3 store's obstore transport against moto: hermetic, one request per small op, stable.

obstore reads AWS_* variables in every constructor; these tests set them to junk (and point
the endpoint ones at a decoy server) in a child process and look at what reached moto. They
also run several processes that put and get through obstore and check each exits cleanly
(issue 10 saw one abort on exit once).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestore.credentials import S3Credentials
from orchestore.errors import UnsupportedOperationError
from orchestore.stores.s3 import S3Store
from orchestore.stores.s3_transport import ENVIRONMENT_OVERRIDES_NOTHING, transport_refusal
from orchestore.urls import parse_url
from tests.servers.http_server import HttpFileServer
from tests.servers.moto_server import (
    ADMIN_KEY_ID,
    MotoServer,
    RecordedRequest,
    admin_credentials,
)
from tests.servers.tcp_relay import TcpRelay

MiB = 1024 * 1024
DECOY_KEY_ID = "AKIADECOYENVIRONMENT"

#: a child that writes and reads through the store, then prints what it saw
_CHILD = """
import json, os, sys
from orchestore.credentials import S3Credentials
from orchestore.errors import UnsupportedOperationError
from orchestore.stores.s3 import S3Store
from orchestore.urls import parse_url

class SmallParts(S3Store):
    block_size = 5 * 1024 * 1024  # 5 MiB parts: the multipart path on small data

fields, prefix = json.loads(sys.argv[1]), sys.argv[2]
bucket = fields.pop("bucket")
store = SmallParts(parse_url(f"s3://{bucket}/"), S3Credentials(**fields))
small = parse_url(f"s3://{bucket}/{prefix}small.json")
big = parse_url(f"s3://{bucket}/{prefix}big.bin")
data = os.urandom(11 * 1024 * 1024 + 5)
store.write(small, b'{"a": 1}')
with store.open_writer(big) as writer:
    writer.write(data)
assert store.read(small) == b'{"a": 1}'
assert store.read(big, 5 * 1024 * 1024, 7) == data[5 * 1024 * 1024 : 5 * 1024 * 1024 + 7]
with store.open_reader(big) as reader:
    assert reader.read() == data
print(json.dumps({"obstore": store.transport is not None,
                  "content_type": store.stat(small).content_type}))
"""


@pytest.fixture
def prefix() -> str:
    return f"transport-{os.urandom(6).hex()}/"


@pytest.fixture
def decoy_server(tmp_path: Path) -> Iterator[HttpFileServer]:
    with HttpFileServer(tmp_path) as server:
        yield server


def _fields(moto: MotoServer, bucket: str) -> str:
    fields = admin_credentials(moto).model_dump(mode="json", exclude_none=True)
    fields["secret_access_key"] = admin_credentials(moto).secret_access_key.get_secret_value()
    return json.dumps({**fields, "bucket": bucket})


def _signer(request: RecordedRequest) -> str | None:
    """The key id that signed a request: its Authorization header, or a presigned URL's."""
    if request.access_key_id is not None:
        return request.access_key_id
    credential = urllib.parse.parse_qs(request.query).get("X-Amz-Credential", [""])[0]
    return credential.split("/", 1)[0] or None


def _run_child(fields: str, prefix: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CHILD, fields, prefix],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_aws_variables_are_ignored(
    moto_server: MotoServer, moto_bucket: str, prefix: str, decoy_server: HttpFileServer
) -> None:
    """Junk in every AWS_* variable obstore reads changes nothing: same endpoint, our key,
    no decoy request, signed requests, path-style, the key's content type."""
    decoy = decoy_server.base_url
    junk = {
        "AWS_ACCESS_KEY_ID": DECOY_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": "decoy-secret",
        "AWS_SESSION_TOKEN": "decoy-token",
        "AWS_ENDPOINT": decoy,
        "AWS_ENDPOINT_URL": decoy,
        "AWS_ENDPOINT_URL_S3": decoy,
        "AWS_REGION": "eu-decoy-1",
        "AWS_DEFAULT_REGION": "eu-decoy-1",
        "AWS_SKIP_SIGNATURE": "true",
        "AWS_UNSIGNED_PAYLOAD": "true",
        "AWS_REQUEST_PAYER": "true",
        "AWS_S3_EXPRESS": "true",
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "true",
        "AWS_ALLOW_HTTP": "false",
        "AWS_DEFAULT_CONTENT_TYPE": "x-decoy/junk",
        "AWS_USER_AGENT": "decoy",
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/decoy",
        "AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent/token",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": decoy,
        "AWS_METADATA_ENDPOINT": decoy,
        "AWS_PROFILE": "decoy",
        "AWS_CONFIG_FILE": "/nonexistent/config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        "AWS_BUCKET": "decoy-bucket",
        "AWS_TIMEOUT": "1ns",
        "AWS_CONNECT_TIMEOUT": "1ns",
        "AWS_HTTP2_ONLY": "true",
    }
    with moto_server.recording() as requests:
        done = _run_child(_fields(moto_server, moto_bucket), prefix, {**os.environ, **junk})
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"obstore": True, "content_type": "application/json"}
    ours = [r for r in requests if r.path.startswith(f"/{moto_bucket}/{prefix}")]
    assert ours and {_signer(r) for r in ours} == {ADMIN_KEY_ID}
    assert all(r.header("X-Amz-Security-Token") is None for r in ours)
    assert all(r.header("x-amz-request-payer") is None for r in ours)
    assert decoy_server.requests == []


def test_variables_obstore_would_apply_keep_the_s3fs_path(
    moto_server: MotoServer, moto_bucket: str, prefix: str
) -> None:
    """AWS_SERVER_SIDE_ENCRYPTION and AWS_CHECKSUM_ALGORITHM cannot be overridden: with one
    set, the store's bytes go through s3fs (which ignores both), and everything still works."""
    for name, value in (("AWS_SERVER_SIDE_ENCRYPTION", "aws:kms"), ("AWS_CHECKSUM_ALGORITHM", "x")):
        assert name in ENVIRONMENT_OVERRIDES_NOTHING
        env = {**os.environ, name: value}
        done = _run_child(_fields(moto_server, moto_bucket), f"{prefix}{name}/", env)
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout.strip().splitlines()[-1])["obstore"] is False


def test_refusals_are_named() -> None:
    keys = {"access_key_id": "AKIA1", "secret_access_key": "s"}
    endpoint = S3Credentials(**keys, endpoint_url="http://127.0.0.1:9")
    assert transport_refusal(endpoint, {}) is None
    assert transport_refusal(S3Credentials(**keys, region="eu-west-1"), {}) is None
    assert "region" in (transport_refusal(S3Credentials(**keys), {}) or "")
    bundle = S3Credentials(**keys, endpoint_url="https://127.0.0.1:9", ca_bundle="/ca.pem")
    assert "ca_bundle" in (transport_refusal(bundle, {}) or "")
    assert "AWS_CHECKSUM_ALGORITHM" in (
        transport_refusal(endpoint, {"AWS_CHECKSUM_ALGORITHM": "sha256"}) or ""
    )


def test_processes_doing_obstore_put_and_get_exit_cleanly(
    moto_server: MotoServer, moto_bucket: str, prefix: str
) -> None:
    """Several processes in a row and at once: each exits 0 with nothing on stderr."""
    fields = _fields(moto_server, moto_bucket)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, fields, f"{prefix}child-{index}/"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(6)
    ]
    for child in children:
        out, err = child.communicate(timeout=180)
        assert child.returncode == 0, err[-3000:]
        assert err == ""
        assert json.loads(out.strip().splitlines()[-1])["obstore"] is True


def test_a_small_write_is_one_request(
    moto_server: MotoServer, moto_bucket: str, prefix: str
) -> None:
    """No listing before the PUT: a key with keys below it is written as S3 allows."""
    store = S3Store(parse_url(f"s3://{moto_bucket}/"), admin_credentials(moto_server))
    try:
        url = parse_url(f"s3://{moto_bucket}/{prefix}dir")
        store.write(parse_url(f"s3://{moto_bucket}/{prefix}dir/inside.txt"), b"i")
        with moto_server.recording() as requests:
            store.write(url, b"beside the prefix")
            assert store.read(url) == b"beside the prefix"
        assert [r.method for r in requests] == ["PUT", "GET"]
        assert store.read(parse_url(f"s3://{moto_bucket}/{prefix}dir/inside.txt")) == b"i"
    finally:
        store.close()


_FORKING = """
import json, os, sys
from orchestore.credentials import S3Credentials
from orchestore.errors import UnsupportedOperationError
from orchestore.stores.s3 import S3Store
from orchestore.urls import parse_url

fields, prefix = json.loads(sys.argv[1]), sys.argv[2]
bucket = fields.pop("bucket")
def store():
    return S3Store(parse_url(f"s3://{bucket}/"), S3Credentials(**fields))
url = parse_url(f"s3://{bucket}/{prefix}fork.txt")
parent = store()
parent.write(url, b"before the fork")  # obstore's runtime is running now
pid = os.fork()
if pid == 0:
    fresh = store()
    ok = (fresh.transport is None and parent.transport is None
          and fresh.read(url) == b"before the fork" and parent.read(url) == b"before the fork")
    fresh.write(url, b"from the child")
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert parent.transport is not None and parent.read(url) == b"from the child"
print("ok")
"""


def test_a_forked_child_keeps_the_s3fs_path_instead_of_hanging(
    moto_server: MotoServer, moto_bucket: str, prefix: str
) -> None:
    """obstore's runtime does not survive fork (its first call in the child hangs): a child
    of a process that used it reads and writes through s3fs; the parent keeps obstore."""
    done = subprocess.run(
        [sys.executable, "-c", _FORKING, _fields(moto_server, moto_bucket), prefix],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"


_PARTIAL = re.compile(rb"(HTTP/1\.[01]) 206 [^\r]*\r\n", re.IGNORECASE)


class _RangesAnswered200(TcpRelay):
    """Relays to moto, turning each 206 into a 200 with the same range (as rclone serve s3
    answers): obstore refuses such answers, botocore takes them."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        super().__init__(upstream_host, upstream_port)
        self._sockets: list[socket.socket] = []
        self._pumps: list[threading.Thread] = []

    def _handle(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)
        self._sockets += [client, upstream]
        for source, sink, rewrite in ((client, upstream, False), (upstream, client, True)):
            pump = threading.Thread(target=_pump, args=(source, sink, rewrite), daemon=True)
            self._pumps.append(pump)
            pump.start()

    def stop(self) -> None:
        super().stop()
        for end in self._sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
        for pump in self._pumps:
            pump.join(timeout=5)
        for end in self._sockets:
            end.close()


def _pump(source: socket.socket, sink: socket.socket, rewrite: bool) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            if rewrite:
                data = _PARTIAL.sub(rb"\1 200 OK\r\n", data)
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def test_ranges_answered_with_200_are_read_through_s3fs(
    moto_server: MotoServer, moto_bucket: str, prefix: str
) -> None:
    data = os.urandom(3 * MiB + 11)
    moto_server.client().put_object(Bucket=moto_bucket, Key=f"{prefix}r.bin", Body=data)
    with _RangesAnswered200("127.0.0.1", moto_server.port) as relay:
        endpoint = f"http://127.0.0.1:{relay.port}"
        store = S3Store(
            parse_url(f"s3://{moto_bucket}/"),
            admin_credentials(moto_server, endpoint_url=endpoint),
        )
        try:
            url = parse_url(f"s3://{moto_bucket}/{prefix}r.bin")
            with store.open_reader(url) as reader:  # the first GET finds out, s3fs takes over
                reader.seek(MiB)
                assert reader.read(5) == data[MiB : MiB + 5]
                assert reader.read() == data[MiB + 5 :]
            assert store.transport is not None and store.transport.ranges_refused
            assert store.read(url, 2 * MiB, 7) == data[2 * MiB : 2 * MiB + 7]
            assert store.read(url) == data  # no range: obstore still
        finally:
            store.close()


def test_an_upload_beyond_the_part_limit_fails_cleanly(
    moto_server: MotoServer, moto_bucket: str, prefix: str
) -> None:
    """10,000 parts is S3's limit: the writer refuses the byte past it and aborts."""

    class FewParts(S3Store):
        block_size = 5 * MiB

    store = FewParts(parse_url(f"s3://{moto_bucket}/"), admin_credentials(moto_server))
    try:
        url = parse_url(f"s3://{moto_bucket}/{prefix}huge.bin")
        writer = store.open_writer(url)
        writer.MAX_PARTS = 2  # type: ignore[attr-defined]
        refused = pytest.raises(UnsupportedOperationError, match="cannot be written in one upload")
        with refused, writer:
            writer.write(os.urandom(10 * MiB))
            writer.write(b"x")
        listed = moto_server.client().list_multipart_uploads(Bucket=moto_bucket, Prefix=prefix)
        assert not listed.get("Uploads")
        assert not store.exists(url)
    finally:
        store.close()


_COPIES = """
import json, os, sys
import orchestore
from orchestore.credentials import S3Credentials

fields, prefix, folder = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
bucket = fields.pop("bucket")
credentials = S3Credentials(**fields)
data = os.urandom(9 * 1024 * 1024 + 3)
with open(os.path.join(folder, "up.bin"), "wb") as local:
    local.write(data)
target = f"s3://{bucket}/{prefix}up.bin"
up = orchestore.copy(os.path.join(folder, "up.bin"), target, dst_credentials=credentials)
down = orchestore.copy(target, os.path.join(folder, "down.bin"), src_credentials=credentials)
with open(os.path.join(folder, "down.bin"), "rb") as local:
    assert local.read() == data
item = orchestore.get_dataitem(f"s3://{bucket}/{prefix}small.json", credentials)
item.put(b"{}")
assert item.get() == b"{}" and item.stat().content_type == "application/json"
loaded = [name for name in ("s3fs", "aiobotocore", "aiohttp", "botocore") if name in sys.modules]
print(json.dumps({"verified": [up.checksums_verified, down.checksums_verified], "loaded": loaded}))
"""


def test_copies_and_small_ops_load_no_botocore(
    moto_server: MotoServer, moto_bucket: str, prefix: str, tmp_path: Path
) -> None:
    """Upload, download (verified) and put/get/stat through obstore alone: a task process
    does not pay for importing s3fs, aiobotocore and aiohttp (~0.3 s) nor building a client."""
    done = subprocess.run(
        [sys.executable, "-c", _COPIES, _fields(moto_server, moto_bucket), prefix, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"verified": [1, 1], "loaded": []}
