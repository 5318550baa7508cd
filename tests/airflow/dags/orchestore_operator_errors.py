"""Operators given bad input, each in its own task: every task must fail with a clear message.

Run by tests/airflow/test_operator_errors.py with ``airflow dags test`` against moto; the
``aws_sentinel`` connection carries a sentinel secret that must never appear in the output.
Params: ``bucket`` and ``prefix`` (where nothing exists), ``out_dir`` (a local folder).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param

from orchestore.airflow.operators import (
    DataFrameTransformOperator,
    StoreCopyOperator,
    StoreDeleteOperator,
    StoreListOperator,
)
from orchestore.airflow.sensors import StoreKeySensor

MISSING = "s3://{{ params.bucket }}/{{ params.prefix }}/missing.csv"


def not_a_frame(df: Any) -> Any:
    """A callable that returns something other than a DataFrame."""
    return df.to_dict()


with DAG(
    dag_id="orchestore_operator_errors",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "bucket": Param("bucket", type="string"),
        "prefix": Param("prefix", type="string"),
        "out_dir": Param("/tmp/orchestore-errors", type="string"),
    },
    tags=["orchestore", "test"],
):
    StoreCopyOperator(
        task_id="copy_missing_object",
        src=MISSING,
        src_conn_id="aws_sentinel",
        dst="{{ params.out_dir }}/",
    )
    StoreCopyOperator(task_id="copy_bad_url", src="s3://", dst="{{ params.out_dir }}/")
    StoreListOperator(
        task_id="list_with_wrong_connection_type",
        url="az://landing/{{ params.prefix }}/",
        conn_id="aws_sentinel",
    )
    StoreDeleteOperator(task_id="delete_missing_object", url=MISSING, conn_id="aws_sentinel")
    DataFrameTransformOperator(
        task_id="transform_returning_no_frame",
        src="s3://{{ params.bucket }}/{{ params.prefix }}/cities.csv",
        src_conn_id="aws_sentinel",
        dst="{{ params.out_dir }}/never.parquet",
        python_callable=not_a_frame,
    )
    StoreKeySensor(
        task_id="sensor_unknown_connection",
        url="ds://no_such_connection/x.csv",
        deferrable=True,
        poke_interval=1,
        timeout=60,
    )
