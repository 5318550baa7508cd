"""The Airflow connections the example DAGs use, as ``AIRFLOW_CONN_*`` JSON for given servers.

Shared by the example-DAG tests and ``examples/airflow/run_demo.py``: both start real servers
(moto, Azurite, OpenBao) on free ports and hand the DAGs these connections through the
environment, exactly as a deployment's secrets backend or env would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "examples" / "airflow" / "dags"


@dataclass(frozen=True)
class S3Endpoint:
    """Where S3 is and the (standard ``aws``) connection's keys."""

    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"


@dataclass(frozen=True)
class VaultSetup:
    """A Vault (OpenBao) server, a token that may read the secret, and where the S3 keys are."""

    address: str
    token: str
    mount: str
    path: str
    bucket: str


def conn_env(conn_id: str, **fields: Any) -> dict[str, str]:
    """One connection as Airflow reads it from the environment (JSON form)."""
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(fields)}


def example_connections(
    s3: S3Endpoint,
    azure_connection_string: str,
    *,
    vault: VaultSetup | None = None,
    catalog_db: str | None = None,
    artifact_root: str | None = None,
) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables for every connection id the example DAGs name."""
    env = {
        # Existing connection types, filled the way their own providers document them.
        **conn_env(
            "aws_raw",
            conn_type="aws",
            login=s3.access_key_id,
            password=s3.secret_access_key,
            extra={"endpoint_url": s3.endpoint_url, "region_name": s3.region},
        ),
        **conn_env(
            "wasb_landing",
            conn_type="wasb",
            extra={"connection_string": azure_connection_string},
        ),
    }
    if vault is not None:
        host, port = vault.address.removeprefix("http://").rsplit(":", 1)
        env |= conn_env(
            "vault_default",
            conn_type="hashicorp_vault",
            host=host,
            port=int(port),
            password=vault.token,
            extra={"auth_type": "token", "use_tls": False, "kv_engine_version": 2},
        )
        # No S3 secret in this one: the keys are read from Vault when a task runs.
        env |= conn_env(
            "s3_vault",
            conn_type="orchestores3",
            host=s3.endpoint_url,
            schema=vault.bucket,
            extra={
                "region": s3.region,
                "vault_conn_id": "vault_default",
                "vault_mount": vault.mount,
                "vault_path": vault.path,
            },
        )
    if catalog_db is not None:
        env |= conn_env(
            "orchestore_catalog",
            conn_type="orchestorecatalog",
            host=catalog_db,
            extra={"artifact_root": artifact_root, "artifact_conn_id": "aws_raw"},
        )
    return env
