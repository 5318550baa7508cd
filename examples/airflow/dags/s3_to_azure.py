"""Copy a folder from S3 to Azure Blob Storage with the connections you already have.

Both connections are the standard types (no Amazon or Azure provider needs to be installed):

- ``aws_raw`` (type ``aws``): login = access key id, password = secret access key; extra
  ``{"region_name": "eu-west-1"}``, plus ``"endpoint_url"`` for an S3-compatible store.
- ``wasb_landing`` (type ``wasb``): extra ``{"connection_string": "..."}``, or login = account
  name and password = account key.

``sync=True`` makes a re-run copy only what changed (size and checksum are compared).
Trigger with ``{"src": "s3://raw/2026/11/", "dst": "az://landing/2026/11/"}`` to override
the folders.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from orchestore.airflow.operators import StoreCopyOperator

with DAG(
    dag_id="orchestore_s3_to_azure",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "src": Param("s3://raw/daily/", type="string", description="S3 folder to copy"),
        "dst": Param("az://landing/daily/", type="string", description="Azure folder"),
    },
    tags=["orchestore", "example"],
):
    StoreCopyOperator(
        task_id="copy_folder",
        src="{{ params.src }}",
        dst="{{ params.dst }}",
        src_conn_id="aws_raw",
        dst_conn_id="wasb_landing",
        recursive=True,
        sync=True,
    )
