"""``orchestore --prefect-block``: blocks saved in the harness's Prefect API server, used by the
real command in a subprocess (it reaches the server through PREFECT_API_URL, as a person's
profile would).

Covered: a credentials block with keys, a Vault-backed block (OpenBao), a DataStore block
(its credentials block), two unprefixed blocks chosen by the URL's family in one ``cp``, and a
block that does not exist (exit 3).
"""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from pathlib import Path

import pytest

if importlib.util.find_spec("prefect") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the prefect virtual environment (.venv/prefect)", allow_module_level=True)

from prefect.settings import PREFECT_API_URL

from prefect_orchestore import (
    AzureStoreCredentials,
    DataStore,
    S3StoreCredentials,
    VaultConnection,
    VaultSecretRef,
)
from tests.cli.conftest import cli_env, run_cli, run_many
from tests.servers.azurite import AzuriteServer
from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET, REGION, MotoServer
from tests.servers.openbao import OpenBaoServer

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _s3_fields(moto_server: MotoServer) -> dict[str, str]:
    return {
        "access_key_id": ADMIN_KEY_ID,
        "secret_access_key": ADMIN_SECRET,
        "endpoint_url": moto_server.endpoint_url,
        "region": REGION,
    }


@pytest.fixture
def prefect_env() -> dict[str, str]:
    """The command's environment: the harness's API server, no credential variables."""
    return cli_env(PREFECT_API_URL=str(PREFECT_API_URL.value()))


def test_check_and_cp_with_a_saved_s3_block(
    prefect_env: dict[str, str], moto_server: MotoServer, moto_bucket: str, tmp_path: Path
) -> None:
    name = _unique("cli-s3")
    S3StoreCredentials(**_s3_fields(moto_server)).save(name)
    block = ("--prefect-block", f"orchestore-s3-credentials/{name}")
    (tmp_path / "in.txt").write_bytes(b"from a prefect block")
    key = f"{_unique('cli-prefect')}/in.txt"
    url = f"s3://{moto_bucket}/{key}"

    copied = run_cli("cp", str(tmp_path / "in.txt"), url, *block, env=prefect_env)
    assert copied.returncode == 0, copied.stderr
    body = moto_server.client().get_object(Bucket=moto_bucket, Key=key)["Body"]
    assert body.read() == b"from a prefect block"

    checked, missing, malformed = run_many(
        ("check", url, *block, "--json"),
        ("check", url, "--prefect-block", f"orchestore-s3-credentials/{_unique('absent')}"),
        ("check", url, "--prefect-block", "no-slash"),
        env=prefect_env,
    )
    assert checked.returncode == 0, checked.stderr
    result = json.loads(checked.stdout)
    assert result["credentials_source"] == f"Prefect block 'orchestore-s3-credentials/{name}'"
    assert result["reached"] == "object, 20 B"
    assert missing.returncode == 3, missing.stderr
    assert "not found on the Prefect API" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert malformed.returncode == 2 and "SLUG/BLOCK_NAME" in malformed.stderr
    for output in (copied, checked, missing):
        assert ADMIN_SECRET not in output.stdout + output.stderr


def test_vault_backed_block_data_store_and_two_blocks_in_one_cp(
    prefect_env: dict[str, str],
    moto_server: MotoServer,
    moto_bucket: str,
    azurite: AzuriteServer,
    azurite_container: str,
    openbao: OpenBaoServer,
    tmp_path: Path,
) -> None:
    """S3 keys only in OpenBao (the block holds a Vault reference); a DataStore block lends
    its credentials; ``cp s3:// az://`` with two unprefixed blocks picks each by family."""
    path = _unique("orchestore/cli-prefect")
    openbao.put_secret(
        "secret",
        path,
        {
            "AWS_ACCESS_KEY_ID": ADMIN_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET,
            "S3_ENDPOINT_URL": moto_server.endpoint_url,
            "AWS_REGION": REGION,
        },
    )
    policy = _unique("cli-prefect-reader")
    openbao.write_policy(policy, f'path "secret/data/{path}" {{ capabilities = ["read"] }}')
    token = openbao.create_token([policy])
    vault_block = _unique("cli-vault-s3")
    S3StoreCredentials(
        vault=VaultSecretRef(
            connection=VaultConnection(url=openbao.address, token=token), path=path
        )
    ).save(vault_block)
    azure_block = _unique("cli-az")
    AzureStoreCredentials(
        account_name=azurite.account_name,
        account_key=azurite.account_key,
        blob_endpoint=azurite.blob_endpoint,
    ).save(azure_block)
    folder = _unique("cli-prefect")
    store_block = _unique("cli-store")
    DataStore(
        base_url=f"az://{azurite_container}/{folder}/",
        credentials=AzureStoreCredentials.load(azure_block),
    ).save(store_block)

    key = f"{folder}/data.bin"
    payload = os.urandom(300_000)
    moto_server.client().put_object(Bucket=moto_bucket, Key=key, Body=payload)
    copied = run_cli(
        "cp",
        f"s3://{moto_bucket}/{key}",
        f"az://{azurite_container}/{key}",
        "--prefect-block",
        f"orchestore-s3-credentials/{vault_block}",
        "--prefect-block",
        f"orchestore-azure-credentials/{azure_block}",
        "--json",
        env=prefect_env,
    )
    assert copied.returncode == 0, copied.stderr
    assert json.loads(copied.stdout)["bytes"] == len(payload)

    s3_check, listed = run_many(
        (
            "check",
            f"s3://{moto_bucket}/{key}",
            "--prefect-block",
            f"orchestore-s3-credentials/{vault_block}",
        ),
        (
            "ls",
            f"az://{azurite_container}/{folder}/",
            "-l",
            "--prefect-block",
            f"orchestore-data-store/{store_block}",
        ),
        env=prefect_env,
    )
    assert s3_check.returncode == 0, s3_check.stderr
    assert f"Vault secret secret/data/{path}" in s3_check.stdout
    assert f"via Prefect block 'orchestore-s3-credentials/{vault_block}'" in s3_check.stdout
    assert listed.returncode == 0, listed.stderr
    assert f"{len(payload):>12}" in listed.stdout and listed.stdout.strip().endswith("data.bin")
    for output in (copied, s3_check, listed):
        text = output.stdout + output.stderr
        assert ADMIN_SECRET not in text and token not in text
        assert azurite.account_key not in text
