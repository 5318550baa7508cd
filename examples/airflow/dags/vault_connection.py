"""Read from S3 with keys that live only in HashiCorp Vault (or OpenBao), via a ds:// URL.

Two connections, neither holding an S3 secret:

- ``vault_default`` (type ``hashicorp_vault``): host and port of Vault, ``auth_type`` and its
  credentials (a token here; AppRole, Kubernetes, JWT, userpass work the same way).
- ``s3_vault`` (type ``orchestores3``): the endpoint, the bucket and, in its Vault section,
  ``vault_conn_id = vault_default``, ``vault_mount = secret``, ``vault_path = etl/s3``. The KV
  secret holds ``access_key_id`` and ``secret_access_key`` (or AWS_ACCESS_KEY_ID/...).

``ds://s3_vault/<path>`` means "<path> below the connection's bucket (or its root URL)", so
the DAG names neither the bucket nor the credentials. The keys are read from Vault when the
task runs and registered with Airflow's log masker.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from orchestore.airflow.operators import StoreCopyOperator

with DAG(
    dag_id="orchestore_vault_connection",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "src": Param("ds://s3_vault/reports/2026-11.csv", type="string"),
        "dst": Param("/tmp/orchestore-reports/", type="string", description="local folder"),
    },
    tags=["orchestore", "example", "vault"],
):
    StoreCopyOperator(task_id="download_report", src="{{ params.src }}", dst="{{ params.dst }}")
