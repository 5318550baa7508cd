"""List the CSV files of an S3 folder, then copy each one in its own mapped task.

``StoreListOperator`` returns URLs; ``StoreCopyOperator.partial(...).expand(src=...)`` makes
one task instance per URL, so a failed file is retried alone. A ``dst`` ending in ``/`` is a
folder: each object keeps its name. Connections as in ``s3_to_azure.py``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from orchestore.airflow.operators import StoreCopyOperator, StoreListOperator

with DAG(
    dag_id="orchestore_list_and_copy",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "src": Param("s3://raw/daily/", type="string"),
        "dst": Param("az://landing/csv/", type="string"),
    },
    tags=["orchestore", "example"],
):
    csv_files = StoreListOperator(
        task_id="list_csv", url="{{ params.src }}", conn_id="aws_raw", pattern="*.csv"
    )
    StoreCopyOperator.partial(
        task_id="copy_csv",
        src_conn_id="aws_raw",
        dst="{{ params.dst }}",
        dst_conn_id="wasb_landing",
    ).expand(src=csv_files.output)
