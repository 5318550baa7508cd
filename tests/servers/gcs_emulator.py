"""gcp-storage-emulator on 127.0.0.1 for the gcs store's tests, plus two small real servers.

- ``GcsEmulator``: the pip ``gcp-storage-emulator`` (``start --in-memory``) in a subprocess on a
  free port, stopped after the session. The emulator does not implement cancelling a resumable
  upload (``DELETE`` on the session URI answers 501), so the harness starts it through its own
  ``main()`` with that one route added, as GCS documents it: the session is dropped and the answer
  is 499. Everything else is the emulator as released.
- ``RecordingProxy``: a TCP relay in front of the emulator that records each exchange (request
  line and headers, response status and headers, bytes each way) and can answer with a chosen
  status instead of forwarding. Tests use it to see the Authorization header the server got, to
  prove a server-side copy moved no object bytes, and to inject 403/503 answers. The emulator
  speaks HTTP/1.0 and closes every connection after one response, so one connection is one
  exchange.
- ``TokenServer``: a Google OAuth2 token endpoint. It checks service-account JWT assertions
  against the public keys registered with it (RS256) and refresh tokens of authorized users,
  and hands out access tokens, so key files built here authenticate for real; the emulator
  itself ignores auth.

``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`` is set on import (before gcsfs is imported): with it
on, plain gcsfs probes a gRPC API per bucket that the emulator lacks and stalls 60 s. The store
itself does not depend on it.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import mimetypes
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.servers.lifecycle import ManagedServer, stop_process
from tests.servers.tcp_relay import TcpRelay

os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"

__all__ = [
    "CONTRACT_BUCKET",
    "PROJECT",
    "Exchange",
    "GcsEmulator",
    "RecordingProxy",
    "ServiceAccountKey",
    "TokenServer",
    "create_bucket",
    "delete_bucket",
    "free_port",
    "gcs_contract_case",
    "raw_client",
    "seed_object",
    "session_status",
    "wait_for",
]

HOST = "127.0.0.1"
PROJECT = "orchestore-test"
CONTRACT_BUCKET = "orchestore-contract"
_START_TIMEOUT = 30.0
_HEAD_LIMIT = 64 * 1024
_GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
_counter = itertools.count()

# Runs the emulator's own CLI after adding the resumable-upload cancel route it lacks.
_LAUNCHER = """
import sys, types
from gcp_storage_emulator import server, settings
from gcp_storage_emulator.__main__ import main
from gcp_storage_emulator.storage import RESUMABLE_DIR

CANCELLED = types.SimpleNamespace(value=499, phrase="Client Closed Request")

def cancel(request, response, storage, *args, **kwargs):
    upload_id = (request.query.get("upload_id") or [""])[0]
    if upload_id not in storage.resumable:
        response.status = server.HTTPStatus.NOT_FOUND
        return
    storage.delete_resumable_file_obj(upload_id)
    storage._delete_file(RESUMABLE_DIR, storage.safe_id(upload_id))
    storage._write_config_to_file()
    response.status = CANCELLED

for pattern, methods in server.HANDLERS:
    if pattern.startswith("^" + settings.UPLOAD_API_ENDPOINT):
        methods["DELETE"] = cancel
sys.exit(main(sys.argv[1:]))
"""


def free_port() -> int:
    """A port nothing listens on right now (the emulator cannot report a port it picked)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


