"""Operator paths beyond the examples, checked on moto's side of the wire.

A copy whose two ends share one connection is one store instance, so the transfer engine
copies server-side: moto must see CopyObject requests and no GET of a source object. A ds://
folder lists ds:// URLs. A recursive delete removes the whole folder.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import replace

import pytest

from tests.airflow.dag_runs import dags_test
from tests.airflow.examples_env import conn_env
from tests.airflow.harness import AirflowHome
from tests.servers import moto_server as moto

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow

DAG_ID = "orchestore_operator_paths"
INPUTS = {"a.csv": b"x\n1\n", "b.csv": b"x\n2\n", "c.json": b"{}", "deep/d.csv": b"x\n4\n"}


def test_same_connection_copies_server_side_lists_ds_urls_and_deletes_recursively(
    airflow_home: AirflowHome, moto_server: moto.MotoServer, moto_bucket: str
) -> None:
    s3 = moto_server.client()
    prefix = f"paths-{os.urandom(4).hex()}"
    for name, data in INPUTS.items():
        s3.put_object(Bucket=moto_bucket, Key=f"{prefix}/in/{name}", Body=data)
    env = airflow_home.env | conn_env(
        "aws_paths",
        conn_type="aws",
        login=moto.ADMIN_KEY_ID,
        password=moto.ADMIN_SECRET,
        extra={
            "endpoint_url": moto_server.endpoint_url,
            "region_name": moto.REGION,
            "root": f"s3://{moto_bucket}/",
        },
    )
    conf = {"bucket": moto_bucket, "prefix": prefix}

    with moto_server.recording() as requests:
        run = dags_test(replace(airflow_home, env=env), DAG_ID, conf)

    assert run.returncode == 0, run.tail()
    assert run.states == {
        "copy_within_s3": "success",
        "list_ds": "success",
        "delete_inputs": "success",
    }, run.tail()
    # Server-side: a CopyObject per object, and no source object was read through the worker.
    copies = [r for r in requests if r.method == "PUT" and r.header("x-amz-copy-source")]
    assert sorted(r.path for r in copies) == sorted(
        f"/{moto_bucket}/{prefix}/out/{name}" for name in INPUTS
    )
    source_reads = [r for r in requests if r.method == "GET" and f"/{prefix}/in/" in r.path]
    assert source_reads == []
    assert run.xcoms["copy_within_s3"]["objects"] == len(INPUTS)
    for name, data in INPUTS.items():
        body = s3.get_object(Bucket=moto_bucket, Key=f"{prefix}/out/{name}")["Body"].read()
        assert body == data, name
    # ds:// in, ds:// out: the listed URLs still name their connection.
    assert run.xcoms["list_ds"] == [
        f"ds://aws_paths/{prefix}/in/a.csv",
        f"ds://aws_paths/{prefix}/in/b.csv",
    ]
    # The recursive delete removed every input, nested ones too, and nothing else.
    remaining = s3.list_objects_v2(Bucket=moto_bucket, Prefix=f"{prefix}/")["Contents"]
    assert sorted(obj["Key"] for obj in remaining) == sorted(
        f"{prefix}/out/{name}" for name in INPUTS
    )
    assert run.xcoms["delete_inputs"] == f"s3://{moto_bucket}/{prefix}/in/"
