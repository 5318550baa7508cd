"""Read a CSV from S3, transform it with pandas, write Parquet to Azure: one operator.

The callable gets the DataFrame (plus ``op_kwargs``) and returns the one to write; formats
follow the URLs' suffixes. pandas loads when the task runs, not when the DAG is parsed.
Connections as in ``s3_to_azure.py``.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param

from orchestore.airflow.operators import DataFrameTransformOperator


def warm_cities(df: Any, min_temp_c: float | str) -> Any:
    """Cities at or above ``min_temp_c``, with the temperature in Fahrenheit too."""
    # Templated op_kwargs arrive as text ("15.0"): convert before comparing.
    warm = df[df["temp_c"] >= float(min_temp_c)].copy()
    warm["temp_f"] = warm["temp_c"] * 9 / 5 + 32
    return warm.reset_index(drop=True)


with DAG(
    dag_id="orchestore_dataframe_transform",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "src": Param("s3://raw/daily/cities.csv", type="string"),
        "dst": Param("az://landing/daily/warm_cities.parquet", type="string"),
        "min_temp_c": Param(15.0, type="number"),
    },
    tags=["orchestore", "example", "pandas"],
):
    DataFrameTransformOperator(
        task_id="warm_cities",
        src="{{ params.src }}",
        src_conn_id="aws_raw",
        dst="{{ params.dst }}",
        dst_conn_id="wasb_landing",
        python_callable=warm_cities,
        op_kwargs={"min_temp_c": "{{ params.min_temp_c }}"},
    )
