"""Vault-backed connections (OpenBao) and log masking, in a real Airflow interpreter.

A store connection's Vault section (``vault_conn_id``, ``vault_path``, ``vault_version``)
reads the secret through a ``hashicorp_vault`` connection (token or AppRole) and lays it over
the form's non-secret fields. Masking is proven with Airflow's own ``redact()``: the secrets
Airflow does not mask by name (an ``account_key`` extra, a key JSON in ``credentials_json``, a
secret that only Vault held) stay visible until orchestore resolves them, then are masked.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
import uuid
from typing import Any

import pytest

from tests.airflow.harness import AirflowHome
from tests.airflow.provider_support import assert_no_errors, conn_env, run_ops
from tests.servers.azurite import AzuriteServer
from tests.servers.gcs_emulator import CONTRACT_BUCKET, TokenServer
from tests.servers.moto_server import ADMIN_KEY_ID, REGION, MotoServer
from tests.servers.openbao import OpenBaoServer
from tests.servers.v3io_server import V3IO_ACCESS_KEY, V3ioServer

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow


def sha(value: str) -> dict[str, str]:
    return {"sha256": hashlib.sha256(value.encode()).hexdigest()}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _vault_conn(bao: OpenBaoServer, conn_id: str, **fields: Any) -> dict[str, str]:
    extra = {"use_tls": False, **fields.pop("extra", {})}
    return conn_env(
        conn_id, "hashicorp_vault", host="127.0.0.1", port=bao.port, extra=extra, **fields
    )


def test_vault_backed_connections(
    airflow_home: AirflowHome,
    openbao: OpenBaoServer,
    v3io_server: V3ioServer,
    azurite: AzuriteServer,
    azurite_container: str,
    azurite_blob_client: Any,
) -> None:
    run = uuid.uuid4().hex[:8]
    base = f"orchestore/{run}"
    openbao.write_policy(
        f"read-{run}", f'path "secret/data/{base}/*" {{ capabilities = ["read"] }}'
    )
    token = openbao.create_token([f"read-{run}"])
    role_id, secret_id = openbao.approle(f"etl-{run}", [f"read-{run}"])
    openbao.put_secret("secret", f"{base}/v3io", {"access_key": "an-older-v3io-key"})
    openbao.put_secret("secret", f"{base}/v3io", {"V3IO_ACCESS_KEY": V3IO_ACCESS_KEY})
    openbao.put_secret("secret", f"{base}/azure", {"account_key": azurite.account_key})
    openbao.write_policy(f"kv1-{run}", f'path "kv1/{base}/*" {{ capabilities = ["read"] }}')
    openbao.put_secret("kv1", f"{base}/v3io", {"access_key": "a-kv1-v3io-key"}, kv_version=1)
    user_password = f"user-password-{run}"
    openbao.userpass(f"etl-{run}", user_password, [f"kv1-{run}"])
    v3io_form = {"host": v3io_server.api_url, "schema": "bigdata"}
    env = {
        **_vault_conn(openbao, "vault_token", password=token),
        **_vault_conn(
            openbao, "vault_approle", login=role_id, password=secret_id,
            extra={"auth_type": "approle", "kv_engine_version": 2},
        ),
        # KV v1 at the Vault connection's schema (the HashiCorp provider's mount field)
        **_vault_conn(
            openbao, "vault_userpass", login=f"etl-{run}", password=user_password, schema="kv1",
            extra={"auth_type": "userpass", "kv_engine_version": 1},
        ),
        **conn_env("v3io_kv1", "v3io", **v3io_form,
                   extra={"vault_conn_id": "vault_userpass", "vault_path": f"{base}/v3io"}),
        **conn_env("vault_down", "hashicorp_vault", host="127.0.0.1", port=_closed_port(),
                   password=token, extra={"use_tls": "false"}),
        **conn_env("v3io_vault", "v3io", **v3io_form,
                   extra={"vault_conn_id": "vault_token", "vault_path": f"{base}/v3io"}),
        **conn_env("v3io_vault_v1", "v3io", **v3io_form,
                   extra={"vault_conn_id": "vault_token", "vault_path": f"{base}/v3io",
                          "vault_version": 1}),
        **conn_env("az_vault", "wasb", host=azurite.blob_endpoint, login=azurite.account_name,
                   extra={"vault_conn_id": "vault_approle", "vault_mount": "secret",
                          "vault_path": f"{base}/azure",
                          "root": f"az://{azurite_container}/vault-{run}"}),
        **conn_env("v3io_missing", "v3io", **v3io_form,
                   extra={"vault_conn_id": "vault_token", "vault_path": f"{base}/nothing"}),
        **conn_env("v3io_vault_down", "v3io", **v3io_form,
                   extra={"vault_conn_id": "vault_down", "vault_path": f"{base}/v3io"}),
        **conn_env("v3io_no_vault_conn", "v3io", **v3io_form,
                   extra={"vault_path": f"{base}/v3io"}),
    }  # fmt: skip
    ops = [
        {"op": "credentials", "conn_id": "v3io_vault", "url": "v3io:///bigdata/x"},
        {"op": "roundtrip", "conn_id": None, "url": f"ds://v3io_vault/vault-{run}.txt",
         "data": "via vault"},
        {"op": "credentials", "conn_id": "v3io_vault_v1", "url": "v3io:///bigdata/x"},
        {"op": "credentials", "conn_id": "az_vault", "url": "az://c/k"},
        {"op": "roundtrip", "conn_id": None, "url": "ds://az_vault/a.txt", "data": "az vault"},
        {"op": "async_credentials", "conn_id": "az_vault", "url": "az://c/k"},
        {"op": "credentials", "conn_id": "v3io_kv1", "url": "v3io:///bigdata/x"},
    ]  # fmt: skip
    failing = [
        {"op": "credentials", "conn_id": "v3io_missing", "url": "v3io:///bigdata/x"},
        {"op": "credentials", "conn_id": "v3io_vault_down", "url": "v3io:///bigdata/x"},
        {"op": "credentials", "conn_id": "v3io_no_vault_conn", "url": "v3io:///bigdata/x"},
    ]
    results = run_ops(airflow_home, env, ops + failing)
    assert_no_errors(ops, results[: len(ops)])
    v3io, v3io_io, v3io_v1, azure, azure_io, azure_async, kv1 = results[: len(ops)]

    vault_source = f"Vault secret secret/data/{base}/v3io at http://127.0.0.1:{openbao.port}"
    assert v3io["source"] == f"Airflow connection 'v3io_vault' (type v3io) via {vault_source}"
    assert v3io["fields"]["api_url"] == v3io_server.api_url  # from the form
    assert v3io["fields"]["access_key"] == sha(V3IO_ACCESS_KEY)  # from Vault (MLRun's name)
    assert (v3io_server.container_path("bigdata") / f"vault-{run}.txt").read_text() == ("via vault")
    assert v3io_io["read"] == "via vault"
    assert v3io_v1["fields"]["access_key"] == sha("an-older-v3io-key")  # pinned version 1
    assert azure["fields"] == {
        "account_name": azurite.account_name, "blob_endpoint": azurite.blob_endpoint,
        "account_key": sha(azurite.account_key), "authority_host": "login.microsoftonline.com",
    }  # fmt: skip
    assert azure_async["fields"] == azure["fields"]
    assert kv1["fields"]["access_key"] == sha("a-kv1-v3io-key")
    assert kv1["source"].endswith(f"via Vault secret kv1/{base}/v3io at {openbao.address}")
    assert azure_io["item_url"] == f"az://{azurite_container}/vault-{run}/a.txt"
    blob = azurite_blob_client.get_blob_client(azurite_container, f"vault-{run}/a.txt")
    assert blob.download_blob().readall() == b"az vault"

    missing, down, no_conn = results[len(ops) :]
    assert missing["error"] == "CredentialsError" and f"{base}/nothing" in missing["message"]
    assert down["error"] == "VaultUnavailableError", down
    assert no_conn["error"] == "CredentialsError" and "vault_conn_id" in no_conn["message"]
    for result in results:
        text = repr(result)
        for secret in (token, secret_id, user_password, V3IO_ACCESS_KEY, azurite.account_key):
            assert secret not in text


def test_resolved_secrets_are_masked_by_redact(
    airflow_home: AirflowHome,
    openbao: OpenBaoServer,
    v3io_server: V3ioServer,
    azurite: AzuriteServer,
    moto_server: MotoServer,
    gcs_emulator: str,
    gcs_token_server: TokenServer,
) -> None:
    run = uuid.uuid4().hex[:8]
    vault_only_key = f"v3io-key-only-in-vault-{run}"
    openbao.put_secret("secret", f"mask/{run}", {"access_key": vault_only_key})
    gcs_key = gcs_token_server.new_service_account(f"mask-{run}").json
    aws_secret = f"aws-secret-in-extras-{run}"
    core_only_key = "Y29yZS1vbmx5LWFjY291bnQta2V5LTQ0MTc="  # never in any connection
    env = {
        **conn_env("m_wasb", "wasb", login=azurite.account_name, host=azurite.blob_endpoint,
                   extra={"account_key": azurite.account_key}),
        **conn_env("m_wasb_cs", "wasb", extra={"connection_string": azurite.connection_string}),
        **conn_env("m_gcs", "orchestoregcs", host=gcs_emulator, schema=CONTRACT_BUCKET,
                   extra={"credentials_json": gcs_key}),
        **conn_env("m_aws", "aws", extra={"aws_access_key_id": ADMIN_KEY_ID,
                                          "aws_secret_access_key": aws_secret,
                                          "region_name": REGION,
                                          "endpoint_url": moto_server.endpoint_url}),
        **conn_env("m_vault", "hashicorp_vault", host="127.0.0.1", port=openbao.port,
                   password=openbao.root_token, extra={"use_tls": False}),
        **conn_env("m_v3io", "v3io", host=v3io_server.api_url,
                   extra={"vault_conn_id": "m_vault", "vault_path": f"mask/{run}"}),
    }  # fmt: skip
    # Airflow 3.3 masks extras named like access_key or connection_string itself, not these:
    unmasked_by_airflow = [azurite.account_key, gcs_key, vault_only_key]
    ops = [
        *({"op": "get_connection", "conn_id": c} for c in ("m_wasb", "m_wasb_cs", "m_gcs")),
        {"op": "redact", "values": unmasked_by_airflow},
        {"op": "credentials", "conn_id": "m_wasb", "url": "az://c/k"},
        {"op": "credentials", "conn_id": "m_wasb_cs", "url": "az://c/k"},
        {"op": "credentials", "conn_id": "m_gcs", "url": "gs://b/k"},
        {"op": "credentials", "conn_id": "m_aws", "url": "s3://b/k"},
        {"op": "credentials", "conn_id": "m_v3io", "url": "v3io:///bigdata/k"},
        {"op": "redact", "values": [*unmasked_by_airflow, azurite.connection_string, aws_secret]},
        {"op": "redact", "values": [core_only_key]},
        {"op": "core_resolve", "url": "az://c/k",
         "credentials": {"account_name": "coreonly", "account_key": core_only_key}},
        {"op": "redact", "values": [core_only_key]},
    ]  # fmt: skip
    results = run_ops(airflow_home, env, ops)
    assert_no_errors(ops, results)
    before, after = results[3], results[9]
    # Airflow alone leaves these readable: the control that makes the next check meaningful.
    assert before["hidden"] == [False, False, False]
    assert after["hidden"] == [True, True, True, True, True]
    # Importing orchestore.airflow.hooks masks what the core resolves, whatever the source.
    assert results[10]["hidden"] == [False]
    assert results[12]["hidden"] == [True]
