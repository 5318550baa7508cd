"""Log a dataset as a versioned store:// artifact, then read that exact version downstream.

``orchestore_catalog`` (type ``orchestorecatalog``): host = the catalog's database URL
(``postgresql+psycopg://etl@db:5432/catalog`` or ``sqlite:////data/catalog.db``), extra
``artifact_root`` (where the bytes go, e.g. ``s3://artifacts/orchestore``) and
``artifact_conn_id`` (the connection that writes there, ``aws_raw`` here).

The operator returns ``store://artifacts/<project>/<key>:<tag>^<uid>``: the uid pins the
version, so the next task reads what was logged even if the tag moves meanwhile.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

from orchestore.airflow.operators import LogArtifactOperator

CATALOG_CONN_ID = "orchestore_catalog"

with DAG(
    dag_id="orchestore_log_artifact",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "src": Param("s3://raw/daily/cities.csv", type="string"),
        "tag": Param("nightly", type="string"),
    },
    tags=["orchestore", "example", "artifacts"],
):
    logged = LogArtifactOperator(
        task_id="log_cities",
        src="{{ params.src }}",
        src_conn_id="aws_raw",
        project="weather",
        key="cities.csv",
        tag="{{ params.tag }}",
        catalog_conn_id=CATALOG_CONN_ID,
        labels={"source": "{{ params.src }}"},
    )

    @task
    def count_rows(artifact_url: str) -> int:
        """Read the logged version back through the catalog connection."""
        from orchestore.airflow.hooks import DataStoreHook

        return len(DataStoreHook(CATALOG_CONN_ID).item(artifact_url).as_df())

    count_rows(logged.output)
