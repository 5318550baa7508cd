"""The gs:// store against a real gcp-storage-emulator, a recording relay and a token endpoint.

The emulator ignores auth, so credentials are checked where they can be: the right google-auth
object is built from each method; service-account keys really obtain a token from the local
token endpoint (which verifies the JWT signature), and the relay in front of the emulator shows
the Authorization header the server received. Decoy credentials in the environment are watched
with an audit hook on open(): a decoy key file must never be opened, and a decoy endpoint must
see no request. The relay also injects 400/403/501/503 answers and stands in for a dead endpoint.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

import orchestore
from orchestore import (
    CredentialsError,
    InvalidURLError,
    NotFoundError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from orchestore.credentials import GCSCredentials
from orchestore.stores.gcs import PUBLIC_ENDPOINT, SCOPE, GCSStore
from orchestore.stores.gcs_upload import CHUNK as UPLOAD_CHUNK
from orchestore.urls import parse_url
from tests.servers.gcs_emulator import (
    CONTRACT_BUCKET,
    RecordingProxy,
    ServiceAccountKey,
    TokenServer,
    create_bucket,
    delete_bucket,
    free_port,
    raw_client,
    seed_object,
    session_status,
    wait_for,
)

SECRET_MARKER = "s3cr3t-marker-0b5e"  # planted in key contents; must never surface
_names = itertools.count()


# -- helpers --------------------------------------------------------------------------------------
class _OpenAudit:
    """Records files opened while watching, through an audit hook (installed once, inert)."""

    def __init__(self) -> None:
        self._active = False
        self.opened: list[tuple[str, bool]] = []  # (path, opened for writing)
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[object, ...]) -> None:
        if not self._active or event != "open" or not isinstance(args[0], str):
            return
        mode, flags = args[1], args[2]
        writing = isinstance(mode, str) and any(c in mode for c in "wax+")
        if isinstance(flags, int):
            writing = writing or bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        self.opened.append((os.path.realpath(args[0]), writing))

    def __enter__(self) -> _OpenAudit:
        self.opened.clear()
        self._active = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._active = False

    def read(self, path: Path) -> bool:
        return os.path.realpath(path) in {opened for opened, _ in self.opened}

    def written(self) -> list[str]:
        return [path for path, writing in self.opened if writing]


_AUDIT = _OpenAudit()


@pytest.fixture
def bucket(gcs_emulator: str) -> str:
    """A fresh bucket for one test."""
    name = f"unit-{next(_names)}-{os.urandom(3).hex()}"
    create_bucket(gcs_emulator, name)
    return name


def _anonymous(endpoint: str) -> GCSCredentials:
    return GCSCredentials(anonymous=True, endpoint_url=endpoint)


def _store(credentials: GCSCredentials) -> GCSStore:
    return GCSStore(parse_url("gs://any"), credentials)


def _key_file(tmp_path: Path, key: ServiceAccountKey) -> Path:
    path = tmp_path / f"{key.client_email.split('@')[0]}.json"
    path.write_text(key.json)
    return path


def _bearer_tokens(proxy: RecordingProxy) -> set[str]:
    headers = [exchange.headers.get("authorization", "") for exchange in proxy.exchanges]
    return {value.removeprefix("Bearer ") for value in headers if value}


def _upload_id(url: str) -> str | None:
    return parse_qs(urlsplit(url).query).get("upload_id", [None])[0]


def _no_secret(text: str, *secrets: str) -> None:
    for secret in (SECRET_MARKER, *secrets):
        assert secret not in text


# -- the credential model -------------------------------------------------------------------------
def test_from_mapping_takes_mlrun_names(tmp_path: Path) -> None:
    key = '{"type": "service_account", "client_email": "a@b", "private_key": "k", "token_uri": "t"}'
    from_json = GCSCredentials.from_mapping({"GCP_CREDENTIALS": key, "project": "p"})
    assert from_json.credentials_json is not None
    assert from_json.credentials_json.get_secret_value() == key
    from_file = GCSCredentials.from_mapping(
        {"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "key.json")}, source="Vault kv/gcs"
    )
    assert from_file.credentials_file == str(tmp_path / "key.json")
    assert from_file.source == "Vault kv/gcs"
    with pytest.raises(CredentialsError, match=r"'GCP_CREDENTIALS' and 'credentials_json'"):
        GCSCredentials.from_mapping({"GCP_CREDENTIALS": key, "credentials_json": key})
    with pytest.raises(CredentialsError, match="AWS_ACCESS_KEY_ID") as raised:
        GCSCredentials.from_mapping({"anonymous": True, "AWS_ACCESS_KEY_ID": SECRET_MARKER})
    _no_secret(f"{raised.value} {raised.value!r}")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("credentials_json", "credentials_file"),
        ("credentials_json", "anonymous"),
        ("credentials_file", "use_ambient_identity"),
        ("anonymous", "use_ambient_identity"),
    ],
)
def test_two_methods_are_refused_naming_both(first: str, second: str) -> None:
    values = {
        "credentials_json": '{"type": "authorized_user", "client_id": "i", '
        f'"client_secret": "{SECRET_MARKER}", "refresh_token": "r"}}',
        "credentials_file": "/etc/key.json",
        "anonymous": True,
        "use_ambient_identity": True,
    }
    with pytest.raises(CredentialsError, match=f"{first} and {second}") as raised:
        GCSCredentials(**{first: values[first], second: values[second]})
    _no_secret(f"{raised.value} {raised.value!r}")


@pytest.mark.parametrize(
    ("contents", "expected"),
    [
        (f"{{'type': '{SECRET_MARKER}'", r"credentials_json is not valid JSON \(line 1"),
        (f'["{SECRET_MARKER}"]', "must be a JSON object"),
        (f'{{"private_key": "{SECRET_MARKER}"}}', "no 'type' field"),
        (f'{{"type": "{SECRET_MARKER}"}}', "unsupported 'type'"),
        (
            f'{{"type": "service_account", "private_key": "{SECRET_MARKER}"}}',
            r"\(service_account key\) is missing client_email, token_uri",
        ),
        (f'{{"type": "authorized_user", "client_secret": "{SECRET_MARKER}"}}', "client_id"),
    ],
)
def test_malformed_key_contents_name_the_problem_never_the_content(
    contents: str, expected: str
) -> None:
    with pytest.raises(CredentialsError, match=expected) as raised:
        GCSCredentials(credentials_json=contents)
    _no_secret(f"{raised.value} {raised.value!r}")


def test_a_key_pasted_into_credentials_file_is_refused_without_echo() -> None:
    with pytest.raises(CredentialsError, match="put the key file's contents in") as raised:
        GCSCredentials.from_mapping(
            {"GOOGLE_APPLICATION_CREDENTIALS": f'{{"k": "{SECRET_MARKER}"}}'}
        )
    _no_secret(f"{raised.value} {raised.value!r}")


@pytest.mark.parametrize("endpoint", ["127.0.0.1:9000", "ftp://host", "http://user:pw@host"])
def test_endpoint_url_must_be_http(endpoint: str) -> None:
    with pytest.raises(CredentialsError, match=r"endpoint_url: expected http\(s\)://host"):
        GCSCredentials(anonymous=True, endpoint_url=endpoint)


def test_models_import_no_sdk() -> None:
    code = (
        "import sys, orchestore, orchestore.credentials\n"
        "from orchestore.credentials import GCSCredentials\n"
        "GCSCredentials(anonymous=True)\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('gcsfs', 'google', 'aiohttp')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- fail closed ----------------------------------------------------------------------------------
@pytest.fixture
def decoys(
    tmp_path: Path,
    gcs_token_server: TokenServer,
    gcs_emulator: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[ServiceAccountKey, Path, RecordingProxy]]:
    """Every variable gcsfs/google-auth would look at, pointing at things that must stay unused."""
    key = gcs_token_server.new_service_account("decoy")
    path = _key_file(tmp_path, key)
    with RecordingProxy(int(gcs_emulator.rsplit(":", 1)[1])) as decoy_server:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", decoy_server.endpoint_url)
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "decoy-project")
        monkeypatch.setenv("GOOGLE_API_USE_CLIENT_CERTIFICATE", "true")
        monkeypatch.setenv("GOOGLE_CLOUD_UNIVERSE_DOMAIN", "decoy.example")
        monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
        yield key, path, decoy_server


def test_no_credentials_fail_closed_with_decoys_in_the_environment(
    decoys: tuple[ServiceAccountKey, Path, RecordingProxy], gcs_token_server: TokenServer
) -> None:
    key, path, decoy_server = decoys
    with _AUDIT, pytest.raises(CredentialsError) as raised:
        orchestore.get_dataitem("gs://some-bucket/data.csv").get()
    message = str(raised.value)
    for needed in ("credentials_json", "credentials_file", "use_ambient_identity=True"):
        assert needed in message
    assert "anonymous=True" in message
    with _AUDIT, pytest.raises(CredentialsError, match="no GCS credentials"):
        orchestore.get_dataitem("gs://some-bucket/data.csv", {"project": "p"})
    assert not _AUDIT.read(path)
    assert decoy_server.exchanges == []
    assert key.client_email not in {grant.subject for grant in gcs_token_server.grants}


def test_explicit_credentials_ignore_the_decoys(
    decoys: tuple[ServiceAccountKey, Path, RecordingProxy],
    gcs_token_server: TokenServer,
    gcs_emulator: str,
) -> None:
    decoy_key, path, decoy_server = decoys
    mine = gcs_token_server.new_service_account("explicit")
    url = f"gs://{CONTRACT_BUCKET}/decoys/{os.urandom(4).hex()}.bin"
    with _AUDIT:
        anonymous = orchestore.get_dataitem(url, _anonymous(gcs_emulator))
        anonymous.put(b"payload")
        keyed = GCSCredentials(credentials_json=mine.json, endpoint_url=gcs_emulator)
        assert orchestore.get_dataitem(url, keyed).get() == b"payload"
        public = _store(GCSCredentials(anonymous=True))  # no endpoint_url: the public API
        assert public.fs.base == f"{PUBLIC_ENDPOINT}/storage/v1/"
    assert not _AUDIT.read(path)
    assert decoy_server.exchanges == []
    subjects = {grant.subject for grant in gcs_token_server.grants}
    assert mine.client_email in subjects and decoy_key.client_email not in subjects


def test_ambient_identity_is_the_only_way_to_the_environment(
    decoys: tuple[ServiceAccountKey, Path, RecordingProxy], gcs_emulator: str
) -> None:
    """The positive control: the same decoy file IS read when ADC is asked for explicitly."""
    decoy_key, path, decoy_server = decoys
    with _AUDIT:
        store = _store(GCSCredentials(use_ambient_identity=True, endpoint_url=gcs_emulator))
        found = store.fs.credentials.credentials
    assert _AUDIT.read(path)
    assert isinstance(found, service_account.Credentials)
    assert found.service_account_email == decoy_key.client_email
    assert store.fs.base == f"{gcs_emulator}/storage/v1/"  # STORAGE_EMULATOR_HOST still ignored
    assert store.exists(parse_url(f"gs://{CONTRACT_BUCKET}/nothing-here")) is False
    assert decoy_server.exchanges == []


def test_ambient_identity_without_any_is_a_credentials_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud login here
    with RecordingProxy(free_port()) as metadata:  # a "metadata server" that is not Google's
        metadata.answer_with(404)
        address = metadata.endpoint_url.removeprefix("http://")
        monkeypatch.setenv("GCE_METADATA_HOST", address)
        monkeypatch.setenv("GCE_METADATA_IP", address)
        store = _store(GCSCredentials(use_ambient_identity=True, endpoint_url="http://127.0.0.1:9"))
        with pytest.raises(CredentialsError, match="no Application Default Credentials"):
            store.exists(parse_url("gs://bucket/key"))
        assert metadata.exchanges  # google-auth did look for the platform's identity


# -- each credential method against the servers ---------------------------------------------------
def test_anonymous_sends_no_credentials(gcs_proxy: RecordingProxy, bucket: str) -> None:
    item = orchestore.get_dataitem(f"gs://{bucket}/anon.txt", _anonymous(gcs_proxy.endpoint_url))
    item.put("hello")
    assert item.get() == b"hello"
    assert gcs_proxy.exchanges and _bearer_tokens(gcs_proxy) == set()


def test_service_account_json_authenticates_with_its_own_key(
    gcs_proxy: RecordingProxy, gcs_token_server: TokenServer, bucket: str
) -> None:
    key = gcs_token_server.new_service_account("from-json", project="json-project")
    credentials = GCSCredentials.from_mapping(
        {"GCP_CREDENTIALS": key.json, "endpoint_url": gcs_proxy.endpoint_url}
    )
    with _AUDIT:
        item = orchestore.get_dataitem(f"gs://{bucket}/json.bin", credentials)
        item.put(b"signed")
        assert item.get() == b"signed"
    assert _AUDIT.written() == []  # the key's contents never touched the disk
    built = item.store.fs.credentials.credentials  # type: ignore[attr-defined]
    assert isinstance(built, service_account.Credentials)
    assert built.service_account_email == key.client_email
    assert item.store.fs.project == "json-project"  # type: ignore[attr-defined]
    grants = [g for g in gcs_token_server.grants if g.subject == key.client_email]
    assert grants and all(g.scope == SCOPE and g.access_token for g in grants)
    assert _bearer_tokens(gcs_proxy) == {grants[-1].access_token}


def test_credentials_file_authenticates_and_project_overrides(
    gcs_proxy: RecordingProxy, gcs_token_server: TokenServer, bucket: str, tmp_path: Path
) -> None:
    key = gcs_token_server.new_service_account("from-file")
    path = _key_file(tmp_path, key)
    credentials = GCSCredentials(
        credentials_file=str(path), project="chosen", endpoint_url=gcs_proxy.endpoint_url
    )
    with _AUDIT:
        item = orchestore.get_dataitem(f"gs://{bucket}/file.bin", credentials)
        item.put(b"from a file")
    assert _AUDIT.read(path)
    built = item.store.fs.credentials.credentials  # type: ignore[attr-defined]
    assert isinstance(built, service_account.Credentials)
    assert built.service_account_email == key.client_email
    assert item.store.fs.project == "chosen"  # type: ignore[attr-defined]
    issued = {g.access_token for g in gcs_token_server.grants if g.subject == key.client_email}
    assert _bearer_tokens(gcs_proxy) and _bearer_tokens(gcs_proxy) <= issued


def test_authorized_user_json_builds_user_credentials(gcs_token_server: TokenServer) -> None:
    """google-auth sends refresh tokens to Google's endpoint whatever token_uri says, so the
    refresh itself cannot be exercised here: the right credential object is checked instead."""
    info = gcs_token_server.new_authorized_user("user-client")
    credentials = GCSCredentials(credentials_json=json.dumps(info), project="mine")
    built = _store(credentials).fs.credentials.credentials
    assert isinstance(built, user_credentials.Credentials)
    assert (built.client_id, built.refresh_token) == ("user-client", info["refresh_token"])
    assert built.scopes == [SCOPE]


def test_a_refused_key_is_a_credentials_error_naming_the_source(
    gcs_emulator: str, gcs_token_server: TokenServer
) -> None:
    stranger = gcs_token_server.new_service_account("stranger", register=False)
    credentials = GCSCredentials.from_mapping(
        {"GCP_CREDENTIALS": stranger.json, "endpoint_url": gcs_emulator},
        source="Airflow connection 'gcs_default'",
    )
    started = time.monotonic()
    with pytest.raises(CredentialsError, match="Airflow connection 'gcs_default'") as raised:
        orchestore.get_dataitem(f"gs://{CONTRACT_BUCKET}/x.bin", credentials).get()
    assert time.monotonic() - started < 5  # a refusal is not retried
    _no_secret(f"{raised.value} {raised.value!r}", stranger.private_key)


def test_unreachable_token_endpoint_is_unavailable(gcs_emulator: str) -> None:
    key = {
        "type": "service_account",
        "client_email": "nobody@p.iam.gserviceaccount.com",
        "private_key": _throwaway_pem(),
        "token_uri": f"http://127.0.0.1:{free_port()}/token",  # nobody listens
    }
    credentials = GCSCredentials(credentials_json=json.dumps(key), endpoint_url=gcs_emulator)
    with pytest.raises(StoreUnavailableError, match="token endpoint"):
        orchestore.get_dataitem(f"gs://{CONTRACT_BUCKET}/x.bin", credentials).get()


def _throwaway_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_unreadable_credentials_file_names_the_field(tmp_path: Path) -> None:
    credentials = GCSCredentials(credentials_file=str(tmp_path / "missing.json"))
    with pytest.raises(CredentialsError, match="credentials_file: cannot read the key file"):
        _store(credentials).stat(parse_url("gs://bucket/key"))
    broken = tmp_path / "broken.json"
    broken.write_text(f'{{"type": "service_account", "private_key": "{SECRET_MARKER}"')
    with pytest.raises(CredentialsError, match="credentials_file is not valid JSON") as raised:
        _store(GCSCredentials(credentials_file=str(broken))).stat(parse_url("gs://bucket/key"))
    _no_secret(f"{raised.value} {raised.value!r}")


def test_secrets_stay_out_of_reprs(gcs_emulator: str, gcs_token_server: TokenServer) -> None:
    key = gcs_token_server.new_service_account("repr")
    credentials = GCSCredentials(credentials_json=key.json, endpoint_url=gcs_emulator)
    item = orchestore.get_dataitem(f"gs://{CONTRACT_BUCKET}/repr.bin", credentials)
    text = f"{credentials!r} {credentials} {item!r} {item.store!r} {vars(item)}"
    text += f" {credentials.model_dump()} {credentials.model_dump_json()}"
    _no_secret(text, key.private_key, key.private_key.splitlines()[1])


# -- store behaviour ------------------------------------------------------------------------------
def test_gs_and_gcs_schemes_name_the_same_objects(gcs_emulator: str, bucket: str) -> None:
    seed_object(gcs_emulator, bucket, "both/table.csv", b"a,b\n1,2\n")
    credentials = _anonymous(gcs_emulator)
    assert orchestore.get_dataitem(f"gcs://{bucket}/both/table.csv", credentials).get() == (
        b"a,b\n1,2\n"
    )
    stat = orchestore.get_dataitem(f"gs://{bucket}/both/table.csv", credentials).stat()
    assert (stat.size, stat.content_type) == (8, "text/csv")
    assert isinstance(orchestore.get_dataitem(f"gcs://{bucket}/x", credentials).store, GCSStore)


def test_the_extended_zonal_filesystem_is_never_used(gcs_emulator: str) -> None:
    """gcsfs swaps in a gRPC-probing filesystem unless GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false."""
    import gcsfs.core

    fs = _store(_anonymous(gcs_emulator)).fs
    assert type(fs).__mro__[1] is gcsfs.core.GCSFileSystem
    assert "ExtendedGcsFileSystem" not in {cls.__name__ for cls in type(fs).__mro__}


def test_failed_streaming_write_cancels_the_upload_session(
    gcs_emulator: str, gcs_proxy: RecordingProxy, bucket: str
) -> None:
    item = orchestore.get_dataitem(f"gs://{bucket}/atomic.bin", _anonymous(gcs_proxy.endpoint_url))
    item.put(b"version 1")
    gcs_proxy.clear()
    with pytest.raises(RuntimeError, match="source failed"), item.open("wb") as writer:
        writer.write(os.urandom(UPLOAD_CHUNK + 1))  # a full chunk is uploaded
        raise RuntimeError("source failed")
    assert item.get() == b"version 1"
    exchanges = gcs_proxy.exchanges
    started = [
        e for e in exchanges if "uploadType=resumable" in e.target and "upload_id" not in e.target
    ]
    session = started[0].response_headers["location"]
    upload_id = _upload_id(session)
    chunks = [e for e in exchanges if _upload_id(e.target) == upload_id and e.method == "POST"]
    assert len(started) == 1 and chunks and chunks[0].sent > UPLOAD_CHUNK // 2
    assert [e.status for e in exchanges if e.method == "DELETE"] == [499]  # the cancel
    assert _upload_id(next(e.target for e in exchanges if e.method == "DELETE")) == upload_id
    assert session_status(session) == 404  # the server no longer knows the session
    item.delete()
    assert delete_bucket(gcs_emulator, bucket) in (200, 204)  # 409 if a session were pending


def test_failed_first_write_leaves_no_object(gcs_emulator: str, bucket: str) -> None:
    item = orchestore.get_dataitem(f"gs://{bucket}/new.bin", _anonymous(gcs_emulator))
    with pytest.raises(RuntimeError), item.open("wb") as writer:
        writer.write(os.urandom(UPLOAD_CHUNK + 1))
        raise RuntimeError("source failed")
    assert not item.exists()
    assert list(raw_client(gcs_emulator).list_blobs(bucket)) == []
    assert delete_bucket(gcs_emulator, bucket) in (200, 204)


def test_copy_within_is_a_server_side_rewrite(
    gcs_emulator: str, gcs_proxy: RecordingProxy, bucket: str
) -> None:
    data = os.urandom(20 * 1024 * 1024 + 3)
    seed_object(gcs_emulator, bucket, "copy/source.bin", data)
    credentials = _anonymous(gcs_proxy.endpoint_url)
    source = orchestore.get_dataitem(f"gs://{bucket}/copy/source.bin", credentials)
    gcs_proxy.clear()
    target = source.copy_to(f"gs://{bucket}/copy/target.bin", credentials)

    def requests() -> list:  # connections opened and closed unused carry no request
        return [e for e in gcs_proxy.exchanges if e.method]

    assert wait_for(lambda: all(e.status is not None for e in requests()))
    exchanges = requests()
    # one rewrite; the rest (through orchestore.copy) are metadata reads, never the media
    assert [e.method for e in exchanges if "/rewriteTo/" in e.target] == ["POST"]
    assert not [e for e in exchanges if "alt=media" in e.target]
    assert sum(e.sent + e.received for e in exchanges) < 64 * 1024  # no object bytes moved
    blob = raw_client(gcs_emulator).bucket(bucket).blob("copy/target.bin")
    assert blob.download_as_bytes() == data
    assert target.stat().size == len(data)


def test_copy_names_the_missing_bucket(gcs_emulator: str, bucket: str) -> None:
    credentials = _anonymous(gcs_emulator)
    source = orchestore.get_dataitem(f"gs://{bucket}/there.bin", credentials)
    source.put(b"x")
    with pytest.raises(NotFoundError, match="bucket 'no-such-target' does not exist"):
        source.copy_to("gs://no-such-target/copy.bin", credentials)
    with pytest.raises(NotFoundError, match=r"absent\.bin: no such object"):
        orchestore.get_dataitem(f"gs://{bucket}/absent.bin", credentials).copy_to(
            f"gs://{bucket}/copy.bin", credentials
        )


def test_missing_bucket_is_not_found_naming_it(gcs_emulator: str, bucket: str) -> None:
    credentials = _anonymous(gcs_emulator)
    missing = orchestore.get_dataitem("gs://no-such-bucket/data.csv", credentials)
    calls = [missing.get, missing.stat, lambda: missing.put(b"x"), lambda: missing.open("rb")]
    calls.append(orchestore.get_dataitem("gs://no-such-bucket/folder/", credentials).ls)
    for call in calls:
        with pytest.raises(NotFoundError, match="bucket 'no-such-bucket' does not exist"):
            call()
    with pytest.raises(NotFoundError, match="no such object or folder") as raised:
        orchestore.get_dataitem(f"gs://{bucket}/absent.csv", credentials).get()
    assert "absent.csv" in str(raised.value)


def test_forbidden_is_permission_denied_naming_the_source(gcs_proxy: RecordingProxy) -> None:
    credentials = GCSCredentials.from_mapping(
        {"anonymous": True, "endpoint_url": gcs_proxy.endpoint_url}, source="Prefect block 'gcs'"
    )
    why = "anonymous caller does not have storage.objects.get access"
    gcs_proxy.answer_with(403, {"error": {"code": 403, "message": why}})
    with pytest.raises(PermissionDeniedError, match="Prefect block 'gcs'") as raised:
        orchestore.get_dataitem("gs://locked/data.csv", credentials).get()
    assert why in str(raised.value)


def test_bad_request_is_an_invalid_url(gcs_proxy: RecordingProxy) -> None:
    gcs_proxy.answer_with(400, {"error": {"code": 400, "message": "invalid object name"}})
    with pytest.raises(InvalidURLError, match="invalid object name"):
        orchestore.get_dataitem("gs://b/k", _anonymous(gcs_proxy.endpoint_url)).stat()


@pytest.mark.parametrize(("status", "attempts"), [(503, GCSStore.retry_policy.attempts), (501, 1)])
def test_server_errors_are_retried_a_bounded_number_of_times(
    gcs_proxy: RecordingProxy, status: int, attempts: int
) -> None:
    gcs_proxy.answer_with(status, {"error": {"code": status, "message": "busy"}})
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=f"HTTP {status}"):
        orchestore.get_dataitem("gs://b/k.bin", _anonymous(gcs_proxy.endpoint_url)).get()
    assert time.monotonic() - started < 5
    assert len(gcs_proxy.exchanges) == attempts


def test_endpoint_down_is_unavailable_after_bounded_retries() -> None:
    with RecordingProxy(free_port()) as dead_end:  # accepts, then hangs up: its upstream is down
        item = orchestore.get_dataitem("gs://b/k.bin", _anonymous(dead_end.endpoint_url))
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="after 4 attempts") as raised:
            item.get()
        elapsed = time.monotonic() - started
        # aiohttp itself re-sends an idempotent request once when the server hangs up unanswered
        attempts = GCSStore.retry_policy.attempts
        assert attempts <= len(dead_end.exchanges) <= 2 * attempts
    assert elapsed < 5
    assert dead_end.endpoint_url in str(raised.value)
    refused = orchestore.get_dataitem("gs://b/k.bin", _anonymous(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(StoreUnavailableError, match="cannot reach"):
        refused.exists()
