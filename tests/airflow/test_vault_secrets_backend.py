"""Connections kept in Vault by Airflow's own secrets backend (issue 8, item 9).

A deployment may keep every Airflow connection in Vault and point ``[secrets] backend`` at the
HashiCorp provider's ``VaultBackend``; orchestore must then work unchanged, because it looks
connections up only through Airflow's API. Here the ``aws`` connection exists ONLY in OpenBao
(KV v2, ``connections_path``), read with a token limited to that path; there is no
``AIRFLOW_CONN_*`` and nothing in the metadata DB. moto enforces auth with a fresh IAM user,
so the objects land only if the keys really came out of Vault; OpenBao's audit log shows the
backend's reads.
"""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from pathlib import Path

import pytest

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

from tests.airflow.harness import AirflowHome
from tests.airflow.provider_support import assert_no_errors, run_ops
from tests.cli.conftest import cli_env, run_cli
from tests.servers.moto_server import ADMIN_SECRET, REGION, MotoServer
from tests.servers.openbao import OpenBaoServer

pytestmark = pytest.mark.airflow

VAULT_BACKEND = "airflow.providers.hashicorp.secrets.vault.VaultBackend"
#: the mount and path VaultBackend reads connections from (``<mount>/<connections_path>/<id>``)
MOUNT = "airflow"
CONNECTIONS_PATH = "connections"
#: each subprocess imports Airflow (~3 s alone, far more on a busy 2-core machine)
TIMEOUT = 240


def test_connection_from_vault_backend_works_unchanged(
    airflow_home: AirflowHome,
    tmp_path: Path,
    moto_server: MotoServer,
    moto_bucket: str,
    openbao: OpenBaoServer,
) -> None:
    """DataStoreHook and ``orchestore cp --airflow-conn`` put and read objects on moto with an
    ``aws`` connection that only VaultBackend knows; no secret reaches their output."""
    if importlib.util.find_spec("airflow.providers.hashicorp") is None:
        pytest.fail("apache-airflow-providers-hashicorp is missing: run `make venvs`")
    run = uuid.uuid4().hex[:8]
    conn_id = f"aws_vault_backend_{run}"
    user_id, user_secret = moto_server.create_user(f"vault-backend-{run}", ["s3:*"])
    openbao.enable_kv(MOUNT, 2)
    secret_path = f"{CONNECTIONS_PATH}/{conn_id}"
    openbao.put_secret(MOUNT, secret_path, {
        "conn_type": "aws", "login": user_id, "password": user_secret,
        "extra": {"endpoint_url": moto_server.endpoint_url, "region_name": REGION},
    })  # fmt: skip
    policy = f"vault-backend-{run}"
    openbao.write_policy(
        policy, f'path "{MOUNT}/data/{CONNECTIONS_PATH}/*" {{ capabilities = ["read"] }}'
    )
    token = openbao.create_token([policy])
    backend_kwargs = {
        "url": openbao.address,
        "token": token,
        "mount_point": MOUNT,
        "connections_path": CONNECTIONS_PATH,
        "kv_engine_version": 2,
    }
    backend = {
        "AIRFLOW__SECRETS__BACKEND": VAULT_BACKEND,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(backend_kwargs),
    }
    assert not any(name.startswith("AIRFLOW_CONN_") for name in airflow_home.env)

    prefix = f"vault-backend-{run}"
    hook_url = f"s3://{moto_bucket}/{prefix}/hook.txt"
    cli_url = f"s3://{moto_bucket}/{prefix}/cli.bin"
    source = tmp_path / "cli.bin"
    payload = os.urandom(50_000)
    source.write_bytes(payload)
    operations = [
        {"op": "get_connection", "conn_id": conn_id},
        {"op": "hook_credentials", "conn_id": conn_id, "url": hook_url},
        {"op": "roundtrip", "conn_id": conn_id, "url": hook_url, "data": "kept in vault"},
    ]
    mark = openbao.audit.mark()
    with moto_server.enforcing_auth():
        results = run_ops(airflow_home, backend, operations)
        cli_env_vars = {
            **cli_env(),
            **{k: v for k, v in airflow_home.env.items() if k.startswith("AIRFLOW")},
            **backend,
        }
        copied = run_cli(
            "cp", str(source), cli_url, "--airflow-conn", conn_id, "--json",
            env=cli_env_vars, timeout=TIMEOUT,
        )  # fmt: skip

    assert_no_errors(operations, results)
    connection, credentials, roundtrip = results
    assert connection == {"conn_type": "aws"}
    assert credentials["model"] == "S3Credentials"
    assert credentials["source"] == f"Airflow connection '{conn_id}' (type aws)"
    assert credentials["fields"]["access_key_id"] == user_id
    assert roundtrip["read"] == "kept in vault" and roundtrip["exists"] is True
    assert copied.returncode == 0, copied.stderr
    summary = json.loads(copied.stdout)
    assert (summary["destination"], summary["bytes"]) == (cli_url, len(payload))

    # The objects, read back with the admin keys straight through boto3.
    admin = moto_server.client()
    hook_body = admin.get_object(Bucket=moto_bucket, Key=f"{prefix}/hook.txt")["Body"].read()
    assert hook_body == b"kept in vault"
    assert admin.get_object(Bucket=moto_bucket, Key=f"{prefix}/cli.bin")["Body"].read() == payload

    # Both processes read the connection from Vault: the server's own record of the requests.
    reads = openbao.audit.requests(since=mark, path=f"{MOUNT}/data/{secret_path}")
    assert len(reads) >= 2, f"expected VaultBackend reads of {secret_path}, saw {len(reads)}"

    # The control: the same lookup without the secrets backend finds no such connection.
    (control,) = run_ops(airflow_home, {}, operations[1:2])
    assert control.get("error") and conn_id in control["message"], control

    shown = json.dumps(results) + copied.stdout + copied.stderr
    for secret in (user_secret, token, ADMIN_SECRET):
        assert secret not in shown