# -- the emulator ---------------------------------------------------------------------------------
class GcsEmulator(ManagedServer):
    """One gcp-storage-emulator process with in-memory storage on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="gcs-emulator-", suffix=".log")  # noqa: SIM115

    @property
    def endpoint_url(self) -> str:
        if not self.port:
            raise RuntimeError("the emulator is not started")
        return f"http://{HOST}:{self.port}"

    def start(self) -> GcsEmulator:
        for _ in range(3):  # the free port may be taken before the emulator binds it
            self.port = free_port()
            command = [sys.executable, "-c", _LAUNCHER, "start", "--host", HOST]
            command += ["--port", str(self.port), "--in-memory", "--quiet"]
            self._process = subprocess.Popen(
                command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
            )
            if self._wait_until_answering():
                return self
            self.stop()
        raise RuntimeError(f"gcp-storage-emulator did not start:\n{self._log_text()}")

    def _wait_until_answering(self) -> bool:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/", timeout=2) as answer:  # noqa: S310
                    if answer.read() == b"OK":
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Stop the process group we started (SIGTERM, then SIGKILL after 10 s)."""
        process, self._process = self._process, None
        stop_process(process, group=True)

    def _log_text(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        self._log.close()


# -- the JSON API, spoken directly (out of band) --------------------------------------------------
def _call(
    method: str, url: str, body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - 127.0.0.1
            return answer.status, answer.read()
    except urllib.error.HTTPError as answer:
        with answer:
            return answer.code, answer.read()


def create_bucket(endpoint_url: str, name: str) -> None:
    """Create a bucket without soft delete (so deleted objects leave the emulator's memory)."""
    status, body = _call("POST", f"{endpoint_url}/storage/v1/b?project={PROJECT}", {"name": name})
    if status != 200:
        raise RuntimeError(f"cannot create bucket {name}: HTTP {status} {body[:200]!r}")
    policy = {"softDeletePolicy": {"retentionDurationSeconds": "0"}}
    status, body = _call("PATCH", f"{endpoint_url}/storage/v1/b/{name}", policy)
    if status != 200:
        raise RuntimeError(f"cannot configure bucket {name}: HTTP {status} {body[:200]!r}")


def delete_bucket(endpoint_url: str, name: str) -> int:
    """Delete a bucket; the status tells why not (409: objects or upload sessions remain)."""
    return _call("DELETE", f"{endpoint_url}/storage/v1/b/{name}")[0]


def session_status(session_url: str) -> int:
    """Ask a resumable upload session how far it got: 308 while open, 404 once gone."""
    return _call("PUT", session_url, headers={"Content-Range": "bytes */*"})[0]


def raw_client(endpoint_url: str) -> Any:
    """A google-cloud-storage client for the emulator: the raw SDK, for seeding and checking."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": endpoint_url},
    )


# -- a recording relay ----------------------------------------------------------------------------
@dataclass
class Exchange:
    """One connection through the proxy: its request and response heads and byte counts."""

    method: str = ""
    target: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    sent: int = 0
    received: int = 0


def _parse_head(raw: bytes) -> tuple[str, dict[str, str]]:
    """The first line and the headers (lower-case names) of an HTTP message head."""
    lines = raw.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


class RecordingProxy(TcpRelay):
    """Relays 127.0.0.1:<port> to an upstream server and records every exchange."""

    thread_name = "gcs-proxy"

    def __init__(self, upstream_port: int) -> None:
        super().__init__(HOST, upstream_port)
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self._canned: tuple[int, bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)

    def clear(self) -> None:
        with self._lock:
            self._exchanges.clear()

    def answer_with(self, status: int | None, payload: object = None) -> None:
        """Answer every request with ``status`` and a JSON body; None: relay again."""
        body = json.dumps(payload if payload is not None else {}).encode()
        self._canned = None if status is None else (status, body)

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(None)
        exchange = Exchange()
        with self._lock:
            self._exchanges.append(exchange)
        threading.Thread(target=self._serve, args=(client, exchange), daemon=True).start()

    def _serve(self, client: socket.socket, exchange: Exchange) -> None:
        with client:
            head = self._read_head(client, exchange)
            if head is None:
                return
            canned = self._canned
            if canned is not None:
                self._drain_body(client, head, exchange)
                self._answer(client, exchange, *canned)
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=60)
            except OSError:
                return  # upstream down: the client sees the connection close unanswered
            with upstream:
                upstream.sendall(head)
                pump = threading.Thread(target=self._pump_up, args=(client, upstream, exchange))
                pump.start()
                self._pump_down(upstream, client, exchange)
                pump.join()

    def _read_head(self, client: socket.socket, exchange: Exchange) -> bytes | None:
        buffer = b""
        while b"\r\n\r\n" not in buffer and len(buffer) < _HEAD_LIMIT:
            try:
                chunk = client.recv(65536)
            except OSError:
                return None
            if not chunk:
                return None
            buffer += chunk
        line, exchange.headers = _parse_head(buffer.split(b"\r\n\r\n", 1)[0])
        exchange.method, exchange.target = [*line.split(" "), "", ""][:2]
        exchange.sent = len(buffer)
        return buffer

    @staticmethod
    def _drain_body(client: socket.socket, head: bytes, exchange: Exchange) -> None:
        """Read the request body away, so the client sees our answer rather than a reset."""
        length = int(exchange.headers.get("content-length") or 0)
        remaining = length - len(head.split(b"\r\n\r\n", 1)[1])
        while remaining > 0 and (chunk := client.recv(min(remaining, 1 << 20))):
            remaining -= len(chunk)
            exchange.sent += len(chunk)

    @staticmethod
    def _answer(client: socket.socket, exchange: Exchange, status: int, body: bytes) -> None:
        exchange.status = status
        head = f"HTTP/1.0 {status} Canned\r\nContent-Type: application/json\r\n"
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        client.sendall(head.encode() + body)

    @staticmethod
    def _pump_up(client: socket.socket, upstream: socket.socket, exchange: Exchange) -> None:
        with contextlib.suppress(OSError):
            while chunk := client.recv(1 << 20):
                upstream.sendall(chunk)
                exchange.sent += len(chunk)
        with contextlib.suppress(OSError):
            upstream.shutdown(socket.SHUT_WR)

    @staticmethod
    def _pump_down(upstream: socket.socket, client: socket.socket, exchange: Exchange) -> None:
        head = b""
        with contextlib.suppress(OSError):
            while chunk := upstream.recv(1 << 20):
                exchange.received += len(chunk)  # recorded before the client can see it
                if exchange.status is None and len(head) < _HEAD_LIMIT:
                    head += chunk
                    if b"\r\n\r\n" in head:
                        line, exchange.response_headers = _parse_head(head.split(b"\r\n\r\n")[0])
                        exchange.status = int(line.split(" ")[1])
                client.sendall(chunk)
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_RDWR)


# -- an OAuth2 token endpoint ---------------------------------------------------------------------
@dataclass(frozen=True)
class ServiceAccountKey:
    """A throwaway RSA key and the service-account key file (JSON) that names it."""

    info: dict[str, str]

    @property
    def json(self) -> str:
        return json.dumps(self.info)

    @property
    def client_email(self) -> str:
        return self.info["client_email"]

    @property
    def private_key(self) -> str:
        return self.info["private_key"]


@dataclass
class TokenGrant:
    """What the token endpoint was asked for, and what it answered."""

    grant_type: str
    subject: str  # the service account (JWT ``iss``) or the OAuth client id
    scope: str
    access_token: str | None


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class TokenServer(ManagedServer):
    """A Google OAuth2 token endpoint on 127.0.0.1 (``POST /token``)."""

    def __init__(self) -> None:
        self._public_keys: dict[str, Any] = {}  # client_email -> RSA public key
        self._refresh_tokens: dict[str, tuple[str, str]] = {}  # token -> (client id, secret)
        self._lock = threading.Lock()
        self.grants: list[TokenGrant] = []
        self._server = ThreadingHTTPServer((HOST, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def token_uri(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}/token"

    def start(self) -> TokenServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def new_service_account(
        self, name: str, *, project: str = PROJECT, register: bool = True
    ) -> ServiceAccountKey:
        """A key file whose token_uri is this server; unregistered keys are refused."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        email = f"{name}@{project}.iam.gserviceaccount.com"
        if register:
            with self._lock:
                self._public_keys[email] = key.public_key()
        info = {
            "type": "service_account",
            "project_id": project,
            "private_key_id": os.urandom(20).hex(),
            "private_key": pem,
            "client_email": email,
            "client_id": str(next(_counter) + 10**20),
            "token_uri": self.token_uri,
        }
        return ServiceAccountKey(info)

    def new_authorized_user(self, client_id: str) -> dict[str, str]:
        """An ``authorized_user`` key file (what ``gcloud auth application-default`` writes)."""
        secret, refresh = os.urandom(12).hex(), f"refresh-{os.urandom(12).hex()}"
        with self._lock:
            self._refresh_tokens[refresh] = (client_id, secret)
        return {
            "type": "authorized_user",
            "client_id": client_id,
            "client_secret": secret,
            "refresh_token": refresh,
            "token_uri": self.token_uri,
        }

    def issued_tokens(self) -> set[str]:
        with self._lock:
            return {grant.access_token for grant in self.grants if grant.access_token}

    # -- the endpoint -------------------------------------------------------------------------
    def grant(self, form: dict[str, str]) -> TokenGrant:
        kind = form.get("grant_type", "")
        if kind == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            subject, scope, valid = self._check_assertion(form.get("assertion", ""))
        elif kind == "refresh_token":
            subject = form.get("client_id", "")
            with self._lock:
                expected = self._refresh_tokens.get(form.get("refresh_token", ""))
            valid = expected == (subject, form.get("client_secret", ""))
            scope = form.get("scope", "")
        else:
            subject, scope, valid = "", "", False
        token = f"ya29.test-{os.urandom(16).hex()}" if valid else None
        grant = TokenGrant(kind, subject, scope, token)
        with self._lock:
            self.grants.append(grant)
        return grant

    def _check_assertion(self, assertion: str) -> tuple[str, str, bool]:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            header, payload, signature = assertion.split(".")
            claims = json.loads(_b64decode(payload))
        except ValueError:
            return "", "", False
        subject, scope = str(claims.get("iss", "")), str(claims.get("scope", ""))
        with self._lock:
            public_key = self._public_keys.get(subject)
        # google-auth always names Google's endpoint as the audience, whatever token_uri says.
        if public_key is None or claims.get("aud") not in (self.token_uri, _GOOGLE_TOKEN_URI):
            return subject, scope, False
        try:
            public_key.verify(
                _b64decode(signature),
                f"{header}.{payload}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return subject, scope, False
        return subject, scope, True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tokens = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                grant = tokens.grant(form)
                if grant.access_token is None:
                    status, answer = 400, {"error": "invalid_grant", "error_description": "no"}
                else:
                    answer = {"access_token": grant.access_token, "expires_in": 3600}
                    status, answer["token_type"] = 200, "Bearer"
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        return Handler


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[str]:
    """The emulator's endpoint URL, for the whole session."""
    with GcsEmulator() as emulator:
        create_bucket(emulator.endpoint_url, CONTRACT_BUCKET)
        yield emulator.endpoint_url


@pytest.fixture
def gcs_proxy(gcs_emulator: str) -> Iterator[RecordingProxy]:
    """A recording relay in front of the emulator, for one test."""
    port = int(gcs_emulator.rsplit(":", 1)[1])
    with RecordingProxy(port) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def gcs_token_server() -> Iterator[TokenServer]:
    """An OAuth2 token endpoint that key files made by the tests point at."""
    with TokenServer() as server:
        yield server


def seed_object(endpoint_url: str, bucket: str, key: str, data: bytes) -> None:
    """Put bytes with the raw SDK, typed from the name as ``gcloud storage cp`` would."""
    content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    blob = raw_client(endpoint_url).bucket(bucket).blob(key)
    blob.upload_from_string(data, content_type=content_type)


def gcs_contract_case(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    """The contract suite's gs case: a fresh folder in the session bucket, seeded by the SDK."""
    from orchestore.credentials import GCSCredentials
    from tests.contract.conftest import StoreCase  # imported late: that module imports this one

    endpoint: str = request.getfixturevalue("gcs_emulator")
    prefix = f"gs://{CONTRACT_BUCKET}/"

    def seed(url: str, data: bytes) -> None:
        seed_object(endpoint, CONTRACT_BUCKET, url.removeprefix(prefix), data)

    credentials = GCSCredentials(anonymous=True, endpoint_url=endpoint)
    folder = f"{prefix}contract-{os.urandom(6).hex()}/"
    return StoreCase("gs", folder, seed, credentials=credentials)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``condition`` until it holds (the proxy records from its own threads)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
