"""Wait for an upstream system's marker file without holding a worker slot, copy, consume it.

``StoreKeySensor(deferrable=True)`` checks once; if the object is not there yet it defers to
the triggerer, which checks every ``poke_interval`` seconds with the connection it fetches
itself. Run ``airflow triggerer`` next to the scheduler (``airflow dags test`` runs the
trigger inline). Once the folder is copied the marker is deleted, so the next run waits for
a fresh one. Connections as in ``s3_to_azure.py``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from orchestore.airflow.operators import StoreCopyOperator, StoreDeleteOperator
from orchestore.airflow.sensors import StoreKeySensor

with DAG(
    dag_id="orchestore_wait_for_key",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "marker": Param("s3://raw/daily/_SUCCESS", type="string"),
        "src": Param("s3://raw/daily/", type="string"),
        "dst": Param("az://landing/daily/", type="string"),
    },
    tags=["orchestore", "example"],
):
    wait = StoreKeySensor(
        task_id="wait_for_marker",
        url="{{ params.marker }}",
        conn_id="aws_raw",
        deferrable=True,
        poke_interval=2,
        timeout=600,
    )
    copy = StoreCopyOperator(
        task_id="copy_folder",
        src="{{ params.src }}",
        dst="{{ params.dst }}",
        src_conn_id="aws_raw",
        dst_conn_id="wasb_landing",
        recursive=True,
    )
    consume = StoreDeleteOperator(
        task_id="delete_marker", url="{{ params.marker }}", conn_id="aws_raw"
    )
    wait >> copy >> consume
