"""Operators fed bad input fail the task with orchestore's typed error and a clear message,
and no secret reaches the output.

One DAG (tests/airflow/dags/orchestore_operator_errors.py) holds one failing task per case;
``airflow dags test`` runs them all (they are independent) against moto. Its ``aws_sentinel``
connection's secret is a sentinel: it must not appear anywhere in the output, which
``dags test`` prints unmasked (so absence means it was never printed, not that it was masked).
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from tests.airflow.dag_runs import dags_test
from tests.airflow.examples_env import conn_env
from tests.airflow.harness import AirflowHome
from tests.servers import moto_server as moto

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow

DAG_ID = "orchestore_operator_errors"
SENTINEL_KEY_ID = "AKIASENTINEL00000042"
SENTINEL_SECRET = "sentinel-secret-value-9f3b7c1e"
CSV = b"city,temp_c\nOslo,4.5\n"

#: task id -> the error line its failure must log (a regex over the task's output)
EXPECTED_ERRORS = {
    "copy_missing_object": r"NotFoundError: s3://{bucket}/{prefix}/missing\.csv",
    "copy_bad_url": r"InvalidURLError: .*s3://",
    "list_with_wrong_connection_type": (
        r"CredentialsError: .*Airflow connection 'aws_sentinel' \(type aws\) holds s3 "
        r"credentials; az:// URLs need AzureCredentials"
    ),
    "delete_missing_object": r"NotFoundError: s3://{bucket}/{prefix}/missing\.csv",
    "transform_returning_no_frame": r"TypeError: python_callable must return a pandas DataFrame, "
    r"not dict",
    "sensor_unknown_connection": r"The conn_id `no_such_connection` isn't defined",
}


@pytest.fixture(scope="module")
def errors_run(
    airflow_home: AirflowHome,
    moto_server: moto.MotoServer,
    moto_bucket: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[object, dict[str, str], Path]:
    prefix = f"errors-{os.urandom(4).hex()}"
    moto_server.client().put_object(Bucket=moto_bucket, Key=f"{prefix}/cities.csv", Body=CSV)
    out_dir = tmp_path_factory.mktemp("errors-out")
    env = airflow_home.env | conn_env(
        "aws_sentinel",
        conn_type="aws",
        login=SENTINEL_KEY_ID,
        password=SENTINEL_SECRET,
        extra={"endpoint_url": moto_server.endpoint_url, "region_name": moto.REGION},
    )
    conf = {"bucket": moto_bucket, "prefix": prefix, "out_dir": str(out_dir)}
    run = dags_test(replace(airflow_home, env=env), DAG_ID, conf)
    return run, {"bucket": moto_bucket, "prefix": prefix}, out_dir


def test_every_bad_input_fails_its_task(errors_run) -> None:
    run, _, _ = errors_run
    assert run.returncode == 1, run.tail()
    assert run.state == "failed", run.tail()
    assert run.states == dict.fromkeys(EXPECTED_ERRORS, "failed"), run.tail()
    assert run.xcoms == {}


@pytest.mark.parametrize("task_id", sorted(EXPECTED_ERRORS))
def test_the_failure_names_what_was_wrong(errors_run, task_id: str) -> None:
    run, names, _ = errors_run
    pattern = EXPECTED_ERRORS[task_id].format(**{k: re.escape(v) for k, v in names.items()})
    assert re.search(pattern, run.output), f"{task_id}: no match for {pattern!r}\n{run.tail()}"


def test_no_secret_and_no_partial_file_is_left_behind(errors_run) -> None:
    run, _, out_dir = errors_run
    assert SENTINEL_SECRET not in run.output
    assert list(out_dir.iterdir()) == []  # no partial download, no half-written parquet
