"""Issue 11, item 7 (core part): a sentinel secret never shows, whatever fails.

A sentinel goes into each credential field of each scheme (S3 secret key and session token,
Azure account key, connection string, SAS token and client secret, GCS key JSON, v3io access
key and password, HTTP password, token and header, Vault token, AppRole secret_id, userpass
password and JWT). Each is used against a real server that refuses it (or an endpoint that is
down) with every logger at DEBUG. Then the sentinel, its base64 and its URL-quoted forms (and
Basic auth's base64 of ``user:sentinel``) must appear nowhere: not in str()/repr() of the model,
the store, the DataItem, the exception and its whole chain and traceback, nor in the captured
logs. A last test runs a deliberately failing test in a subprocess with ``--showlocals``
(pytest prints every frame's locals) and searches its output the same way.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import subprocess
import sys
import textwrap
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import orchestore
from orchestore import RetryPolicy
from tests.reliability.sentinel import SENTINEL, hits

QUICK = RetryPolicy(attempts=1, connect_timeout=2, read_timeout=5)


def _exception_text(error: BaseException) -> str:
    parts, seen = [], set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), *traceback.format_exception(current)]
        parts.append(repr(getattr(current, "__dict__", {})))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG (botocore, azure, urllib3, hvac, ours...)."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield caplog
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(logging.NOTSET)


def _dead_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gcs_key(secret: str) -> str:
    import json

    return json.dumps(
        {
            "type": "service_account",
            "project_id": "p",
            "private_key_id": "k",
            "private_key": f"-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n",
            "client_email": "x@p.iam.gserviceaccount.com",
            "token_uri": f"http://127.0.0.1:{_dead_port()}/token",
        }
    )


Case = Callable[[pytest.FixtureRequest], tuple[str, Any]]


def _s3(field: str) -> Case:
    def make(request: pytest.FixtureRequest) -> tuple[str, Any]:
        from orchestore.credentials import S3Credentials

        server = request.getfixturevalue("moto_server")
        bucket = request.getfixturevalue("moto_bucket")
        keys = {"access_key_id": "AKIASENTINELTEST", "secret_access_key": "not-the-sentinel"}
        keys[field] = SENTINEL
        credentials = S3Credentials(endpoint_url=server.endpoint_url, region="us-east-1", **keys)
        return f"s3://{bucket}/sentinel.bin", credentials

    return make


def _azure(**fields: str) -> Case:
    def make(request: pytest.FixtureRequest) -> tuple[str, Any]:
        from orchestore.credentials import AzureCredentials

        server = request.getfixturevalue("azurite")
        container = request.getfixturevalue("azurite_container")
        values = {
            k: v.format(s=SENTINEL, endpoint=server.blob_endpoint, dead=_dead_port())
            for k, v in fields.items()
        }
        return f"az://{container}/sentinel.bin", AzureCredentials(**values)

    return make


def _v3io(**fields: str) -> Case:
    def make(request: pytest.FixtureRequest) -> tuple[str, Any]:
        from orchestore.credentials import V3ioCredentials

        server = request.getfixturevalue("v3io_server")
        return "v3io:///bigdata/sentinel.bin", V3ioCredentials(api_url=server.api_url, **fields)

    return make


def _http(**fields: Any) -> Case:
    def make(request: pytest.FixtureRequest) -> tuple[str, Any]:
        server = request.getfixturevalue("auth_http_server")
        credentials = orchestore.HttpCredentials(allowed_hosts=["127.0.0.1"], **fields)
        return f"{server.base_url}/sentinel.bin", credentials

    return make


def _gcs(request: pytest.FixtureRequest) -> tuple[str, Any]:
    from orchestore.credentials import GCSCredentials

    endpoint = request.getfixturevalue("gcs_emulator")
    return "gs://orchestore-contract/sentinel.bin", GCSCredentials(
        credentials_json=_gcs_key(SENTINEL), endpoint_url=endpoint
    )


def _vault(**fields: str) -> Case:
    def make(request: pytest.FixtureRequest) -> tuple[str, Any]:
        from orchestore.credentials import VaultConnection, VaultSecretRef, resolve_credentials

        bao = request.getfixturevalue("openbao")
        connection = VaultConnection(url=bao.address, timeout=5, **fields)
        ref = VaultSecretRef(connection=connection, mount="secret", path="sentinel/s3")
        return "vault", lambda: resolve_credentials("s3://b/k", vault=ref)

    return make


CASES: dict[str, Case] = {
    "s3-secret_access_key": _s3("secret_access_key"),
    "s3-session_token": _s3("session_token"),
    "az-account_key": _azure(
        account_name="devstoreaccount1",
        account_key=base64.b64encode(SENTINEL.encode()).decode(),
        blob_endpoint="{endpoint}",
    ),
    "az-connection_string": _azure(
        connection_string="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        "AccountKey={s}==;BlobEndpoint={endpoint};"
    ),
    "az-sas_token": _azure(
        account_name="devstoreaccount1",
        sas_token="sv=2021-08-06&sig={s}",
        blob_endpoint="{endpoint}",
    ),
    "az-client_secret": _azure(
        account_name="devstoreaccount1",
        tenant_id="00000000-0000-0000-0000-000000000000",
        client_id="11111111-1111-1111-1111-111111111111",
        client_secret="{s}",
        authority_host="127.0.0.1:{dead}",
        blob_endpoint="{endpoint}",
    ),
    "gs-credentials_json": _gcs,
    "v3io-access_key": _v3io(access_key=SENTINEL),
    "v3io-password": _v3io(username="admin", password=SENTINEL),
    "http-password": _http(username="reader", password=SENTINEL),
    "http-token": _http(token=SENTINEL),
    "http-header": _http(headers={"X-Api-Key": SENTINEL}),
    "vault-token": _vault(token=SENTINEL),
    "vault-secret_id": _vault(auth_method="approle", role_id="role-1", secret_id=SENTINEL),
    "vault-password": _vault(auth_method="userpass", username="u", password=SENTINEL),
    "vault-jwt": _vault(auth_method="jwt", role="r", jwt=SENTINEL),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_failing_operation_never_shows_the_sentinel(
    case: str, request: pytest.FixtureRequest, debug_logs: pytest.LogCaptureFixture, tally: Counter
) -> None:
    shown: list[str] = []
    try:
        url, credentials = CASES[case](request)
    except orchestore.CredentialsError as refused:  # refused when the model is built
        url, credentials = "refused", None
        shown.append(_exception_text(refused))
    if url == "refused":
        pass
    elif url == "vault":
        with pytest.raises(orchestore.OrchestoreError) as raised:
            credentials()
        shown.append(_exception_text(raised.value))
    else:
        moto = request.getfixturevalue("moto_server") if case.startswith("s3") else None
        with moto.enforcing_auth() if moto is not None else contextlib.nullcontext():
            item = orchestore.get_dataitem(url, credentials, retry=QUICK)
            shown += [repr(credentials), str(credentials), repr(item), str(item.url)]
            shown += [repr(item.store), repr(vars(item.store))]
            operations = [item.get, item.stat]
            if not url.startswith("http"):
                operations.append(lambda: item.put(b"sentinel test"))
            for operation in operations:
                with pytest.raises(orchestore.OrchestoreError) as raised:
                    operation()
                shown.append(_exception_text(raised.value))
    shown += [record.getMessage() for record in debug_logs.records]
    shown += [repr(record.args) for record in debug_logs.records]
    shown += [str(record.exc_info) for record in debug_logs.records if record.exc_info]
    found = hits("\n".join(shown))
    tally["sentinel hits"] += found
    tally["bad inputs tried"] += 1
    tally["bad inputs refused"] += 1
    assert found == 0, [line for line in "\n".join(shown).splitlines() if hits(line)][:5]
    assert debug_logs.handler.level == logging.DEBUG  # errors were forced at DEBUG


def test_showlocals_of_a_failing_test_never_shows_the_sentinel(
    tmp_path: Path, auth_http_server: Any, v3io_server: Any, tally: Counter
) -> None:
    """pytest --showlocals prints the locals of every frame of a failure, ours included."""
    test_file = tmp_path / "test_fails_on_purpose.py"
    test_file.write_text(
        textwrap.dedent(
            f"""
            import os
            import orchestore
            from orchestore.credentials import V3ioCredentials

            def _secret():
                return os.environ["SENTINEL_VALUE"]

            def test_http_bearer_fails():
                credentials = orchestore.HttpCredentials(
                    token=_secret(), allowed_hosts=["127.0.0.1"], headers={{"X-Key": _secret()}}
                )
                item = orchestore.get_dataitem("{auth_http_server.base_url}/none.bin", credentials)
                item.get()

            def test_http_basic_fails():
                credentials = orchestore.HttpCredentials(
                    username="reader", password=_secret(), allowed_hosts=["127.0.0.1"]
                )
                orchestore.get_dataitem("{auth_http_server.base_url}/none.bin", credentials).get()

            def test_v3io_fails():
                credentials = V3ioCredentials(api_url="{v3io_server.api_url}", access_key=_secret())
                orchestore.get_dataitem("v3io:///bigdata/none.bin", credentials).put(b"x")
            """
        )
    )
    env = {**os.environ, "SENTINEL_VALUE": SENTINEL, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--showlocals",
            "-p",
            "no:cacheprovider",
            "-q",
            "--tb=long",
            str(test_file),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "3 failed" in output, output[-2000:]
    found = hits(output)
    tally["sentinel hits"] += found
    assert found == 0, [line for line in output.splitlines() if hits(line)][:10]


def test_the_redacting_record_factory_accepts_records_without_a_name() -> None:
    """``logging.makeLogRecord`` (structlog's stdlib formatter, so every Airflow task log line)
    builds its record with name None: the factory must pass it through, not raise."""
    from orchestore.credentials import redaction

    redaction.remember(SENTINEL)  # installs the factory
    record = logging.makeLogRecord({"msg": "hello", "levelno": logging.INFO})
    assert record.getMessage() == "hello"
    botocore = logging.getLogRecordFactory()("botocore.x", logging.DEBUG, "", 0, SENTINEL, (), None)
    assert SENTINEL not in botocore.getMessage()
