"""StoreKeyTrigger on its own, as the triggerer runs it: rebuilt from ``serialize()``, run in
an event loop, against moto. The sensor's deferral inside a DAG is in test_example_dags.py.

The trigger runs in a child process (tests/airflow/trigger_child.py): importing Airflow in
the pytest process would configure it globally. Connections come from AIRFLOW_CONN_* there.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.examples_env import conn_env
from tests.airflow.harness import AirflowHome
from tests.servers import moto_server as moto

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow

CHILD = Path(__file__).with_name("trigger_child.py")
SECRET = "trigger-sentinel-secret-51c0"


@pytest.fixture(scope="module")
def results(
    airflow_home: AirflowHome, moto_server: moto.MotoServer, moto_bucket: str, openbao: Any
) -> dict[str, Any]:
    prefix = f"trigger-{os.urandom(4).hex()}"
    for name in ("ready.csv", "vaulted.csv"):
        moto_server.client().put_object(Bucket=moto_bucket, Key=f"{prefix}/{name}", Body=b"x")
    # The ds:// case's S3 keys are only in OpenBao, behind a token that may read only them.
    vault_key_id, vault_secret = moto_server.create_user(f"{prefix}-user", ["s3:*"])
    openbao.put_secret(
        "secret",
        f"{prefix}/s3",
        {"AWS_ACCESS_KEY_ID": vault_key_id, "AWS_SECRET_ACCESS_KEY": vault_secret},
    )
    openbao.write_policy(prefix, f'path "secret/data/{prefix}/*" {{ capabilities = ["read"] }}')
    vault_host, vault_port = openbao.address.removeprefix("http://").rsplit(":", 1)
    env = (
        airflow_home.env
        | conn_env(
            "aws_trigger",
            conn_type="aws",
            login="AKIATRIGGER000000001",
            password=SECRET,
            extra={"endpoint_url": moto_server.endpoint_url, "region_name": moto.REGION},
        )
        | conn_env("wasb_wrong", conn_type="wasb", login="devstoreaccount1", password=SECRET)
        | conn_env(
            "vault_trigger",
            conn_type="hashicorp_vault",
            host=vault_host,
            port=int(vault_port),
            password=openbao.create_token([prefix]),
            extra={"auth_type": "token", "use_tls": False},
        )
        | conn_env(
            "s3_from_vault",
            conn_type="orchestores3",
            host=moto_server.endpoint_url,
            schema=moto_bucket,
            extra={
                "region": moto.REGION,
                "vault_conn_id": "vault_trigger",
                "vault_path": f"{prefix}/s3",
            },
        )
    )
    client = {
        "endpoint_url": moto_server.endpoint_url,
        "region_name": moto.REGION,
        "aws_access_key_id": moto.ADMIN_KEY_ID,
        "aws_secret_access_key": moto.ADMIN_SECRET,
    }
    base = f"s3://{moto_bucket}/{prefix}"
    cases = {
        "exists": {"url": f"{base}/ready.csv", "conn_id": "aws_trigger", "poke_interval": 0.2},
        "appears": {
            "url": f"{base}/late.csv",
            "conn_id": "aws_trigger",
            "poke_interval": 0.3,
            "create": [moto_bucket, f"{prefix}/late.csv"],
            "create_after": 1.5,
            "client": client,
        },
        "wrong_connection_type": {
            "url": f"{base}/ready.csv",
            "conn_id": "wasb_wrong",
            "poke_interval": 0.2,
        },
        "bad_url": {"url": "s3:///no-bucket", "conn_id": "aws_trigger", "poke_interval": 0.2},
        # No conn_id: the ds:// URL names the connection, which names the Vault connection.
        "ds_via_vault": {
            "url": f"ds://s3_from_vault/{prefix}/vaulted.csv",
            "conn_id": None,
            "poke_interval": 0.2,
        },
    }
    home = replace(airflow_home, env=env)
    with moto_server.recording() as requests:
        result = home.python(str(CHILD), json.dumps(list(cases.values())), timeout=180)
    assert result.returncode == 0, result.stderr[-4000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    vaulted = f"/{moto_bucket}/{prefix}/vaulted.csv"
    return {
        "base": base,
        "vault_key_id": vault_key_id,
        "vault_secret": vault_secret,
        "vaulted_key_ids": {r.access_key_id for r in requests if r.path == vaulted},
        "output": result.stdout + result.stderr,
        **dict(zip(cases, outcome, strict=True)),
    }


def test_serialize_carries_every_setting_and_rebuilds_the_trigger(results) -> None:
    case = results["exists"]
    assert case["classpath"] == "orchestore.airflow.triggers.store_key.StoreKeyTrigger"
    assert case["kwargs"] == {
        "url": f"{results['base']}/ready.csv",
        "conn_id": "aws_trigger",
        "poke_interval": 0.2,
    }


def test_an_existing_key_fires_at_the_first_check(results) -> None:
    event = results["exists"]["event"]
    assert event == {"status": "success", "url": f"{results['base']}/ready.csv", "checks": 1}
    assert results["exists"]["raised"] is None


def test_a_key_that_appears_later_fires_after_several_checks(results) -> None:
    event = results["appears"]["event"]
    assert event["status"] == "success"
    assert event["url"] == f"{results['base']}/late.csv"
    assert event["checks"] >= 3  # 1.5 s at 0.3 s intervals: it polled, then found it


def test_a_connection_of_the_wrong_type_ends_with_a_typed_error(results) -> None:
    case = results["wrong_connection_type"]
    assert case["event"]["status"] == "error"
    assert case["event"]["error"] == "CredentialsError"
    assert case["event"]["checks"] == 0
    assert case["raised"]["type"] == "CredentialsError"
    assert (
        "Airflow connection 'wasb_wrong' (type wasb) holds azure credentials"
        in (case["raised"]["message"])
    )


def test_a_malformed_url_ends_with_invalid_url_error(results) -> None:
    case = results["bad_url"]
    assert case["event"]["error"] == "InvalidURLError"
    assert case["raised"]["type"] == "InvalidURLError"
    assert "missing bucket" in case["raised"]["message"]


def test_no_secret_in_events_or_output(results) -> None:
    assert SECRET not in results["output"]
    assert results["vault_secret"] not in results["output"]


def test_a_ds_url_with_vault_backed_credentials_resolves_in_the_trigger(results) -> None:
    """The trigger fetched the ds:// connection and its Vault connection asynchronously and
    signed with the keys only Vault holds."""
    event = results["ds_via_vault"]["event"]
    assert event == {"status": "success", "url": f"{results['base']}/vaulted.csv", "checks": 1}
    assert results["vaulted_key_ids"] == {results["vault_key_id"]}
