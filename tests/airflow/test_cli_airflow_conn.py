"""``orchestore --airflow-conn`` and ``ds://`` URLs: the real command (installed in the airflow
venv) in a subprocess, with connections given as ``AIRFLOW_CONN_*`` JSON, as a deployment's
environment or secrets backend would hold them, against moto, Azurite and OpenBao.

The command looks connections up with Airflow's own API outside any task (secrets backends,
then env vars), so no metadata DB is needed: AIRFLOW_HOME is an empty folder.
"""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

from tests.airflow.harness import airflow_env
from tests.airflow.provider_support import conn_env
from tests.cli.conftest import cli_env, run_many
from tests.servers.azurite import AzuriteServer
from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET, REGION, MotoServer
from tests.servers.openbao import OpenBaoServer

pytestmark = pytest.mark.airflow
#: each command imports Airflow (~3 s alone, far more on a busy 2-core machine)
TIMEOUT = 240


def _env(home: Path, connections: dict[str, str]) -> dict[str, str]:
    """No credential variables, a throwaway AIRFLOW_HOME, and the connections."""
    home.mkdir(exist_ok=True)
    scrubbed = {k: v for k, v in cli_env().items() if not k.startswith("AIRFLOW")}
    airflow = {k: v for k, v in airflow_env(home).items() if k.startswith("AIRFLOW")}
    return {**scrubbed, **airflow, **connections}


def _aws(moto_server: MotoServer) -> dict[str, str]:
    """A standard ``aws`` connection to moto, filled as the Amazon provider documents it."""
    return conn_env(
        "aws_cli",
        "aws",
        login=ADMIN_KEY_ID,
        password=ADMIN_SECRET,
        extra={"endpoint_url": moto_server.endpoint_url, "region_name": REGION},
    )


def test_aws_and_wasb_connections_with_ds_urls(
    tmp_path: Path,
    moto_server: MotoServer,
    moto_bucket: str,
    azurite: AzuriteServer,
    azurite_container: str,
    azurite_blob_client: Any,
) -> None:
    """s3 -> az with two unprefixed connections (each URL gets the one of its family), the
    target a ``ds://`` URL under the ``wasb`` connection's root; ``ls ds://``; check names the
    connection; a missing connection exits 3. One batch: each command imports Airflow."""
    run = uuid.uuid4().hex[:8]
    env = _env(
        tmp_path / "airflow-home",
        {
            **_aws(moto_server),
            **conn_env(
                "wasb_cli",
                "wasb",
                extra={
                    "connection_string": azurite.connection_string,
                    "root": f"az://{azurite_container}/cli-{run}",
                },
            ),
        },
    )
    payload = os.urandom(100_000)
    s3_url = f"s3://{moto_bucket}/cli-{run}/in.bin"
    moto_server.client().put_object(Bucket=moto_bucket, Key=f"cli-{run}/in.bin", Body=payload)
    azurite_blob_client.get_blob_client(azurite_container, f"cli-{run}/seen/a.txt").upload_blob(
        b"seen"
    )

    both = ("--airflow-conn", "aws_cli", "--airflow-conn", "wasb_cli")
    to_az, checked, missing, listed = run_many(
        ("cp", s3_url, "ds://wasb_cli/copied/in.bin", *both, "--json"),
        ("check", s3_url, "--airflow-conn", "aws_cli", "--json"),
        ("check", s3_url, "--airflow-conn", "no_such_conn"),
        ("ls", "-l", "ds://wasb_cli/seen/"),
        env=env,
        timeout=TIMEOUT,
    )
    assert to_az.returncode == 0, to_az.stderr
    summary = json.loads(to_az.stdout)
    assert summary["destination"] == f"az://{azurite_container}/cli-{run}/copied/in.bin"
    assert (summary["bytes"], summary["checksum"]) == (len(payload), "md5")
    copied = azurite_blob_client.get_blob_client(azurite_container, f"cli-{run}/copied/in.bin")
    assert copied.download_blob().readall() == payload
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["credentials_source"] == (
        "Airflow connection 'aws_cli' (type aws)"
    )
    assert missing.returncode == 3
    assert "Airflow connection 'no_such_conn' is not defined" in missing.stderr
    assert listed.returncode == 0, listed.stderr
    assert f"{4:>12}" in listed.stdout and listed.stdout.strip().endswith("/seen/a.txt")
    for result in (to_az, checked, missing, listed):
        text = result.stdout + result.stderr
        assert ADMIN_SECRET not in text and azurite.account_key not in text


def test_vault_backed_connection_and_wrong_keys(
    tmp_path: Path, moto_server: MotoServer, moto_bucket: str, openbao: OpenBaoServer
) -> None:
    """An ``orchestores3`` connection holds no secret, only a Vault section: the keys are read
    from OpenBao through a ``hashicorp_vault`` connection. A connection with a wrong secret
    key makes ``check`` exit 3 without printing it."""
    run = uuid.uuid4().hex[:8]
    path = f"orchestore/cli-{run}/s3"
    user_id, user_secret = moto_server.create_user(f"cli-airflow-{run}", ["s3:*"])
    openbao.put_secret("secret", path, {
        "AWS_ACCESS_KEY_ID": user_id, "AWS_SECRET_ACCESS_KEY": user_secret,
    })  # fmt: skip
    policy = f"cli-airflow-{run}"
    openbao.write_policy(policy, f'path "secret/data/{path}" {{ capabilities = ["read"] }}')
    token = openbao.create_token([policy])
    wrong = f"wrong-airflow-secret-{run}"
    env = _env(
        tmp_path / "airflow-home",
        {
            **conn_env(
                "vault_cli",
                "hashicorp_vault",
                host="127.0.0.1",
                port=openbao.port,
                password=token,
                extra={"auth_type": "token", "use_tls": False, "kv_engine_version": 2},
            ),
            **conn_env(
                "s3_vault_cli",
                "orchestores3",
                host=moto_server.endpoint_url,
                extra={
                    "region": REGION,
                    "vault_conn_id": "vault_cli",
                    "vault_mount": "secret",
                    "vault_path": path,
                },
            ),
            **conn_env(
                "aws_wrong",
                "aws",
                login=user_id,
                password=wrong,
                extra={"endpoint_url": moto_server.endpoint_url, "region_name": REGION},
            ),
        },
    )
    key = f"cli-{run}/vault.txt"
    moto_server.client().put_object(Bucket=moto_bucket, Key=key, Body=b"via vault")
    url = f"s3://{moto_bucket}/{key}"
    with moto_server.enforcing_auth():
        checked, refused = run_many(
            ("check", url, "--airflow-conn", "s3_vault_cli"),
            ("check", url, "--airflow-conn", "aws_wrong"),
            env=env,
            timeout=TIMEOUT,
        )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"ok: reached {url} (object, 9 B)")
    assert f"via Vault secret secret/data/{path}" in checked.stdout
    assert refused.returncode == 3, refused.stderr
    assert refused.stderr.startswith("orchestore check: CredentialsError")
    assert len(refused.stderr.strip().splitlines()) == 1
    for result in (checked, refused):
        text = result.stdout + result.stderr
        for secret in (ADMIN_SECRET, token, wrong, user_secret):
            assert secret not in text
