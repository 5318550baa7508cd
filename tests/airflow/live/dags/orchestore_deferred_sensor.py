"""One deferrable StoreKeySensor, for a real scheduler and triggerer.

Run by tests/airflow/live/test_deferred_sensor.py: the sensor defers, ``airflow triggerer``
runs StoreKeyTrigger (connection fetched with ``aget_connection`` from the metadata DB, through
the triggerer's supervisor), the test creates the key, and the task resumes in a worker.
Param ``url``: the key to wait for; connection ``deferred_s3`` is created by the test.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from orchestore.airflow.sensors import StoreKeySensor

with DAG(
    dag_id="orchestore_deferred_sensor",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    params={"url": Param("s3://bucket/_SUCCESS", type="string")},
    tags=["orchestore", "test"],
):
    StoreKeySensor(
        task_id="wait_for_key",
        url="{{ params.url }}",
        conn_id="deferred_s3",
        deferrable=True,
        poke_interval=1,
        timeout=300,
    )
