"""The Vault client against a real OpenBao dev server: auth methods, KV v1/v2, the cache,
renewal and re-login, outages, and secrets kept out of errors, reprs and logs.

Request counts come from the server's own audit log, never from the client under test.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestore import CredentialsError, StoreUnavailableError, VaultUnavailableError
from orchestore.credentials import VaultConnection, VaultSecretRef, sinks, vault
from orchestore.credentials.vault import read_secret, vault_client
from tests.servers.http_server import HttpFileServer
from tests.servers.openbao import OpenBaoServer

SECRET = {"username": "svc-reader", "password": "vault-held-password-8817"}


@pytest.fixture(autouse=True)
def _fresh_vault_state() -> Iterator[None]:
    """Every test starts without cached secrets or logged-in clients."""
    vault.clear_cache()
    vault.close_clients()
    yield
    vault.clear_cache()
    vault.close_clients()


def _unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _root(openbao: OpenBaoServer, **settings: object) -> VaultConnection:
    return VaultConnection(url=openbao.address, token=openbao.root_token, **settings)


def _read_policy(openbao: OpenBaoServer, *paths: str) -> str:
    """A policy that may read exactly these API paths."""
    name = _unique("policy")
    rules = "\n".join(f'path "{path}" {{ capabilities = ["read"] }}' for path in paths)
    openbao.write_policy(name, rules)
    return name


def _approle(openbao: OpenBaoServer, *paths: str, **settings: object) -> VaultConnection:
    role_id, secret_id = openbao.approle(
        _unique("role"), [_read_policy(openbao, *paths)], **settings
    )
    return VaultConnection(
        url=openbao.address, auth_method="approle", role_id=role_id, secret_id=secret_id
    )


def _assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, "a secret leaked into a message"


# -- KV v1 and v2 -------------------------------------------------------------------------------
def test_kv2_reads_the_latest_and_a_pinned_version(openbao: OpenBaoServer) -> None:
    path = _unique("app")
    openbao.put_secret("secret", path, {"password": "first"})
    openbao.put_secret("secret", path, {"password": "second"})
    connection = _root(openbao)
    assert read_secret(VaultSecretRef(connection=connection, path=path)) == {"password": "second"}
    pinned = VaultSecretRef(connection=connection, path=path, version=1)
    assert read_secret(pinned) == {"password": "first"}
    assert pinned.api_path == f"secret/data/{path}"


def test_kv1_read_and_its_32_day_lease_does_not_outlive_the_kv_ttl(
    openbao: OpenBaoServer,
) -> None:
    """KV v1 answers lease_duration=768h (a refresh hint): the cache keeps kv_cache_ttl."""
    path = _unique("app")
    openbao.put_secret("kv1", path, SECRET, kv_version=1)
    ref = VaultSecretRef(
        connection=_root(openbao, kv_cache_ttl=0.5), mount="kv1", path=path, kv_version=1
    )
    mark = openbao.audit.mark()
    assert read_secret(ref) == SECRET
    assert read_secret(ref) == SECRET
    assert len(openbao.audit.requests(since=mark, path=f"kv1/{path}")) == 1
    time.sleep(0.6)
    assert read_secret(ref) == SECRET
    assert len(openbao.audit.requests(since=mark, path=f"kv1/{path}")) == 2


def test_a_namespace_reads_its_own_secrets(openbao: OpenBaoServer) -> None:
    namespace = _unique("ns")
    openbao.api("POST", f"sys/namespaces/{namespace}", {})
    openbao.api("POST", "sys/mounts/secret", {"type": "kv-v2"}, namespace=namespace)
    path = _unique("app")
    openbao.api("POST", f"secret/data/{path}", {"data": SECRET}, namespace=namespace)
    connection = _root(openbao, namespace=namespace)
    assert read_secret(VaultSecretRef(connection=connection, path=path)) == SECRET
    with pytest.raises(CredentialsError, match=f"no secret at secret/data/{path}"):
        read_secret(VaultSecretRef(connection=_root(openbao), path=path))


def test_a_secret_changed_in_vault_is_seen_once_the_cache_is_cleared(
    openbao: OpenBaoServer,
) -> None:
    path = _unique("app")
    openbao.put_secret("secret", path, {"password": "old"})
    ref = VaultSecretRef(connection=_root(openbao), path=path)
    assert read_secret(ref) == {"password": "old"}
    openbao.put_secret("secret", path, {"password": "rotated"})
    assert read_secret(ref) == {"password": "old"}  # within its TTL
    vault.clear_cache()
    assert read_secret(ref) == {"password": "rotated"}


def test_cached_data_cannot_be_changed_by_a_caller(openbao: OpenBaoServer) -> None:
    path = _unique("app")
    openbao.put_secret("secret", path, SECRET)
    ref = VaultSecretRef(connection=_root(openbao), path=path)
    read_secret(ref)["password"] = "tampered"
    assert read_secret(ref) == SECRET


# -- the cache: one request for many readers ----------------------------------------------------
def test_fifty_threads_cause_one_read_request_and_one_login(openbao: OpenBaoServer) -> None:
    path = _unique("app")
    openbao.put_secret("secret", path, SECRET)
    connection = _approle(openbao, f"secret/data/{path}")
    start = threading.Barrier(50)
    results: list[dict[str, object]] = []
    errors: list[BaseException] = []

    def resolve() -> None:
        start.wait()
        try:
            results.append(read_secret(VaultSecretRef(connection=connection, path=path)))
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)

    mark = openbao.audit.mark()
    threads = [threading.Thread(target=resolve) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [SECRET] * 50
    assert len(openbao.audit.requests(since=mark, path=f"secret/data/{path}")) == 1
    assert len(openbao.audit.requests(since=mark, path="auth/approle/login")) == 1


def test_one_identity_never_gets_another_identitys_cached_secret(openbao: OpenBaoServer) -> None:
    """The auth identity is part of the cache key: the cache must not bypass Vault's ACLs."""
    path = _unique("app")
    openbao.put_secret("secret", path, SECRET)
    assert read_secret(VaultSecretRef(connection=_root(openbao), path=path)) == SECRET
    outsider = _approle(openbao, "secret/data/somewhere-else")
    with pytest.raises(CredentialsError, match="permission denied"):
        read_secret(VaultSecretRef(connection=outsider, path=path))


