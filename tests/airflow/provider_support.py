"""Helpers for the provider tests: connections as AIRFLOW_CONN_* JSON, and batched checks.

Airflow runs in subprocesses (see harness.py); each test sends one batch of operations to
provider_checks/run_ops.py, so one interpreter start serves many checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.airflow.harness import AirflowHome

RUN_OPS = Path(__file__).parent / "provider_checks" / "run_ops.py"


def conn_env(conn_id: str, conn_type: str, **fields: Any) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` holding the connection as JSON (Airflow's env-var format)."""
    extra = fields.pop("extra", None)
    body = {"conn_type": conn_type, **{k: v for k, v in fields.items() if v is not None}}
    if extra is not None:
        body["extra"] = extra
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(body)}


def with_env(home: AirflowHome, env: dict[str, str]) -> AirflowHome:
    """``home`` with more environment variables (connections, settings)."""
    return AirflowHome(path=home.path, env={**home.env, **env})


def run_ops(home: AirflowHome, env: dict[str, str], operations: list[dict[str, Any]]) -> list[Any]:
    """Run ``operations`` in one Airflow interpreter with ``env``; their results, in order."""
    result = with_env(home, env).python(str(RUN_OPS), json.dumps(operations))
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and lines, (
        f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    results = json.loads(lines[-1])
    assert len(results) == len(operations)
    return results


def assert_no_errors(operations: list[dict[str, Any]], results: list[Any]) -> None:
    """Fail naming every operation that raised, with its message."""
    failed = [
        f"{operation}: {result['error']}: {result['message']}"
        for operation, result in zip(operations, results, strict=True)
        if "error" in result
    ]
    assert not failed, "\n".join(failed)
