"""Operator behaviours the example DAGs do not show, for tests/airflow/test_operator_paths.py.

- ``copy_within_s3``: both ends on one connection, so one store instance: a server-side copy;
- ``list_ds``: a ds:// folder lists ds:// URLs (they carry their connection into XCom);
- ``delete_inputs``: a recursive delete of the folder both read, after both ran.

Params: ``bucket`` and ``prefix``; connection ``aws_paths`` (its ``root`` extra is the bucket).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from orchestore.airflow.operators import (
    StoreCopyOperator,
    StoreDeleteOperator,
    StoreListOperator,
)

INPUTS = "s3://{{ params.bucket }}/{{ params.prefix }}/in/"

with DAG(
    dag_id="orchestore_operator_paths",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"bucket": Param("bucket", type="string"), "prefix": Param("p", type="string")},
    tags=["orchestore", "test"],
):
    copy = StoreCopyOperator(
        task_id="copy_within_s3",
        src=INPUTS,
        dst="s3://{{ params.bucket }}/{{ params.prefix }}/out/",
        src_conn_id="aws_paths",
        recursive=True,
    )
    listed = StoreListOperator(
        task_id="list_ds", url="ds://aws_paths/{{ params.prefix }}/in/", pattern="*.csv"
    )
    delete = StoreDeleteOperator(
        task_id="delete_inputs", url=INPUTS, conn_id="aws_paths", recursive=True
    )
    [copy, listed] >> delete
