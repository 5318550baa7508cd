"""Issue 11, items 8 and 9: credentials never follow a redirect to another host, and decoy
credentials in the environment are never used unless the user opted in.

Item 8: the http store (Authorization, cookies, X-v3io-session-key, X-Vault-Token and every
configured header) and the Vault client (requests strips only Authorization; hvac sends
X-Vault-Token) are redirected by a real server to another host name of a recording server,
which must see none of them. Item 9: every decoy variable at once (AWS_*, AZURE_STORAGE_*,
GOOGLE_APPLICATION_CREDENTIALS, V3IO_*, VAULT_*), pointing at decoy servers: no store starts
without explicit credentials, explicit ones win, and the servers' request logs prove which
credentials arrived (the per-store decoy tests in tests/unit cover each SDK's own lookups).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import orchestore
from orchestore import CredentialsError, HttpCredentials
from orchestore.credentials import VaultConnection, VaultSecretRef, resolve_credentials
from tests.servers.http_server import HttpFileServer

SECRET = "RdrctSecret5519"


class Recorder:
    """A server that records every request's headers; with ``redirect_to`` it answers 307."""

    def __init__(self, redirect_to: str | None = None) -> None:
        self.seen: list[dict[str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                recorder.seen.append({k.lower(): v for k, v in self.headers.items()})
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if recorder.redirect_to is not None:
                    self.send_response(307)
                    self.send_header("Location", recorder.redirect_to + self.path)
                    self.send_header("Set-Cookie", f"session={SECRET}; Path=/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"errors": ["recorded"]}).encode()
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = do_LIST = _any

            def log_message(self, format: str, *args: object) -> None:
                return

        self.redirect_to = redirect_to
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def hop() -> Iterator[tuple[Recorder, Recorder]]:
    """127.0.0.1:<a> redirects everything to localhost:<b> (another host name) which records."""
    target = Recorder()
    redirector = Recorder(redirect_to=f"http://localhost:{target.port}")
    yield redirector, target
    redirector.close()
    target.close()


def _carries_secret(headers: dict[str, str]) -> list[str]:
    return [name for name, value in headers.items() if SECRET in value]


def test_the_http_store_strips_every_credential_header_on_a_cross_host_redirect(
    hop: tuple[Recorder, Recorder], tally: Counter
) -> None:
    redirector, target = hop
    headers = {
        "X-v3io-session-key": SECRET,
        "X-Vault-Token": SECRET,
        "Cookie": f"session={SECRET}",
        "X-Api-Key": SECRET,
    }
    for auth in ({"token": SECRET}, {"username": "reader", "password": SECRET}):
        credentials = HttpCredentials(
            allowed_hosts=["127.0.0.1", "localhost"], headers=headers, **auth
        )
        item = orchestore.get_dataitem(f"http://127.0.0.1:{redirector.port}/data.bin", credentials)
        with pytest.raises(orchestore.NotFoundError):
            item.get()
        tally["bad inputs tried"] += 1
        first, followed = redirector.seen[-1], target.seen[-1]
        assert "authorization" in first and "x-api-key" in first  # the first hop had them all
        assert _carries_secret(followed) == [] and "authorization" not in followed
        assert "cookie" not in followed
        tally["bad inputs refused"] += 1


def test_the_vault_client_sends_no_token_along_a_cross_host_redirect(
    hop: tuple[Recorder, Recorder], tally: Counter
) -> None:
    redirector, target = hop
    connection = VaultConnection(url=f"http://127.0.0.1:{redirector.port}", token=SECRET, timeout=5)
    ref = VaultSecretRef(connection=connection, mount="secret", path="redirected")
    with pytest.raises(orchestore.OrchestoreError):
        resolve_credentials("s3://bucket/key", vault=ref)
    tally["bad inputs tried"] += 1
    assert redirector.seen and redirector.seen[0].get("x-vault-token") == SECRET
    assert target.seen, "the redirect was not followed at all"
    assert all(_carries_secret(headers) == [] for headers in target.seen), target.seen
    tally["bad inputs refused"] += 1


# -- item 9: decoys in the environment ------------------------------------------------------
@pytest.fixture
def decoys(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    http_server: HttpFileServer,
    moto_server: Any,
    moto_bucket: str,
) -> dict[str, str]:
    """Every variable an SDK or MLRun reads, pointing at a decoy (the plain http server).

    The harness's own boto3 client (moto_server.client()) is built before: it reads the
    environment, as boto3 does; orchestore must not."""
    moto_server.client()
    key_file = tmp_path / "decoy-gcp.json"
    key_file.write_text(json.dumps({"type": "service_account", "private_key": "decoy"}))
    values = {
        "AWS_ACCESS_KEY_ID": "AKIADECOYDECOYDECOY1",
        "AWS_SECRET_ACCESS_KEY": "decoy-aws-secret",
        "AWS_SESSION_TOKEN": "decoy-aws-session",
        "AWS_ENDPOINT_URL": http_server.base_url,
        "AWS_ENDPOINT_URL_S3": http_server.base_url,
        "S3_ENDPOINT_URL": http_server.base_url,
        "AWS_PROFILE": "decoy",
        "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=http;AccountName=decoy;"
        f"AccountKey=ZGVjb3k=;BlobEndpoint={http_server.base_url}/decoy;",
        "AZURE_STORAGE_ACCOUNT_NAME": "decoy",
        "AZURE_STORAGE_ACCOUNT_KEY": "ZGVjb3k=",
        "AZURE_STORAGE_SAS_TOKEN": "sv=decoy&sig=decoy",
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
        "STORAGE_EMULATOR_HOST": http_server.base_url,
        "V3IO_ACCESS_KEY": "decoy-v3io-key",
        "V3IO_API": http_server.base_url,
        "VAULT_TOKEN": "decoy-vault-token",
        "VAULT_ADDR": http_server.base_url,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ORCHESTORE_ALLOW_ENV_CREDENTIALS", raising=False)
    http_server.clear_requests()
    return values


@pytest.mark.parametrize(
    "url",
    ["s3://bucket/k", "az://container/k", "gs://bucket/k", "v3io:///bigdata/k"],
)
def test_no_store_starts_on_decoy_credentials(
    decoys: dict[str, str], url: str, http_server: HttpFileServer, tally: Counter
) -> None:
    tally["bad inputs tried"] += 1
    with pytest.raises(CredentialsError, match="not read: set ORCHESTORE_ALLOW_ENV_CREDENTIALS"):
        resolve_credentials(url)  # the environment is not a source unless opted in
    with pytest.raises(CredentialsError):
        orchestore.get_dataitem(url).get()
    assert http_server.requests == []  # the decoy endpoint never heard from us
    tally["bad inputs refused"] += 1


def test_explicit_credentials_win_over_every_decoy(
    decoys: dict[str, str],
    request: pytest.FixtureRequest,
    http_server: HttpFileServer,
    tally: Counter,
) -> None:
    """The servers' logs show the explicit keys; the decoy endpoint saw nothing."""
    from tests.contract.conftest import SPECS
    from tests.servers.v3io_server import V3IO_ACCESS_KEY

    moto = request.getfixturevalue("moto_server")
    v3io = request.getfixturevalue("v3io_server")
    cases = {spec.id: spec.make(request, Path(os.urandom(4).hex())) for spec in SPECS}
    with moto.recording() as recorded:
        cases["s3"].item("decoy.txt").put(b"explicit")
    keys = {r.access_key_id for r in recorded if r.access_key_id}
    assert keys and decoys["AWS_ACCESS_KEY_ID"] not in keys
    assert all(decoys["AWS_SESSION_TOKEN"] != r.header("X-Amz-Security-Token") for r in recorded)
    v3io.clear_requests()
    cases["v3io"].item("decoy.txt").put(b"explicit")
    sent = {r.headers.get("X-v3io-session-key") for r in v3io.requests}
    assert sent == {V3IO_ACCESS_KEY}
    for store_id in ("az", "gs"):
        cases[store_id].item("decoy.txt").put(b"explicit")
        assert cases[store_id].item("decoy.txt").get() == b"explicit"
    assert http_server.requests == []
    tally["bad inputs tried"] += 4
    tally["bad inputs refused"] += 4


def test_vault_ignores_vault_token_and_vault_addr(
    decoys: dict[str, str], openbao: Any, http_server: HttpFileServer
) -> None:
    """A connection without a token does not borrow VAULT_TOKEN; one without a URL no VAULT_ADDR."""
    with pytest.raises(CredentialsError):
        VaultConnection(url=openbao.address)  # token auth, no token: refused, not borrowed
    mark = openbao.audit.mark()
    token = openbao.create_token(["default"])
    ref = VaultSecretRef(
        connection=VaultConnection(url=openbao.address, token=token), mount="secret", path="none"
    )
    with pytest.raises(orchestore.OrchestoreError):
        resolve_credentials("s3://bucket/k", vault=ref)
    logged = json.dumps(openbao.audit.entries(mark))  # before audit_hash logs its own input
    assert openbao.audit_hash(token) in logged  # the explicit token was used...
    assert openbao.audit_hash(decoys["VAULT_TOKEN"]) not in logged  # ...and never the decoy
    assert http_server.requests == []
