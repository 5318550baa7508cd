"""Each connection type -> the right core credential model, and real I/O through the hooks.

Connections are defined the way deployments define them (``AIRFLOW_CONN_*`` JSON) and read by
Airflow's own lookup in a real Airflow interpreter; the stores are the real test servers
(moto, Azurite, the GCS emulator, the v3io server, the HTTP server, OpenBao). What a hook
wrote is read back independently (the server's own files or its SDK client), and secret
fields are compared by digest: no secret is ever printed by the checks.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.harness import AirflowHome
from tests.airflow.provider_support import assert_no_errors, conn_env, run_ops
from tests.servers.azurite import AzuriteServer
from tests.servers.gcs_emulator import CONTRACT_BUCKET, raw_client
from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET, REGION, MotoServer
from tests.servers.v3io_server import V3IO_ACCESS_KEY, V3IO_PASSWORD, V3IO_USER, V3ioServer

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow


def sha(value: str) -> dict[str, str]:
    return {"sha256": hashlib.sha256(value.encode()).hexdigest()}


def test_store_connections_map_to_models_and_do_real_io(
    airflow_home: AirflowHome,
    v3io_server: V3ioServer,
    moto_server: MotoServer,
    moto_bucket: str,
    azurite: AzuriteServer,
    azurite_container: str,
    azurite_blob_client: Any,
    gcs_emulator: str,
    tmp_path: Path,
) -> None:
    """v3io, orchestores3, aws, wasb (three spellings), orchestoreazure, orchestoregcs,
    google_cloud_platform and fs: model, fields, and a put/get/ls through DataStoreHook."""
    run = uuid.uuid4().hex[:8]
    gcs_host = gcs_emulator
    env = {
        **conn_env(
            "lake_v3io",
            "v3io",
            host=v3io_server.api_url,
            schema="bigdata",
            password=V3IO_ACCESS_KEY,
        ),
        **conn_env(
            "lake_v3io_basic",
            "v3io",
            host=v3io_server.api_url,
            login=V3IO_USER,
            password=V3IO_PASSWORD,
            extra={"auth_method": "basic", "root": "v3io:///users/"},
        ),
        **conn_env(
            "raw_s3",
            "orchestores3",
            host=moto_server.endpoint_url,
            schema=moto_bucket,
            login=ADMIN_KEY_ID,
            password=ADMIN_SECRET,
            extra={"region": REGION},
        ),
        **conn_env(
            "aws_plain",
            "aws",
            login=ADMIN_KEY_ID,
            password=ADMIN_SECRET,
            extra={
                "region_name": REGION,
                "endpoint_url": moto_server.endpoint_url,
                "root": f"s3://{moto_bucket}/aws-{run}",
            },
        ),
        **conn_env(
            "aws_extras",
            "aws",
            extra={
                "aws_access_key_id": ADMIN_KEY_ID,
                "aws_secret_access_key": ADMIN_SECRET,
                "aws_session_token": "session-token-x",
                "region_name": REGION,
                "service_config": {"s3": {"endpoint_url": moto_server.endpoint_url}},
                "role_arn": "arn:aws:iam::123456789012:role/etl",
            },
        ),
        **conn_env("aws_ambient", "aws", extra={"region_name": REGION}),
        **conn_env(
            "wasb_key",
            "wasb",
            login=azurite.account_name,
            password=azurite.account_key,
            host=azurite.blob_endpoint,
            extra={"root": f"az://{azurite_container}/wasb-{run}"},
        ),
        **conn_env(
            "wasb_cs",
            "wasb",
            extra={"extra__wasb__connection_string": azurite.connection_string},
        ),
        **conn_env(
            "wasb_shared",
            "wasb",
            login=azurite.account_name,
            host=azurite.blob_endpoint,
            extra={"shared_access_key": azurite.account_key},
        ),
        **conn_env(
            "wasb_sp",
            "wasb",
            login="app-client-id",
            password="sp-secret-value",
            host="https://myaccount.blob.core.windows.net/",
            extra={"extra__wasb__tenant_id": "tenant-1"},
        ),
        **conn_env(
            "wasb_sas",
            "wasb",
            host="myaccount",
            extra={"sas_token": "sv=2024-01-01&sig=abc"},
        ),
        **conn_env(
            "az_form",
            "orchestoreazure",
            host=azurite.blob_endpoint,
            login=azurite.account_name,
            password=azurite.account_key,
            schema=azurite_container,
        ),
        **conn_env(
            "gcs_form",
            "orchestoregcs",
            host=gcs_host,
            schema=CONTRACT_BUCKET,
            extra={"auth_method": "anonymous"},
        ),
        **conn_env(
            "gcp_key_path",
            "google_cloud_platform",
            extra={
                "extra__google_cloud_platform__key_path": "/secrets/key.json",
                "extra__google_cloud_platform__project": "proj-1",
            },
        ),
        **conn_env("gcp_adc", "google_cloud_platform", extra={"project": "proj-2"}),
        **conn_env("local_fs", "fs", extra={"path": str(tmp_path)}),
    }
    v3io_key = f"airflow-{run}/hello.txt"
    ops = [
        {"op": "credentials", "conn_id": "lake_v3io", "url": "v3io:///bigdata/x"},
        {"op": "credentials", "conn_id": "lake_v3io_basic", "url": "v3io:///bigdata/x"},
        {
            "op": "roundtrip",
            "conn_id": "lake_v3io",
            "url": f"v3io:///bigdata/{v3io_key}",
            "data": "v3io by connection",
        },
        {
            "op": "roundtrip",
            "conn_id": None,
            "url": f"ds://lake_v3io_basic/basic-{run}.txt",
            "data": "v3io basic via ds",
        },
        {"op": "credentials", "conn_id": "raw_s3", "url": f"s3://{moto_bucket}/k"},
        {
            "op": "roundtrip",
            "conn_id": None,
            "url": f"ds://raw_s3/form-{run}/a.txt",
            "data": "s3 via form",
        },
        {"op": "credentials", "conn_id": "aws_plain", "url": "s3://b/k"},
        {"op": "credentials", "conn_id": "aws_extras", "url": "s3://b/k"},
        {"op": "credentials", "conn_id": "aws_ambient", "url": "s3://b/k"},
        {"op": "roundtrip", "conn_id": None, "url": "ds://aws_plain/b.txt", "data": "s3 aws"},
        {"op": "credentials", "conn_id": "wasb_key", "url": "az://c/k"},
        {"op": "credentials", "conn_id": "wasb_cs", "url": "az://c/k"},
        {"op": "credentials", "conn_id": "wasb_shared", "url": "az://c/k"},
        {"op": "credentials", "conn_id": "wasb_sp", "url": "az://c/k"},
        {"op": "credentials", "conn_id": "wasb_sas", "url": "az://c/k"},
        {"op": "roundtrip", "conn_id": None, "url": "ds://wasb_key/c.txt", "data": "az wasb"},
        {
            "op": "roundtrip",
            "conn_id": "wasb_cs",
            "url": f"az://{azurite_container}/wasb-cs-{run}.txt",
            "data": "az connection string",
        },
        {
            "op": "roundtrip",
            "conn_id": None,
            "url": f"ds://az_form/form-{run}.txt",
            "data": "az form",
        },
        {"op": "credentials", "conn_id": "gcs_form", "url": "gs://b/k"},
        {
            "op": "roundtrip",
            "conn_id": None,
            "url": f"ds://gcs_form/form-{run}.txt",
            "data": "gcs form",
        },
        {"op": "credentials", "conn_id": "gcp_key_path", "url": "gs://b/k"},
        {"op": "credentials", "conn_id": "gcp_adc", "url": "gs://b/k"},
        {"op": "credentials", "conn_id": "local_fs", "url": "/tmp/x"},
        {"op": "roundtrip", "conn_id": None, "url": "ds://local_fs/sub/d.txt", "data": "local"},
        {"op": "async_credentials", "conn_id": "lake_v3io", "url": "v3io:///bigdata/x"},
        {
            "op": "copy",
            "conn_id": "lake_v3io",
            "src": f"v3io:///bigdata/{v3io_key}",
            "dst": f"ds://wasb_key/copied-{run}.txt",
            "dst_conn_id": None,
        },
    ]
    results = run_ops(airflow_home, env, ops)
    assert_no_errors(ops, results)
    by_op = iter(results)

    # v3io: access key, then basic auth; the data is on the server's disk.
    assert next(by_op) == {
        "model": "V3ioCredentials",
        "source": "Airflow connection 'lake_v3io' (type v3io)",
        "fields": {
            "api_url": v3io_server.api_url,
            "access_key": sha(V3IO_ACCESS_KEY),
            "verify_ssl": True,
            "timeout": 60.0,
        },
    }
    assert next(by_op)["fields"] == {
        "api_url": v3io_server.api_url,
        "username": V3IO_USER,
        "password": sha(V3IO_PASSWORD),
        "verify_ssl": True,
        "timeout": 60.0,
    }
    written = next(by_op)
    assert written["read"] == "v3io by connection" and written["exists"] and written["one_client"]
    assert (v3io_server.container_path("bigdata") / v3io_key).read_text() == "v3io by connection"
    via_ds = next(by_op)
    assert via_ds["item_url"] == f"v3io:///users/basic-{run}.txt"
    assert (v3io_server.container_path("users") / f"basic-{run}.txt").read_text() == (
        "v3io basic via ds"
    )

    # S3: our form, then the Amazon provider's field spellings.
    assert next(by_op)["fields"] == {
        "access_key_id": ADMIN_KEY_ID,
        "secret_access_key": sha(ADMIN_SECRET),
        "endpoint_url": moto_server.endpoint_url,
        "region": REGION,
        "verify_ssl": True,
    }
    s3_form = next(by_op)
    assert s3_form["item_url"] == f"s3://{moto_bucket}/form-{run}/a.txt"
    body = moto_server.client().get_object(Bucket=moto_bucket, Key=f"form-{run}/a.txt")["Body"]
    assert body.read() == b"s3 via form"
    assert next(by_op)["fields"] == {
        "access_key_id": ADMIN_KEY_ID,
        "secret_access_key": sha(ADMIN_SECRET),
        "endpoint_url": moto_server.endpoint_url,
        "region": REGION,
        "verify_ssl": True,
    }
    assert next(by_op)["fields"] == {
        "access_key_id": ADMIN_KEY_ID,
        "secret_access_key": sha(ADMIN_SECRET),
        "session_token": sha("session-token-x"),
        "endpoint_url": moto_server.endpoint_url,
        "region": REGION,
        "role_arn": "arn:aws:iam::123456789012:role/etl",
        "verify_ssl": True,
    }
    assert next(by_op)["fields"] == {
        "region": REGION,
        "use_ambient_identity": True,
        "verify_ssl": True,
    }
    aws_io = next(by_op)
    assert aws_io["item_url"] == f"s3://{moto_bucket}/aws-{run}/b.txt"
    body = moto_server.client().get_object(Bucket=moto_bucket, Key=f"aws-{run}/b.txt")["Body"]
    assert body.read() == b"s3 aws"

    # wasb: every spelling of the Azure provider's fields.
    azure_defaults = {"authority_host": "login.microsoftonline.com"}
    assert next(by_op)["fields"] == {
        **azure_defaults,
        "account_name": azurite.account_name,
        "account_key": sha(azurite.account_key),
        "blob_endpoint": azurite.blob_endpoint,
    }
    assert next(by_op)["fields"] == {
        **azure_defaults,
        "connection_string": sha(azurite.connection_string),
    }
    assert next(by_op)["fields"] == {
        **azure_defaults,
        "account_name": azurite.account_name,
        "account_key": sha(azurite.account_key),
        "blob_endpoint": azurite.blob_endpoint,
    }
    assert next(by_op)["fields"] == {
        **azure_defaults,
        "account_name": "myaccount",
        "tenant_id": "tenant-1",
        "client_id": "app-client-id",
        "client_secret": sha("sp-secret-value"),
    }
    assert next(by_op)["fields"] == {
        **azure_defaults,
        "account_name": "myaccount",
        "sas_token": sha("sv=2024-01-01&sig=abc"),
    }
    for key, data in [
        (f"wasb-{run}/c.txt", "az wasb"),
        (f"wasb-cs-{run}.txt", "az connection string"),
        (f"form-{run}.txt", "az form"),
    ]:
        written = next(by_op)
        assert written["item_url"] == f"az://{azurite_container}/{key}"
        assert written["read"] == data and written["size"] == len(data)
        blob = azurite_blob_client.get_blob_client(azurite_container, key)
        assert blob.download_blob().readall() == data.encode()

    # GCS: our form against the emulator; the Google provider's key_path and ADC.
    assert next(by_op)["fields"] == {"endpoint_url": gcs_host, "anonymous": True}
    gcs_io = next(by_op)
    assert gcs_io["item_url"] == f"gs://{CONTRACT_BUCKET}/form-{run}.txt"
    assert gcs_io["read"] == "gcs form" and f"form-{run}.txt" in gcs_io["listed"]
    blob = raw_client(gcs_host).bucket(CONTRACT_BUCKET).blob(f"form-{run}.txt")
    assert blob.download_as_bytes() == b"gcs form"
    assert next(by_op)["fields"] == {"credentials_file": "/secrets/key.json", "project": "proj-1"}
    assert next(by_op)["fields"] == {"project": "proj-2", "use_ambient_identity": True}

    # fs: a root for ds:// URLs, no credentials.
    assert next(by_op) == {"model": None}
    assert next(by_op)["read"] == "local"
    assert (tmp_path / "sub" / "d.txt").read_text() == "local"

    # The async twin (for triggers) resolves the same model.
    assert next(by_op)["fields"]["access_key"] == sha(V3IO_ACCESS_KEY)

    # DataStoreHook.copy: v3io (the hook's connection) to Azure (a ds:// URL's connection).
    summary = next(by_op)
    assert summary["objects"] == 1 and summary["bytes"] == len("v3io by connection")
    assert summary["destination"] == f"az://{azurite_container}/wasb-{run}/copied-{run}.txt"
    copied = azurite_blob_client.get_blob_client(azurite_container, f"wasb-{run}/copied-{run}.txt")
    assert copied.download_blob().readall() == b"v3io by connection"
    assert json.dumps(results).count(V3IO_ACCESS_KEY) == 0