def test_one_client_per_connection(openbao: OpenBaoServer) -> None:
    assert vault_client(_root(openbao)) is vault_client(_root(openbao))
    assert vault_client(_root(openbao)) is not vault_client(_root(openbao, namespace="other"))


# -- auth methods -------------------------------------------------------------------------------
def test_approle_and_userpass_logins(openbao: OpenBaoServer) -> None:
    path = _unique("app")
    openbao.put_secret("secret", path, SECRET)
    policy = _read_policy(openbao, f"secret/data/{path}")
    username, password = _unique("user"), "userpass-password-" + uuid.uuid4().hex
    openbao.userpass(username, password, [policy])
    userpass = VaultConnection(
        url=openbao.address, auth_method="userpass", username=username, password=password
    )
    approle = _approle(openbao, f"secret/data/{path}")
    mark = openbao.audit.mark()
    for connection in (userpass, approle):
        assert read_secret(VaultSecretRef(connection=connection, path=path)) == SECRET
    logins = [request["path"] for request in openbao.audit.requests(since=mark)]
    assert f"auth/userpass/login/{username}" in logins
    assert "auth/approle/login" in logins


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed_jwt(claims: dict[str, object]) -> tuple[str, str]:
    """An RS256 JWT and the PEM public key that verifies it."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = key.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"{header}.{body}.{_b64(signature)}", public.decode()


@pytest.mark.parametrize("from_file", [False, True], ids=["jwt", "jwt_path"])
def test_jwt_login(openbao: OpenBaoServer, tmp_path: Path, from_file: bool) -> None:
    """A JWT signed here, verified by Vault with the matching public key (JWT/OIDC method)."""
    path = _unique("app")
    openbao.put_secret("secret", path, SECRET)
    now = int(time.time())
    jwt, public_key = _signed_jwt(
        {"iss": "orchestore-test", "sub": "pipeline", "aud": "vault", "iat": now, "exp": now + 300}
    )
    mount = openbao.enable_auth("jwt", _unique("jwt"))
    openbao.api("POST", f"auth/{mount}/config", {"jwt_validation_pubkeys": [public_key]})
    role = _unique("role")
    openbao.api(
        "POST",
        f"auth/{mount}/role/{role}",
        {
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": ["vault"],
            "token_policies": [_read_policy(openbao, f"secret/data/{path}")],
        },
    )
    token_file = tmp_path / "token"
    token_file.write_text(jwt + "\n")
    source = {"jwt_path": str(token_file)} if from_file else {"jwt": jwt}
    connection = VaultConnection(
        url=openbao.address, auth_method="jwt", auth_mount=mount, role=role, **source
    )
    assert read_secret(VaultSecretRef(connection=connection, path=path)) == SECRET


def test_kubernetes_login_sends_the_service_account_token_from_its_file(
    openbao: OpenBaoServer, tmp_path: Path, tls_cert: tuple[Path, Path]
) -> None:
    """No Kubernetes API runs here, so Vault cannot review the token and refuses the login.

    What the client controls is checked on the server's side: the login reached
    auth/<mount>/login carrying the role and the JWT read from ``jwt_path`` (the audit log
    holds their HMACs), and the refusal is a CredentialsError naming the method.
    """
    mount = openbao.enable_auth("kubernetes", _unique("k8s"))
    openbao.api(
        "POST",
        f"auth/{mount}/config",
        {
            "kubernetes_host": "https://127.0.0.1:1",
            "kubernetes_ca_cert": tls_cert[0].read_text(),
            "disable_local_ca_jwt": True,
        },
    )
    openbao.api(
        "POST",
        f"auth/{mount}/role/app",
        {"bound_service_account_names": ["app"], "bound_service_account_namespaces": ["jobs"]},
    )
    jwt = "eyJhbGciOiJSUzI1NiJ9." + _b64(b'{"sub":"system:serviceaccount:jobs:app"}') + ".c2ln"
    token_file = tmp_path / "token"
    token_file.write_text(jwt)
    connection = VaultConnection(
        url=openbao.address,
        auth_method="kubernetes",
        auth_mount=mount,
        role="app",
        jwt_path=str(token_file),
    )
    mark = openbao.audit.mark()
    with pytest.raises((CredentialsError, VaultUnavailableError)) as raised:
        read_secret(VaultSecretRef(connection=connection, path="anything"))
    assert f"auth method 'kubernetes' at auth/{mount}" in str(raised.value)
    _assert_clean(str(raised.value), jwt)
    (login,) = openbao.audit.requests(since=mark, path=f"auth/{mount}/login")
    assert login["data"]["jwt"] == openbao.audit_hash(jwt)
    assert login["data"]["role"] == openbao.audit_hash("app")


def test_kubernetes_defaults_to_the_pods_token_file_and_names_it_when_missing(
    openbao: OpenBaoServer,
) -> None:
    connection = VaultConnection(url=openbao.address, auth_method="kubernetes", role="app")
    if Path(vault.KUBERNETES_JWT_PATH).exists():
        pytest.skip("running inside a Kubernetes pod: the default token file exists")
    with pytest.raises(CredentialsError, match=vault.KUBERNETES_JWT_PATH):
        read_secret(VaultSecretRef(connection=connection, path="anything"))


# -- token renewal and re-login -----------------------------------------------------------------
def test_a_renewable_token_is_renewed_before_it_expires(openbao: OpenBaoServer) -> None:
    """A 2 s token is renewed after 1.5 s and still works at 2.5 s, when it would have expired."""
    path = _unique("app")
    openbao.put_secret("secret", path, SECRET)
    token = openbao.create_token([_read_policy(openbao, f"secret/data/{path}")], ttl="2s")
    ref = VaultSecretRef(
        connection=VaultConnection(url=openbao.address, token=token, kv_cache_ttl=0), path=path
    )
    mark = openbao.audit.mark()
    assert read_secret(ref) == SECRET
    time.sleep(1.5)
    assert read_secret(ref) == SECRET
    assert len(openbao.audit.requests(since=mark, path="auth/token/renew-self")) == 1
    time.sleep(1.0)
    assert read_secret(ref) == SECRET


def test_approle_logs_in_again_when_its_token_expires(openbao: OpenBaoServer) -> None:
    path = _unique("app")
    openbao.put_secret("secret", path, SECRET)
    connection = _approle(
        openbao, f"secret/data/{path}", token_ttl="1s", token_max_ttl="1s"
    ).model_copy(update={"kv_cache_ttl": 0})
    ref = VaultSecretRef(connection=connection, path=path)
    mark = openbao.audit.mark()
    assert read_secret(ref) == SECRET
    time.sleep(1.2)
    assert read_secret(ref) == SECRET
    assert len(openbao.audit.requests(since=mark, path="auth/approle/login")) == 2


def test_a_revoked_token_is_replaced_by_one_new_login(openbao: OpenBaoServer) -> None:
    path = _unique("app")
    openbao.put_secret("secret", path, SECRET)
    connection = _approle(openbao, f"secret/data/{path}").model_copy(update={"kv_cache_ttl": 0})
    ref = VaultSecretRef(connection=connection, path=path)
    assert read_secret(ref) == SECRET
    openbao.api("PUT", "sys/leases/revoke-prefix/auth/approle/login")
    mark = openbao.audit.mark()
    assert read_secret(ref) == SECRET
    paths = [request["path"] for request in openbao.audit.requests(since=mark)]
    assert paths == [
        f"secret/data/{path}",  # refused
        "auth/token/lookup-self",  # the token itself is refused: not a plain ACL "no"
        "auth/approle/login",
        f"secret/data/{path}",
    ]


# -- errors -------------------------------------------------------------------------------------
def test_a_wrong_path_names_the_path(openbao: OpenBaoServer) -> None:
    ref = VaultSecretRef(connection=_root(openbao), path="no/such/secret")
    with pytest.raises(CredentialsError, match="no secret at secret/data/no/such/secret") as raised:
        read_secret(ref)
    _assert_clean(f"{raised.value} {raised.value!r}", openbao.root_token)


def test_a_missing_pinned_version_names_it(openbao: OpenBaoServer) -> None:
    path = _unique("app")
    openbao.put_secret("secret", path, SECRET)
    with pytest.raises(CredentialsError, match="version 7"):
        read_secret(VaultSecretRef(connection=_root(openbao), path=path, version=7))


def test_permission_denied_names_path_and_auth_method_never_the_secrets(
    openbao: OpenBaoServer,
) -> None:
    path = _unique("app")
    openbao.put_secret("secret", path, SECRET)
    connection = _approle(openbao, "secret/data/elsewhere")
    with pytest.raises(CredentialsError) as raised:
        read_secret(VaultSecretRef(connection=connection, path=path))
    message = str(raised.value)
    assert "permission denied" in message
    assert f"secret/data/{path}" in message
    assert "auth method 'approle' at auth/approle" in message
    assert connection.secret_id is not None
    _assert_clean(f"{message} {raised.value!r}", connection.secret_id.get_secret_value())


def test_a_refused_login_names_the_method_not_the_secret_id(openbao: OpenBaoServer) -> None:
    role_id, _ = openbao.approle(_unique("role"), ["default"])
    wrong = "wrong-secret-id-" + uuid.uuid4().hex
    connection = VaultConnection(
        url=openbao.address, auth_method="approle", role_id=role_id, secret_id=wrong
    )
    with pytest.raises(CredentialsError, match="logging in with auth method 'approle'") as raised:
        read_secret(VaultSecretRef(connection=connection, path="anything"))
    _assert_clean(f"{raised.value} {raised.value!r}", wrong)


def test_an_invalid_token_is_a_credentials_error(openbao: OpenBaoServer) -> None:
    bad = "hvs.not-a-real-token-" + uuid.uuid4().hex
    ref = VaultSecretRef(connection=VaultConnection(url=openbao.address, token=bad), path="x")
    with pytest.raises(CredentialsError, match="token is invalid or expired") as raised:
        read_secret(ref)
    _assert_clean(f"{raised.value} {raised.value!r}", bad)


def test_a_sealed_vault_is_unavailable_within_the_timeout(fresh_openbao: OpenBaoServer) -> None:
    path = _unique("app")
    fresh_openbao.put_secret("secret", path, SECRET)
    fresh_openbao.seal()
    ref = VaultSecretRef(connection=_root(fresh_openbao, timeout=2), path=path)
    started = time.monotonic()
    with pytest.raises(VaultUnavailableError, match="sealed") as raised:
        read_secret(ref)
    assert time.monotonic() - started < 2
    assert fresh_openbao.address in str(raised.value)
    assert isinstance(raised.value, StoreUnavailableError)
    fresh_openbao.unseal()  # a failure is not cached: Vault back means secrets back
    assert read_secret(ref) == SECRET


def test_an_unreachable_vault_is_unavailable_naming_the_address() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"http://127.0.0.1:{probe.getsockname()[1]}"
    ref = VaultSecretRef(connection=VaultConnection(url=address, token="t0ken-x"), path="x")
    with pytest.raises(VaultUnavailableError, match="cannot reach Vault at") as raised:
        read_secret(ref)
    assert address in str(raised.value)


def test_a_silent_vault_times_out_within_the_timeout() -> None:
    """A listener that accepts connections and never answers: the timeout bounds the wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"http://127.0.0.1:{silent.getsockname()[1]}"
        connection = VaultConnection(url=address, token="t0ken-x", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(VaultUnavailableError, match=r"did not answer within 0.5 s"):
            read_secret(VaultSecretRef(connection=connection, path="x"))
        assert time.monotonic() - started < 3


def test_tls_uses_the_ca_bundle_and_never_the_environments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with OpenBaoServer(tmp_path / "tls-bao", tls=True) as server:
        path = _unique("app")
        server.put_secret("secret", path, SECRET)
        # The right CA, offered only through the environment: it must not be used.
        for name in ("VAULT_CACERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
            monkeypatch.setenv(name, str(server.ca_file))
        without = VaultSecretRef(connection=_root(server), path=path)
        with pytest.raises(CredentialsError, match="TLS verification failed"):
            read_secret(without)
        with_ca = VaultSecretRef(connection=_root(server, ca_bundle=str(server.ca_file)), path=path)
        assert read_secret(with_ca) == SECRET


# -- the environment is never consulted ---------------------------------------------------------
def test_vault_environment_variables_and_token_file_are_never_used(
    openbao: OpenBaoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Live decoys: valid tokens in VAULT_TOKEN and ~/.vault-token, VAULT_ADDR and proxies at a
    recording server. hvac itself would use them (checked first, so this test can fail)."""
    import hvac

    path = _unique("app")
    openbao.put_secret("secret", path, SECRET)
    env_token = openbao.create_token(["default"])
    file_token = openbao.create_token(["default"])
    home = tmp_path / "home"
    home.mkdir()
    (home / ".vault-token").write_text(file_token)
    with HttpFileServer(tmp_path) as decoy:
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.setenv("VAULT_TOKEN", env_token)
        monkeypatch.setenv("VAULT_ADDR", decoy.base_url)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.setenv(name, decoy.base_url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        assert hvac.Client().token == env_token  # the decoys are live for plain hvac
        assert hvac.Client().url == decoy.base_url

        approle = _approle(openbao, f"secret/data/{path}")
        mark = openbao.audit.mark()
        assert read_secret(VaultSecretRef(connection=approle, path=path)) == SECRET
        with pytest.raises(CredentialsError):  # auth_method=token needs a token: no env lookup
            VaultConnection(url=openbao.address)
        assert decoy.requests == []
    used = {request.get("client_token") for request in openbao.audit.requests(since=mark)}
    assert used.isdisjoint({openbao.audit_hash(env_token), openbao.audit_hash(file_token)})


# -- secrets stay out of errors, reprs and logs -------------------------------------------------
def test_no_secret_in_any_log_record_repr_or_error(
    openbao: OpenBaoServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = _unique("app")
    openbao.put_secret("secret", path, SECRET)
    approle = _approle(openbao, f"secret/data/{path}")
    assert approle.secret_id is not None
    issued: list[str] = []
    unregister = sinks.register_secret_sink(issued.append)
    try:
        ref = VaultSecretRef(connection=approle, path=path)
        assert read_secret(ref) == SECRET
        texts = [repr(approle), str(approle), repr(ref), str(ref)]
        wrong = approle.model_dump() | {"secret_id": "x" * 20}
        for bad in (
            VaultSecretRef(connection=approle, path="secret-it-may-not-read"),
            VaultSecretRef(connection=VaultConnection(**wrong), path=path),
        ):
            with pytest.raises(CredentialsError) as raised:
                read_secret(bad)
            texts += [str(raised.value), repr(raised.value)]
    finally:
        unregister()
    assert len(issued) == 1  # the login token went to the sinks (log maskers)
    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.exc_info) for record in caplog.records if record.exc_info]
    assert any("logged in to Vault" in text for text in texts)  # the log was captured
    everything = "\n".join(texts)
    _assert_clean(
        everything,
        openbao.root_token,
        approle.secret_id.get_secret_value(),
        issued[0],
        *SECRET.values(),
    )


# -- settings validation ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"auth_method": "approle"}, "needs role_id"),
        ({"auth_method": "userpass", "username": "u"}, "needs password"),
        ({"auth_method": "jwt", "role": "r"}, "needs jwt or jwt_path"),
        ({"auth_method": "kubernetes"}, "needs role"),
        ({"auth_method": "jwt", "jwt": "j", "jwt_path": "/t"}, "exclude each other"),
        ({"token": "t", "role_id": "r"}, "role_id not used by auth_method 'token'"),
        ({"token": "t", "auth_mount": "x"}, "auth_mount does not apply"),
        ({"token": "t", "ca_bundle": "/ca.pem", "verify_ssl": False}, "ca_bundle"),
        ({"token": "t", "auth_method": "ldap"}, "auth_method"),
    ],
)
def test_connection_settings_are_checked(settings: dict[str, object], message: str) -> None:
    with pytest.raises(CredentialsError, match=message):
        VaultConnection(url="https://vault.example:8200", **settings)


def test_an_address_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(CredentialsError, match="must not contain credentials") as raised:
        VaultConnection(url="https://user:pa55word-in-url@vault.example", token="t")
    assert "pa55word-in-url" not in str(raised.value)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"path": "../escape"}, "'..'"),
        ({"path": "a//b"}, "empty"),
        ({"path": "a", "kv_version": 1, "version": 2}, "KV v2 secrets only"),
        ({"path": "a", "version": 0}, "version"),
    ],
)
def test_secret_refs_are_checked(settings: dict[str, object], message: str) -> None:
    connection = VaultConnection(url="https://vault.example", token="t")
    with pytest.raises(CredentialsError, match=message):
        VaultSecretRef(connection=connection, **settings)


def test_import_orchestore_does_not_import_hvac_or_requests() -> None:
    code = (
        "import sys, orchestore, orchestore.credentials\n"
        "from orchestore.credentials import VaultConnection, VaultSecretRef, resolve_credentials\n"
        "VaultSecretRef(connection=VaultConnection(url='http://v:8200', token='t'), path='p')\n"
        "print(sorted(m for m in ('hvac', 'requests') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
