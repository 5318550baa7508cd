"""The s3 store against a real moto server: every credential method, fail-closed, the wire.

moto's request recorder shows what reached the server (which key signed each request, whether
a session token was sent, whether an object's bytes travelled), and moto's auth mode makes it
check signatures and IAM policies like S3. What moto cannot do is noted where it matters:
it accepts any key unless auth is enforced, and it crashes (HTTP 500) on unsigned requests
while auth is enforced, so anonymous access is checked with auth off (requests arrive unsigned).
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import orchestore
from orchestore import (
    CredentialsError,
    InvalidURLError,
    NotFoundError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from orchestore.credentials import S3Credentials
from orchestore.stores.retry import RetryPolicy
from orchestore.stores.s3 import S3Store
from orchestore.urls import parse_url
from tests.servers.http_server import HttpFileServer
from tests.servers.moto_server import (
    ADMIN_KEY_ID,
    ADMIN_SECRET,
    BUCKET,
    REGION,
    MotoServer,
    RecordedRequest,
    admin_credentials,
)

MiB = 1024 * 1024
SECRET = "s3cr3t-access-key-value-91f2"
TOKEN = "s3cr3t-session-token-value-4d7a"
ROLE_ARN = "arn:aws:iam::123456789012:role/orchestore-reader"
DECOY_KEY_ID = "AKIADECOYENVIRONMENT"
DECOY_SECRET = "decoy-secret-from-the-environment"


class SmallBlocks(S3Store):
    """5 MiB blocks (S3's minimum part size), so multipart paths run on small test data."""

    block_size = 5 * MiB


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture
def prefix(moto_bucket: str) -> str:
    """A fresh key prefix for one test."""
    return f"unit-{os.urandom(6).hex()}/"


@pytest.fixture
def make_store() -> Iterator[Callable[..., S3Store]]:
    """Builds stores directly (not through the shared manager) and closes them after the test."""
    stores: list[S3Store] = []

    def make(credentials: S3Credentials, cls: type[S3Store] = S3Store) -> S3Store:
        store = cls(parse_url(f"s3://{BUCKET}/"), credentials)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def decoy_server(tmp_path: Path) -> Iterator[HttpFileServer]:
    """A real server the decoy AWS_ENDPOINT_URL points at: it must receive nothing."""
    with HttpFileServer(tmp_path) as server:
        yield server


@pytest.fixture
def decoy_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, decoy_server: HttpFileServer
) -> None:
    """AWS_* variables and files the SDK would use if it were not kept hermetic."""
    config = tmp_path / "aws-config"
    config.write_text(
        f"[profile decoy]\nregion = eu-decoy-1\nendpoint_url = {decoy_server.base_url}\n"
        f"aws_access_key_id = {DECOY_KEY_ID}\naws_secret_access_key = {DECOY_SECRET}\n"
    )
    shared = tmp_path / "aws-credentials"
    shared.write_text(
        f"[decoy]\naws_access_key_id = {DECOY_KEY_ID}\naws_secret_access_key = {DECOY_SECRET}\n"
        f"[default]\naws_access_key_id = {DECOY_KEY_ID}\naws_secret_access_key = {DECOY_SECRET}\n"
    )
    variables = {
        "AWS_ACCESS_KEY_ID": DECOY_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DECOY_SECRET,
        "AWS_SESSION_TOKEN": "decoy-session-token",
        "AWS_ENDPOINT_URL": decoy_server.base_url,
        "AWS_ENDPOINT_URL_S3": decoy_server.base_url,
        "AWS_ENDPOINT_URL_STS": decoy_server.base_url,
        "AWS_PROFILE": "decoy",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(shared),
        "AWS_DEFAULT_REGION": "eu-decoy-1",
        "AWS_REGION": "eu-decoy-1",
        "AWS_MAX_ATTEMPTS": "9",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def _keys(requests: list[RecordedRequest]) -> set[str | None]:
    return {request.access_key_id for request in requests}


def _s3_requests(requests: list[RecordedRequest], bucket: str) -> list[RecordedRequest]:
    return [r for r in requests if r.path.startswith(f"/{bucket}")]


def _no_uploads_left(moto: MotoServer, bucket: str, prefix: str) -> bool:
    listed = moto.client().list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return not listed.get("Uploads")


# -- the credential model (no server) -------------------------------------------------------------
def test_from_mapping_takes_mlrun_names_and_field_names() -> None:
    mlrun = S3Credentials.from_mapping(
        {
            "AWS_ACCESS_KEY_ID": "AKIAMLRUN",
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_SESSION_TOKEN": TOKEN,
            "S3_ENDPOINT_URL": "http://minio:9000/",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "MLRUN_AWS_ROLE_ARN": ROLE_ARN,
        },
        source="Vault secret kv/data/s3",
    )
    assert mlrun.access_key_id == "AKIAMLRUN"
    assert mlrun.secret_access_key is not None
    assert mlrun.secret_access_key.get_secret_value() == SECRET
    assert mlrun.endpoint_url == "http://minio:9000"
    assert (mlrun.region, mlrun.role_arn) == ("eu-west-1", ROLE_ARN)
    assert mlrun.source == "Vault secret kv/data/s3"
    profile = S3Credentials.from_mapping({"AWS_PROFILE": "dev", "AWS_REGION": "eu-west-3"})
    assert (profile.profile, profile.region) == ("dev", "eu-west-3")
    mixed = S3Credentials.from_mapping({"access_key_id": "AKIA1", "AWS_SECRET_ACCESS_KEY": "x"})
    assert mixed.uses_keys


def test_from_mapping_names_unknown_and_duplicate_keys() -> None:
    with pytest.raises(CredentialsError, match="S3_NON_ANONYMOUS"):
        S3Credentials.from_mapping({"AWS_PROFILE": "dev", "S3_NON_ANONYMOUS": "1"})
    with pytest.raises(CredentialsError, match=r"'AWS_REGION' and 'region'"):
        S3Credentials.from_mapping({"AWS_REGION": "eu-west-1", "region": "eu-west-2"})


def test_empty_values_mean_unset() -> None:
    credentials = S3Credentials.from_mapping(
        {"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": ""}
    )
    assert credentials.session_token is None


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"secret_access_key": SECRET}, "access_key_id is missing"),
        ({"access_key_id": "AKIA1"}, "secret_access_key is missing"),
        ({"session_token": TOKEN}, "session_token needs access_key_id and secret_access_key"),
        ({"anonymous": True, "access_key_id": "A", "secret_access_key": SECRET}, "anonymous"),
        ({"anonymous": True, "role_arn": ROLE_ARN}, "anonymous excludes role_arn"),
        ({"use_ambient_identity": True, "profile": "dev"}, "use_ambient_identity excludes"),
        ({"credentials_file": "/x", "access_key_id": "A"}, "credentials_file needs profile"),
        ({"endpoint_url": "minio:9000"}, "endpoint_url"),
        ({"endpoint_url": "http://user:pw@minio:9000"}, "endpoint_url"),
        ({"role_arn": "my-role", "profile": "dev"}, "role_arn"),
        ({"verify_ssl": False, "ca_bundle": "/ca.pem", "profile": "dev"}, "ca_bundle"),
    ],
)
def test_inconsistent_fields_are_named(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(CredentialsError, match=named) as raised:
        S3Credentials(**fields)
    assert SECRET not in str(raised.value) and TOKEN not in str(raised.value)
    assert "pw@" not in str(raised.value)


def test_anonymous_with_keys_names_both() -> None:
    with pytest.raises(CredentialsError) as raised:
        S3Credentials(anonymous=True, access_key_id="AKIA1", secret_access_key=SECRET)
    assert "anonymous excludes access_key_id, secret_access_key" in str(raised.value)


def test_profile_ignores_the_key_fields_as_mlrun_does() -> None:
    credentials = S3Credentials(profile="dev", secret_access_key=SECRET)  # no key id: ignored
    assert not credentials.uses_keys
    credentials.check_usable()


def test_nothing_configured_fails_closed_naming_the_fields() -> None:
    for credentials in (S3Credentials(), S3Credentials(endpoint_url="http://minio:9000")):
        with pytest.raises(CredentialsError) as raised:
            credentials.check_usable()
        message = str(raised.value)
        for expected in ("access_key_id", "secret_access_key", "use_ambient_identity=True"):
            assert expected in message
        assert "anonymous=True" in message
    with pytest.raises(CredentialsError, match="role_arn needs credentials"):
        S3Credentials(role_arn=ROLE_ARN).check_usable()
    for usable in (
        S3Credentials(anonymous=True),
        S3Credentials(use_ambient_identity=True, role_arn=ROLE_ARN),
        S3Credentials(access_key_id="AKIA1", secret_access_key=SECRET),
    ):
        usable.check_usable()


def test_no_secret_in_repr_str_or_errors() -> None:
    credentials = S3Credentials(
        access_key_id="AKIA1", secret_access_key=SECRET, session_token=TOKEN
    ).with_source("Airflow connection 'aws_default'")
    store = S3Store(parse_url("s3://bucket/"), credentials)
    for text in (repr(credentials), str(credentials), repr(store), str(store)):
        assert SECRET not in text and TOKEN not in text
    with pytest.raises(CredentialsError) as raised:
        S3Credentials(secret_access_key=SECRET, session_token=TOKEN, anonymous=True)
    assert SECRET not in f"{raised.value} {raised.value!r}"
    assert TOKEN not in f"{raised.value} {raised.value!r}"
    with pytest.raises(CredentialsError) as raised:
        S3Credentials(access_key_id="AKIA1", secret_access_key=12345)  # type: ignore[arg-type]
    assert "12345" not in str(raised.value)


def test_importing_the_models_does_not_import_the_sdk() -> None:
    code = (
        "import sys, orchestore, orchestore.credentials\n"
        "from orchestore.credentials import S3Credentials\n"
        "S3Credentials(access_key_id='a', secret_access_key='b').check_usable()\n"
        "sdk = {'boto3', 'botocore', 'aiobotocore', 's3fs'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in sdk))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


# -- each credential method on the wire -----------------------------------------------------------
def test_keys_sign_every_request(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    """Signed with the keys; no CRC checksum headers, which many S3-compatibles reject."""
    store = make_store(admin_credentials(moto_server))
    url = parse_url(f"s3://{moto_bucket}/{prefix}keys.txt")
    with moto_server.recording() as requests:
        store.write(url, b"signed")
        assert store.read(url) == b"signed"
    assert requests and _keys(requests) == {ADMIN_KEY_ID}
    assert all(r.header("X-Amz-Security-Token") is None for r in requests)
    for request in requests:
        assert not [name for name in request.headers if name.lower().startswith("x-amz-checksum")]


def test_session_token_is_sent(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    store = make_store(admin_credentials(moto_server, session_token=TOKEN))
    with moto_server.recording() as requests:
        store.write(parse_url(f"s3://{moto_bucket}/{prefix}token.txt"), b"t")
    assert requests
    assert {r.header("X-Amz-Security-Token") for r in requests} == {TOKEN}


@pytest.fixture
def credentials_file(tmp_path: Path) -> Path:
    path = tmp_path / "credentials"
    path.write_text(
        "[default]\naws_access_key_id = AKIAPROFILEDEFAULT01\n"
        "aws_secret_access_key = default-profile-secret\n"
        "[analytics]\naws_access_key_id = AKIAPROFILEANALYTICS\n"
        f"aws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n"
        "[role-only]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n"
    )
    return path


def test_profile_from_a_credentials_file(
    moto_server: MotoServer,
    moto_bucket: str,
    prefix: str,
    make_store: Callable[..., S3Store],
    credentials_file: Path,
) -> None:
    credentials = S3Credentials(
        profile="analytics",
        credentials_file=str(credentials_file),
        access_key_id="AKIAIGNOREDBYPROFILE",  # ignored: the profile wins, as in MLRun
        secret_access_key="ignored",
        endpoint_url=moto_server.endpoint_url,
        region=REGION,
    )
    store = make_store(credentials)
    with moto_server.recording() as requests:
        store.write(parse_url(f"s3://{moto_bucket}/{prefix}profile.txt"), b"p")
    assert requests and _keys(requests) == {"AKIAPROFILEANALYTICS"}
    assert {r.header("X-Amz-Security-Token") for r in requests} == {TOKEN}


@pytest.mark.parametrize(
    ("profile", "file_name", "problem"),
    [
        ("missing", "credentials", "no such profile"),
        ("role-only", "credentials", "missing aws_access_key_id, aws_secret_access_key"),
        ("analytics", "absent-file", "does not exist"),
    ],
)
def test_unusable_profiles_are_named_without_values(
    moto_server: MotoServer,
    moto_bucket: str,
    make_store: Callable[..., S3Store],
    credentials_file: Path,
    profile: str,
    file_name: str,
    problem: str,
) -> None:
    path = credentials_file.with_name(file_name)
    credentials = S3Credentials(
        profile=profile, credentials_file=str(path), endpoint_url=moto_server.endpoint_url
    )
    store = make_store(credentials)
    with moto_server.recording() as requests, pytest.raises(CredentialsError) as raised:
        store.read(parse_url(f"s3://{moto_bucket}/any.txt"))
    message = str(raised.value)
    assert problem in message and f"profile '{profile}'" in message and str(path) in message
    assert SECRET not in message and "default-profile-secret" not in message
    assert requests == []


def test_assume_role_with_keys_through_sts(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    store = make_store(admin_credentials(moto_server, role_arn=ROLE_ARN))
    with moto_server.recording() as requests:
        store.write(parse_url(f"s3://{moto_bucket}/{prefix}role.txt"), b"r")
    assume = [r for r in requests if r.sts_action == "AssumeRole"]
    assert len(assume) == 1 and assume[0].access_key_id == ADMIN_KEY_ID
    assert f"RoleArn={ROLE_ARN}".replace(":", "%3A").replace("/", "%2F") in assume[0].body.decode()
    s3_requests = _s3_requests(requests, moto_bucket)
    role_keys = _keys(s3_requests)
    assert len(role_keys) == 1 and ADMIN_KEY_ID not in role_keys
    assert next(iter(role_keys)).startswith("ASIA")  # type: ignore[union-attr]
    assert all(r.header("X-Amz-Security-Token") for r in s3_requests)


class ShortRoleSessions(S3Store):
    """15-minute role sessions: inside botocore's refresh window from the start."""

    role_session_seconds = 900


def test_assumed_role_is_refreshed_before_expiry(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    store = make_store(admin_credentials(moto_server, role_arn=ROLE_ARN), ShortRoleSessions)
    url = parse_url(f"s3://{moto_bucket}/{prefix}refresh.txt")
    with moto_server.recording() as requests:
        store.write(url, b"1")
        store.read(url)
    assert len([r for r in requests if r.sts_action == "AssumeRole"]) >= 2
    assert len(_keys(_s3_requests(requests, moto_bucket))) >= 2  # new keys after the refresh


def test_anonymous_requests_are_unsigned(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    client = moto_server.client()
    client.put_object(Bucket=moto_bucket, Key=f"{prefix}public.txt", Body=b"pub", ACL="public-read")
    client.put_object(Bucket=moto_bucket, Key=f"{prefix}private.txt", Body=b"private")
    store = make_store(S3Credentials(anonymous=True, endpoint_url=moto_server.endpoint_url))
    with moto_server.recording() as requests:
        assert store.read(parse_url(f"s3://{moto_bucket}/{prefix}public.txt")) == b"pub"
        with pytest.raises(PermissionDeniedError, match="anonymous=True"):
            store.read(parse_url(f"s3://{moto_bucket}/{prefix}private.txt"))
    assert requests and all(r.header("Authorization") is None for r in requests)


def test_ambient_identity_uses_the_default_chain_but_not_the_endpoint(
    moto_server: MotoServer,
    moto_bucket: str,
    prefix: str,
    make_store: Callable[..., S3Store],
    decoy_environment: None,
    decoy_server: HttpFileServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The environment's identity is used when asked for; its endpoint and region are not."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAAMBIENTIDENTITY1")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    monkeypatch.delenv("AWS_PROFILE")
    credentials = S3Credentials(
        use_ambient_identity=True, endpoint_url=moto_server.endpoint_url, region=REGION
    )
    store = make_store(credentials)
    with moto_server.recording() as requests:
        store.write(parse_url(f"s3://{moto_bucket}/{prefix}ambient.txt"), b"a")
    assert requests and _keys(requests) == {"AKIAAMBIENTIDENTITY1"}
    role = make_store(credentials.model_copy(update={"role_arn": ROLE_ARN}))
    with moto_server.recording() as requests:
        role.read(parse_url(f"s3://{moto_bucket}/{prefix}ambient.txt"))
    assume = [r for r in requests if r.sts_action == "AssumeRole"]
    assert [r.access_key_id for r in assume] == ["AKIAAMBIENTIDENTITY1"]
    assert "AKIAAMBIENTIDENTITY1" not in _keys(_s3_requests(requests, moto_bucket))
    assert decoy_server.requests == []


@pytest.fixture(scope="module")
def moto_tls(
    tmp_path_factory: pytest.TempPathFactory, tls_cert: tuple[Path, Path]
) -> Iterator[MotoServer]:
    """A second moto server, over https with a self-signed certificate."""
    with MotoServer(tmp_path_factory.mktemp("moto-tls"), tls=tls_cert) as server:
        server.client(verify=str(tls_cert[0])).create_bucket(Bucket=BUCKET)
        yield server


def test_tls_endpoint_with_its_ca_bundle(
    moto_tls: MotoServer, tls_cert: tuple[Path, Path], make_store: Callable[..., S3Store]
) -> None:
    url = parse_url(f"s3://{BUCKET}/tls.txt")
    untrusted = make_store(admin_credentials(moto_tls), FastFailing)
    with pytest.raises(CredentialsError, match="TLS certificate verification failed"):
        untrusted.write(url, b"x")
    trusted = make_store(admin_credentials(moto_tls, ca_bundle=str(tls_cert[0])))
    trusted.write(url, b"over tls")
    unverified = make_store(admin_credentials(moto_tls, verify_ssl=False))
    assert unverified.read(url) == b"over tls"


# -- fail closed, hermetic --------------------------------------------------------------------
def test_no_credentials_fails_closed_despite_the_environment(
    moto_server: MotoServer,
    moto_bucket: str,
    decoy_environment: None,
    decoy_server: HttpFileServer,
) -> None:
    url = f"s3://{moto_bucket}/anything.txt"
    with moto_server.recording() as requests:
        for credentials in (None, {"endpoint_url": moto_server.endpoint_url}):
            with pytest.raises(CredentialsError) as raised:
                orchestore.get_dataitem(url, credentials).get()
            assert "use_ambient_identity=True" in str(raised.value)
            assert DECOY_SECRET not in str(raised.value)
    assert requests == []
    assert decoy_server.requests == []


def test_explicit_keys_ignore_decoy_environment(
    moto_server: MotoServer,
    moto_bucket: str,
    prefix: str,
    make_store: Callable[..., S3Store],
    decoy_environment: None,
    decoy_server: HttpFileServer,
) -> None:
    store = make_store(admin_credentials(moto_server, role_arn=ROLE_ARN))
    url = parse_url(f"s3://{moto_bucket}/{prefix}hermetic.txt")
    with moto_server.recording() as requests:
        store.write(url, b"h")
        assert store.read(url) == b"h"
    assert requests and DECOY_KEY_ID not in _keys(requests)
    assert "decoy-session-token" not in {r.header("X-Amz-Security-Token") for r in requests}
    assert decoy_server.requests == []


def test_no_endpoint_means_aws_whatever_the_environment_says(
    make_store: Callable[..., S3Store], decoy_environment: None, decoy_server: HttpFileServer
) -> None:
    """Without endpoint_url the client targets AWS itself (inspected, not called: no network)."""
    store = make_store(S3Credentials(access_key_id="AKIA1", secret_access_key=SECRET))
    client = store.fs.s3
    assert client.meta.endpoint_url.startswith("https://s3.")
    assert client.meta.endpoint_url.endswith(".amazonaws.com")
    assert client.meta.region_name != "eu-decoy-1"
    assert client.meta.config.retries["total_max_attempts"] == S3Store.retry_policy.attempts
    regional = make_store(
        S3Credentials(access_key_id="AKIA1", secret_access_key=SECRET, region="eu-west-1")
    )
    assert regional.fs.s3.meta.region_name == "eu-west-1"
    assert decoy_server.requests == []


def test_secrets_stay_out_of_the_filesystem_options(
    moto_server: MotoServer, make_store: Callable[..., S3Store]
) -> None:
    """s3fs keeps its constructor arguments (fsspec serialises them): no secret is among them."""
    store = make_store(admin_credentials(moto_server, session_token=TOKEN))
    options = repr(store.fs.storage_options)
    assert ADMIN_SECRET not in options and TOKEN not in options


# -- errors -------------------------------------------------------------------------------------
def test_refused_and_denied_credentials(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    key = f"{prefix}guarded.txt"
    moto_server.client().put_object(Bucket=moto_bucket, Key=key, Body=b"guarded")
    user_id, user_secret = moto_server.create_user(f"reader-{prefix[5:-1]}", ["s3:*"])
    nobody_id, nobody_secret = moto_server.create_user(f"nobody-{prefix[5:-1]}")
    source = "Vault secret kv/data/s3"

    def store(key_id: str, secret: str) -> S3Store:
        credentials = S3Credentials(
            access_key_id=key_id,
            secret_access_key=secret,
            endpoint_url=moto_server.endpoint_url,
            region=REGION,
        )
        return make_store(credentials.with_source(source))

    url = parse_url(f"s3://{moto_bucket}/{key}")
    wrong = "wrong-secret-value-0c9e"
    with moto_server.enforcing_auth():
        assert store(user_id, user_secret).read(url) == b"guarded"
        cases = [
            (store(user_id, wrong), CredentialsError, "secret access key"),
            (store("AKIAUNKNOWNKEY000001", wrong), CredentialsError, "access key id"),
            (store(nobody_id, nobody_secret), PermissionDeniedError, "access denied"),
        ]
        for refused, error, meaning in cases:
            with pytest.raises(error) as raised:
                refused.read(url)
            message = f"{raised.value} {raised.value!r}"
            assert meaning in message and source in message and key in message
            assert wrong not in message and nobody_secret not in message
            assert user_secret not in message


def test_missing_bucket_is_not_found_naming_it(
    moto_server: MotoServer, make_store: Callable[..., S3Store]
) -> None:
    store = make_store(admin_credentials(moto_server))
    url = parse_url("s3://no-such-bucket-7f3a/data.csv")
    for operation in (store.read, store.stat, store.ls):
        with pytest.raises(NotFoundError, match="bucket 'no-such-bucket-7f3a' does not exist"):
            operation(url)


class FastFailing(S3Store):
    """A tight retry policy, so the timeout paths run in about a second."""

    retry_policy = RetryPolicy(attempts=2, connect_timeout=0.2, read_timeout=0.2)


class _SilentServer:
    """Accepts connections and never answers: what a hung endpoint looks like."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.port = self._socket.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.connections.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()
        for connection in self.connections:
            connection.close()


def test_endpoint_down_is_unavailable_after_bounded_retries(
    make_store: Callable[..., S3Store],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"  # bound, not listening: refused
        store = make_store(S3Credentials(anonymous=True, endpoint_url=dead), FastFailing)
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=f"cannot reach {dead}"):
            store.read(parse_url("s3://bucket/key.bin"))
    assert time.monotonic() - started < 10


def test_hung_endpoint_times_out_after_bounded_attempts(
    make_store: Callable[..., S3Store],
) -> None:
    silent = _SilentServer()
    try:
        endpoint = f"http://127.0.0.1:{silent.port}"
        store = make_store(S3Credentials(anonymous=True, endpoint_url=endpoint), FastFailing)
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="cannot reach"):
            store.read(parse_url("s3://bucket/key.bin"))
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    attempts = FastFailing.retry_policy.attempts
    assert 1 <= len(silent.connections) <= attempts
    assert elapsed < 10


# -- streaming reads ------------------------------------------------------------------------
def test_reader_streams_one_get_per_sequential_run(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    data = os.urandom(6 * MiB + 7)
    moto_server.client().put_object(Bucket=moto_bucket, Key=f"{prefix}stream.bin", Body=data)
    store = make_store(admin_credentials(moto_server))
    with (
        moto_server.recording() as requests,
        store.open_reader(parse_url(f"s3://{moto_bucket}/{prefix}stream.bin")) as reader,
    ):
        assert reader.read(10) == data[:10]  # small reads are buffered
        assert reader.read(3 * MiB) == data[10 : 3 * MiB + 10]
        assert reader.read() == data[3 * MiB + 10 :]
        reader.seek(-7, os.SEEK_END)
        assert reader.read() == data[-7:]
    gets = [r.header("Range") for r in requests if r.method == "GET"]
    assert gets == ["bytes=0-", f"bytes={len(data) - 7}-"]


def test_reader_refuses_to_mix_versions(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    """A ranged GET after the object was replaced fails instead of mixing old and new bytes."""
    client = moto_server.client()
    client.put_object(Bucket=moto_bucket, Key=f"{prefix}moving.bin", Body=b"a" * 4096)
    store = make_store(admin_credentials(moto_server))
    with store.open_reader(parse_url(f"s3://{moto_bucket}/{prefix}moving.bin")) as reader:
        client.put_object(Bucket=moto_bucket, Key=f"{prefix}moving.bin", Body=b"b" * 4096)
        with pytest.raises(StoreUnavailableError, match="changed while it was being read"):
            reader.read(10)


class _CuttingProxy:
    """A TCP proxy to moto that hangs up once, mid-response, after ``cut_after`` bytes."""

    def __init__(self, target_port: int, cut_after: int) -> None:
        self._target, self._cut_after = target_port, cut_after
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._cut, self._stop = threading.Event(), threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(("127.0.0.1", self._target))
            self._sockets += [client, upstream]
            for source, sink, cuts in ((client, upstream, False), (upstream, client, True)):
                thread = threading.Thread(target=self._pump, args=(source, sink, cuts))
                thread.start()
                self._threads.append(thread)

    def _pump(self, source: socket.socket, sink: socket.socket, cuts: bool) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                if cuts and not self._cut.is_set() and sent + len(data) > self._cut_after:
                    self._cut.set()
                    sink.sendall(data[: self._cut_after - sent])
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._stop.set()
        for end in self._sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        for end in [self._listener, *self._sockets]:
            end.close()


def test_reader_resumes_after_a_dropped_connection(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    data = os.urandom(4 * MiB)
    moto_server.client().put_object(Bucket=moto_bucket, Key=f"{prefix}cut.bin", Body=data)
    proxy = _CuttingProxy(moto_server.port, cut_after=1 * MiB)
    try:
        endpoint = f"http://127.0.0.1:{proxy.port}"
        store = make_store(admin_credentials(moto_server, endpoint_url=endpoint))
        with (
            moto_server.recording() as requests,
            store.open_reader(parse_url(f"s3://{moto_bucket}/{prefix}cut.bin")) as reader,
        ):
            assert reader.read() == data
    finally:
        proxy.close()
    ranges = [r.header("Range") for r in requests if r.method == "GET"]
    assert len(ranges) == 2 and ranges[0] == "bytes=0-"
    # "bytes=N-" (the reader resumed) or "bytes=N-M" (obstore resumed the body itself)
    resumed_at = int(ranges[1].removeprefix("bytes=").split("-")[0])  # type: ignore[union-attr]
    assert 0 < resumed_at <= 1 * MiB


def test_reading_a_folder_or_missing_key_is_typed(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    moto_server.client().put_object(Bucket=moto_bucket, Key=f"{prefix}dir/x.txt", Body=b"x")
    store = make_store(admin_credentials(moto_server))
    with pytest.raises(InvalidURLError, match="folder"):
        store.open_reader(parse_url(f"s3://{moto_bucket}/{prefix}dir"))
    with pytest.raises(NotFoundError):
        store.open_reader(parse_url(f"s3://{moto_bucket}/{prefix}nothing.bin"))


# -- streaming, atomic writes -----------------------------------------------------------------
def test_failed_streaming_write_aborts_the_multipart_upload(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    store = make_store(admin_credentials(moto_server), SmallBlocks)
    url = parse_url(f"s3://{moto_bucket}/{prefix}atomic.bin")
    store.write(url, b"version 1")
    with pytest.raises(RuntimeError, match="source failed"), store.open_writer(url) as writer:
        writer.write(os.urandom(SmallBlocks.block_size + 1))
        assert not _no_uploads_left(moto_server, moto_bucket, prefix)  # a part is up already
        raise RuntimeError("source failed")
    assert _no_uploads_left(moto_server, moto_bucket, prefix)
    assert store.read(url) == b"version 1"
    writer = store.open_writer(url)
    writer.write(os.urandom(SmallBlocks.block_size * 2))
    del writer  # abandoned: never committed, upload aborted
    gc.collect()
    assert _no_uploads_left(moto_server, moto_bucket, prefix)
    assert store.read(url) == b"version 1"


def test_streaming_write_uploads_parts_of_block_size(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    store = make_store(admin_credentials(moto_server), SmallBlocks)
    url = parse_url(f"s3://{moto_bucket}/{prefix}table.csv")
    data = os.urandom(SmallBlocks.block_size * 2 + 123)
    with moto_server.recording() as requests, store.open_writer(url) as writer:
        for start in range(0, len(data), 3 * MiB):
            writer.write(data[start : start + 3 * MiB])
    parts = [r for r in requests if r.method == "PUT" and "partNumber=" in r.query]
    parts.sort(key=lambda r: int(urllib.parse.parse_qs(r.query)["partNumber"][0]))  # in flight
    assert [len(r.body) for r in parts] == [SmallBlocks.block_size] * 2 + [123]
    head = moto_server.client().head_object(Bucket=moto_bucket, Key=f"{prefix}table.csv")
    assert head["ContentLength"] == len(data) and head["ContentType"] == "text/csv"
    assert store.read(url) == data


def test_small_writes_are_one_put_with_the_content_type(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    store = make_store(admin_credentials(moto_server))
    with moto_server.recording() as requests:
        store.write(parse_url(f"s3://{moto_bucket}/{prefix}frame.json"), b"{}")
    puts = [r for r in requests if r.method in ("PUT", "POST")]
    assert len(puts) == 1 and puts[0].header("Content-Type") == "application/json"


# -- server-side copies -----------------------------------------------------------------------
def _bytes_sent(requests: list[RecordedRequest]) -> int:
    return sum(len(r.body) for r in requests)


def test_copy_is_server_side(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    data = os.urandom(3 * MiB)
    moto_server.client().put_object(
        Bucket=moto_bucket, Key=f"{prefix}src.parquet", Body=data, ContentType="x-custom/type"
    )
    store = make_store(admin_credentials(moto_server))
    target = parse_url(f"s3://{moto_bucket}/{prefix}copy/dst.parquet")
    with moto_server.recording() as requests:
        store.copy_within(parse_url(f"s3://{moto_bucket}/{prefix}src.parquet"), target)
    assert not [r for r in requests if r.method == "GET" and "src.parquet" in r.path]
    copies = [r for r in requests if r.header("x-amz-copy-source")]
    assert len(copies) == 1 and _bytes_sent(requests) < 4096
    assert store.read(target) == data
    assert store.stat(target).content_type == "x-custom/type"


class PartCopies(S3Store):
    """UploadPartCopy from 5 MiB on, so the multipart copy runs on small test data."""

    multipart_copy_threshold = 5 * MiB
    copy_part_size = 5 * MiB


def test_big_copy_uses_upload_part_copy(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    data = os.urandom(11 * MiB)
    moto_server.client().put_object(Bucket=moto_bucket, Key=f"{prefix}big.bin", Body=data)
    store = make_store(admin_credentials(moto_server), PartCopies)
    source = parse_url(f"s3://{moto_bucket}/{prefix}big.bin")
    target = parse_url(f"s3://{moto_bucket}/{prefix}big-copy.bin")
    with moto_server.recording() as requests:
        store.copy_within(source, target)
    ranges = [r.header("x-amz-copy-source-range") for r in requests]
    assert [r for r in ranges if r] == [
        f"bytes=0-{5 * MiB - 1}",
        f"bytes={5 * MiB}-{10 * MiB - 1}",
        f"bytes={10 * MiB}-{11 * MiB - 1}",
    ]
    assert not [r for r in requests if r.method == "GET"] and _bytes_sent(requests) < 4096
    assert store.read(target) == data


def test_failed_multipart_copy_is_aborted(
    moto_server: MotoServer, moto_bucket: str, prefix: str, make_store: Callable[..., S3Store]
) -> None:
    """The source vanishes after the first part: the copy fails and leaves no upload behind."""
    client = moto_server.client()
    client.put_object(Bucket=moto_bucket, Key=f"{prefix}vanishing.bin", Body=os.urandom(11 * MiB))

    class SourceVanishes(PartCopies):
        def _copy_part(self, ids: dict[str, str], number: int, *args: Any) -> str:
            if number == 2:
                client.delete_object(Bucket=moto_bucket, Key=f"{prefix}vanishing.bin")
            return super()._copy_part(ids, number, *args)

    store = make_store(admin_credentials(moto_server), SourceVanishes)
    target = parse_url(f"s3://{moto_bucket}/{prefix}never.bin")
    with pytest.raises(NotFoundError):
        store.copy_within(parse_url(f"s3://{moto_bucket}/{prefix}vanishing.bin"), target)
    assert _no_uploads_left(moto_server, moto_bucket, prefix)
    assert not store.exists(target)


def test_copy_to_through_dataitems_stays_on_the_server(
    moto_server: MotoServer, moto_bucket: str, prefix: str
) -> None:
    credentials = admin_credentials(moto_server)
    source = orchestore.get_dataitem(f"s3://{moto_bucket}/{prefix}a.txt", credentials)
    source.put(b"same store")
    target = orchestore.get_dataitem(f"s3://{moto_bucket}/{prefix}b.txt", credentials)
    with moto_server.recording() as requests:
        source.copy_to(target)
    assert [r.method for r in requests if r.header("x-amz-copy-source")] == ["PUT"]
    assert target.get() == b"same store"


def test_manager_serves_s3_with_the_admin_keys(moto_server: MotoServer, moto_bucket: str) -> None:
    item = orchestore.get_dataitem(
        f"s3://{moto_bucket}/manager.txt",
        {
            "access_key_id": ADMIN_KEY_ID,
            "secret_access_key": ADMIN_SECRET,
            "endpoint_url": moto_server.endpoint_url,
        },
    )
    item.put("via the manager")
    assert isinstance(item.store, S3Store)
    assert item.get() == b"via the manager"
