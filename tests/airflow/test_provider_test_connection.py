"""``test_connection()`` of every orchestore connection type, good and bad credentials.

The checks take Airflow's own path (``Connection.test_connection()`` -> the hook registered
for the type -> ``hook.test_connection()``), which the UI's Test button and ``airflow
connections test`` use; two runs of the real CLI prove the wiring end to end. Connections
of the hyphenated types are stored in the metadata DB, as the UI stores them.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.harness import AirflowHome
from tests.airflow.provider_support import assert_no_errors, conn_env, run_ops, with_env
from tests.servers.azurite import AzuriteServer
from tests.servers.gcs_emulator import CONTRACT_BUCKET, TokenServer
from tests.servers.moto_server import REGION, MotoServer
from tests.servers.v3io_server import V3IO_ACCESS_KEY, V3ioServer

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow

WRONG = "wrong-secret-value-5d2e81"
TEST_ENABLED = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}


def test_every_type_passes_with_good_and_fails_clearly_with_bad_credentials(
    airflow_home: AirflowHome,
    v3io_server: V3ioServer,
    moto_server: MotoServer,
    moto_bucket: str,
    azurite: AzuriteServer,
    azurite_container: str,
    gcs_emulator: str,
    gcs_token_server: TokenServer,
    tmp_path: Path,
) -> None:
    run = uuid.uuid4().hex[:8]
    good_key = gcs_token_server.new_service_account(f"good-{run}")
    stranger_key = gcs_token_server.new_service_account(f"stranger-{run}", register=False)
    s3_id, s3_secret = moto_server.create_user(f"tester-{run}", ["s3:*"])
    catalog = f"sqlite:///{tmp_path / 'catalog.db'}"
    artifact_root = f"az://{azurite_container}/artifacts-{run}/"

    def s3(password: str) -> dict[str, Any]:
        return {
            "conn_type": "orchestores3", "host": moto_server.endpoint_url, "schema": moto_bucket,
            "login": s3_id, "password": password, "extra": {"region": REGION},
        }  # fmt: skip

    def azure(password: str) -> dict[str, Any]:
        return {
            "conn_type": "orchestoreazure", "host": azurite.blob_endpoint,
            "login": azurite.account_name, "password": password, "schema": azurite_container,
        }  # fmt: skip

    def gcs(key_json: str) -> dict[str, Any]:
        return {
            "conn_type": "orchestoregcs", "host": gcs_emulator, "schema": CONTRACT_BUCKET,
            "extra": {"auth_method": "key_json", "credentials_json": key_json},
        }  # fmt: skip

    connections = {
        f"s3_good_{run}": s3(s3_secret),
        f"s3_bad_{run}": s3(WRONG),
        f"az_good_{run}": azure(azurite.account_key),
        f"az_bad_{run}": azure("d3Jvbmcta2V5LXZhbHVlLTVkMmU4MQ=="),  # base64 of a wrong key
        f"gcs_good_{run}": gcs(good_key.json),
        f"gcs_bad_{run}": gcs(stranger_key.json),
        f"catalog_good_{run}": {
            "conn_type": "orchestorecatalog", "host": catalog,
            "extra": {"artifact_root": artifact_root, "artifact_conn_id": f"az_good_{run}"},
        },
        f"catalog_bad_{run}": {
            "conn_type": "orchestorecatalog",
            "host": "postgresql+psycopg://nobody@127.0.0.1:9/none", "password": WRONG,
        },
    }  # fmt: skip
    env = {
        **TEST_ENABLED,
        **conn_env(
            "v3io_good", "v3io", host=v3io_server.api_url, schema="bigdata",
            password=V3IO_ACCESS_KEY,
        ),
        **conn_env(
            "v3io_bad", "v3io", host=v3io_server.api_url, schema="bigdata", password=WRONG
        ),
        **conn_env("v3io_no_root", "v3io", host=v3io_server.api_url, password=V3IO_ACCESS_KEY),
    }  # fmt: skip
    ops: list[dict[str, Any]] = [
        {"op": "add_connection", "conn_id": conn_id, **fields}
        for conn_id, fields in connections.items()
    ]
    names = [*connections, "v3io_good", "v3io_bad", "v3io_no_root"]
    ops += [{"op": "test_connection", "conn_id": conn_id} for conn_id in names]
    with moto_server.enforcing_auth():
        results = run_ops(airflow_home, env, ops)
    assert_no_errors(ops, results)
    outcome = dict(zip(names, results[len(connections) :], strict=True))

    for conn_id, result in outcome.items():
        message = result["message"]
        # No secret ever reaches the message the UI shows.
        for secret in (WRONG, s3_secret, azurite.account_key, V3IO_ACCESS_KEY):
            assert secret not in message, (conn_id, message)
        assert good_key.private_key not in message and stranger_key.private_key not in message
        expected_ok = "_good" in conn_id
        assert result["ok"] is expected_ok, (conn_id, result)
        assert f"'{conn_id}'" in message, (conn_id, message)  # names the connection

    assert f"listed s3://{moto_bucket}/" in outcome[f"s3_good_{run}"]["message"]
    assert "CredentialsError" in outcome[f"s3_bad_{run}"]["message"]
    assert "secret access key" in outcome[f"s3_bad_{run}"]["message"]
    assert "CredentialsError" in outcome[f"az_bad_{run}"]["message"]
    assert "CredentialsError" in outcome[f"gcs_bad_{run}"]["message"]
    assert "listed v3io:///bigdata/" in outcome["v3io_good"]["message"]
    assert "CredentialsError" in outcome["v3io_bad"]["message"]
    catalog_message = outcome[f"catalog_good_{run}"]["message"]
    assert "the catalog answered" in catalog_message and artifact_root in catalog_message
    assert "StoreUnavailableError" in outcome[f"catalog_bad_{run}"]["message"]
    assert "set its bucket/container field" in outcome["v3io_no_root"]["message"]


def test_airflow_connections_test_cli(
    airflow_home: AirflowHome, v3io_server: V3ioServer, moto_server: MotoServer, moto_bucket: str
) -> None:
    """The real CLI with ``[core] test_connection = Enabled``: success, then a clear failure.

    ``cli_s3`` comes from ``AIRFLOW_CONN_*`` JSON, the path on which Airflow rewrites ``-`` to
    ``_`` in a type name: our separator-free type names reach their hook unchanged.
    """
    env = {
        **TEST_ENABLED,
        **conn_env(
            "cli_s3", "orchestores3", host=moto_server.endpoint_url, schema=moto_bucket,
            login="id", password="secret", extra={"region": REGION},
        ),
        **conn_env(
            "cli_v3io", "v3io", host=v3io_server.api_url, schema="bigdata",
            password=V3IO_ACCESS_KEY,
        ),
        **conn_env(
            "cli_v3io_bad", "v3io", host=v3io_server.api_url, schema="bigdata", password=WRONG
        ),
    }  # fmt: skip
    home = with_env(airflow_home, env)
    good = home.run("connections", "test", "cli_v3io")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Connection success!" in good.stdout
    s3 = home.run("connections", "test", "cli_s3")
    assert s3.returncode == 0, s3.stdout + s3.stderr
    assert "Connection success!" in s3.stdout
    bad = home.run("connections", "test", "cli_v3io_bad")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Connection failed!" in bad.stdout and "CredentialsError" in bad.stdout
    for output in (good.stdout + good.stderr, bad.stdout + bad.stderr):
        assert WRONG not in output and V3IO_ACCESS_KEY not in output
