"""DAG files import our operators and sensors on every parse: that must load no store SDK.

Checked in a fresh interpreter (the pytest process has imported everything already), by
reading its ``sys.modules`` after the import.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow

HEAVY = ("boto3", "botocore", "azure", "google", "pandas", "pyarrow", "s3fs", "adlfs", "gcsfs")

_SCRIPT = """
import json, sys
import orchestore.airflow.operators
import orchestore.airflow.sensors
from orchestore.airflow.operators import (
    DataFrameTransformOperator, LogArtifactOperator, StoreCopyOperator, StoreDeleteOperator,
    StoreListOperator,
)
from orchestore.airflow.sensors import StoreKeySensor
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_importing_operators_and_sensors_loads_no_cloud_sdk_pandas_or_pyarrow(tmp_path) -> None:
    # AIRFLOW_HOME in a temp folder: importing airflow must not write ~/airflow.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["AIRFLOW_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "airflow" in loaded and "orchestore" in loaded  # the import really happened
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
