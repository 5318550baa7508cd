"""The http(s) store against a real local server: auth, redirects, ranges, TLS, failures."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

import orchestore
from orchestore import (
    CredentialsError,
    HttpCredentials,
    NotFoundError,
    OrchestoreError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from tests.conftest import HTTP_PASSWORD, HTTP_TOKEN, HTTP_USER
from tests.servers.http_server import HttpFileServer

BODY = b"0123456789" * 1000
#: the test servers listen on 127.0.0.1, an internal address the store refuses unless allowed
LOCAL: dict[str, object] = {"allowed_hosts": ["127.0.0.1"]}


def _local(**fields: object) -> HttpCredentials:
    """Credentials that allowlist the local test servers."""
    return HttpCredentials(**{**LOCAL, **fields})


@pytest.fixture
def served(http_root: Path) -> str:
    (http_root / "unit").mkdir(exist_ok=True)
    (http_root / "unit" / "body.bin").write_bytes(BODY)
    return "unit/body.bin"


def _secrets_absent(text: str) -> None:
    for secret in (HTTP_PASSWORD, HTTP_TOKEN):
        assert secret not in text


def test_basic_and_bearer_auth(auth_http_server: HttpFileServer, served: str) -> None:
    url = f"{auth_http_server.base_url}/{served}"
    basic = _local(username=HTTP_USER, password=HTTP_PASSWORD)
    assert orchestore.get_dataitem(url, basic).get(offset=5, size=5) == BODY[5:10]
    assert orchestore.get_dataitem(url, _local(token=HTTP_TOKEN)).stat().size == len(BODY)


@pytest.mark.parametrize(
    "credentials",
    [
        LOCAL,
        {**LOCAL, "username": HTTP_USER, "password": "wrong-password"},
        {**LOCAL, "token": "wrong-token"},
    ],
)
def test_refused_credentials_are_a_credentials_error(
    auth_http_server: HttpFileServer, served: str, credentials: dict[str, str] | None
) -> None:
    item = orchestore.get_dataitem(f"{auth_http_server.base_url}/{served}", credentials)
    with pytest.raises(CredentialsError, match="401") as raised:
        item.get()
    _secrets_absent(f"{raised.value!r} {raised.value}")
    assert "wrong-password" not in str(raised.value) and "wrong-token" not in str(raised.value)


def test_secrets_stay_out_of_reprs(auth_http_server: HttpFileServer) -> None:
    credentials = _local(
        username=HTTP_USER, password=HTTP_PASSWORD, headers={"X-Api-Key": HTTP_TOKEN}
    )
    item = orchestore.get_dataitem(f"{auth_http_server.base_url}/x", credentials)
    _secrets_absent(f"{item!r} {item.store!r} {credentials!r} {credentials} {vars(item)}")


def test_extra_headers_are_sent(http_server: HttpFileServer) -> None:
    credentials = _local(headers={"X-Api-Key": "key-123"})
    echoed = json.loads(
        orchestore.get_dataitem(f"{http_server.base_url}/_test/headers", credentials).get()
    )
    assert {k.lower(): v for k, v in echoed.items()}["x-api-key"] == "key-123"


def test_same_host_redirects_are_followed(http_server: HttpFileServer, served: str) -> None:
    url = f"{http_server.base_url}/_test/redirect?to=/{served}&code=301"
    assert orchestore.get_dataitem(url, LOCAL).get(offset=10, size=3) == BODY[10:13]


def test_redirect_to_another_host_drops_credentials(http_server: HttpFileServer) -> None:
    other = f"http://localhost:{http_server.port}/_test/headers"
    url = f"{http_server.base_url}/_test/redirect?to={other}"
    http_server.clear_requests()
    credentials = _local(token=HTTP_TOKEN, allowed_hosts=["127.0.0.1", "localhost"])
    echoed = json.loads(orchestore.get_dataitem(url, credentials).get())
    assert "authorization" not in {k.lower() for k in echoed}
    first = http_server.requests[0]
    assert {k.lower(): v for k, v in first.headers.items()}[
        "authorization"
    ] == f"Bearer {HTTP_TOKEN}"


def test_redirect_to_another_scheme_is_refused(
    http_server: HttpFileServer, https_server: HttpFileServer
) -> None:
    url = (
        f"{http_server.base_url}/_test/redirect?to={https_server.base_url}/x%3Fsig%3Dsigned-secret"
    )
    with pytest.raises(PermissionDeniedError, match="same scheme") as raised:
        orchestore.get_dataitem(url, LOCAL).get()
    assert f"to {https_server.base_url}/x?sig=*** (" in str(raised.value)


def test_truncated_body_is_an_error_not_a_short_file(
    http_server: HttpFileServer, served: str
) -> None:
    item = orchestore.get_dataitem(f"{http_server.base_url}/_test/truncate/{served}", LOCAL)
    with pytest.raises(StoreUnavailableError, match="truncated"):
        item.get()
    with pytest.raises(StoreUnavailableError, match="truncated"), item.open("rb") as reader:
        reader.read()


def test_server_ignoring_range_still_gives_the_right_bytes(
    http_server: HttpFileServer, served: str
) -> None:
    item = orchestore.get_dataitem(f"{http_server.base_url}/_test/no-range/{served}", LOCAL)
    assert item.get(offset=1234, size=10) == BODY[1234:1244]
    assert item.get(offset=9990) == BODY[9990:]
    with item.open("rb") as reader:
        reader.seek(5000)
        assert reader.read(4) == BODY[5000:5004]


def test_stat_without_head_support(http_server: HttpFileServer, served: str) -> None:
    assert orchestore.get_dataitem(
        f"{http_server.base_url}/_test/no-head/{served}", LOCAL
    ).stat().size == len(BODY)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (410, NotFoundError),
        (500, StoreUnavailableError),
        (503, StoreUnavailableError),
        (418, OrchestoreError),
    ],
)
def test_statuses_map_to_typed_errors(
    http_server: HttpFileServer, status: int, error: type[Exception]
) -> None:
    with pytest.raises(error, match=str(status)):
        orchestore.get_dataitem(f"{http_server.base_url}/_test/status/{status}", LOCAL).get()


def test_signatures_are_redacted_from_errors(http_server: HttpFileServer) -> None:
    with pytest.raises(NotFoundError) as raised:
        orchestore.get_dataitem(
            f"{http_server.base_url}/missing.bin?X-Amz-Signature=deadbeef42", LOCAL
        ).get()
    assert "deadbeef42" not in str(raised.value)
    assert "X-Amz-Signature=***" in str(raised.value)


def test_https_with_ca_bundle(
    https_server: HttpFileServer, tls_cert: tuple[Path, Path], served: str
) -> None:
    url = f"{https_server.base_url}/{served}"
    assert orchestore.get_dataitem(url, _local(ca_bundle=str(tls_cert[0]))).get(size=4) == b"0123"
    assert orchestore.get_dataitem(url, _local(verify_ssl=False)).get(size=4) == b"0123"


def test_https_unknown_certificate_is_refused(https_server: HttpFileServer, served: str) -> None:
    with pytest.raises(CredentialsError, match="certificate verification failed"):
        orchestore.get_dataitem(f"{https_server.base_url}/{served}", LOCAL).get()


def test_unreachable_server_is_unavailable_quickly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StoreUnavailableError, match=f"127.0.0.1:{port}"):
        orchestore.get_dataitem(f"http://127.0.0.1:{port}/x", _local(timeout=2)).get()


def test_connections_are_kept_alive(http_server: HttpFileServer, served: str) -> None:
    credentials = _local(headers={"X-Test": "keepalive"})  # a store of its own
    item = orchestore.get_dataitem(f"{http_server.base_url}/{served}", credentials)
    for _ in range(5):
        assert item.get(size=2) == b"01"
        item.stat()
    pool = item.store._pool  # white-box: one connection served all ten requests
    assert len(pool._idle) == 1
