"""orchestore inside a real Airflow run: `airflow dags test` on a SQLite metadata DB, no mocks.

What is checked comes from three independent places: the CLI's exit code, Airflow's own
metadata DB (run and task states, XCom values), and the file the first task wrote.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from tests.airflow.harness import DAGS_DIR, AirflowHome

# Outside CI a missing airflow skips; in CI (ORCHESTORE_REQUIRE_ALL=1) the fixture fails on it.
# find_spec, not importorskip: importing airflow here would write a config under ~/airflow.
if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow

DAG_ID = "orchestore_roundtrip"
DAG_FILE = DAGS_DIR / "orchestore_roundtrip.py"
# Written by pandas via orchestore (no index, as the core promises), so exact bytes are known.
EXPECTED_CSV = "city,temp_c\nOslo,4.5\nLima,19.0\nPune,31.25\n"

# Parses the DAG file as the DAG processor does and prints what it found as JSON. DagBag
# records, rather than raises, the file's import errors and warnings: both are asserted empty.
_PARSE_SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "import_errors": bag.import_errors,
    "captured_warnings": {k: list(v) for k, v in bag.captured_warnings.items()},
    "dags": {
        dag_id: {"file": dag.fileloc, "tasks": sorted(dag.task_dict), "params": sorted(dag.params)}
        for dag_id, dag in bag.dags.items()
    },
}))
"""
#: On failure, show the end of Airflow's output: the task's traceback is there, not at the top.
_OUTPUT_TAIL_LINES = 120


def _output(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stdout + result.stderr).splitlines()
    return "\n".join([f"exit code {result.returncode}; last lines:", *lines[-_OUTPUT_TAIL_LINES:]])


def _query(db_path: Path, sql: str, *args: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql, args).fetchall()


def test_dag_file_imports_cleanly(airflow_home: AirflowHome) -> None:
    """The DAG parses with no import error and no warning, with the expected tasks and param."""
    result = airflow_home.python("-c", _PARSE_SCRIPT, str(DAG_FILE))
    assert result.returncode == 0, _output(result)
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    assert parsed["import_errors"] == {}
    assert parsed["captured_warnings"] == {}
    assert parsed["dags"] == {
        DAG_ID: {"file": str(DAG_FILE), "tasks": ["count_rows", "write_csv"], "params": ["out_dir"]}
    }


def test_dags_test_round_trips_csv_through_file_url(
    airflow_home: AirflowHome, tmp_path: Path
) -> None:
    """Task 1 writes a CSV to a file:// URL, task 2 reads it back with as_df via XCom's URL."""
    out_dir = tmp_path / "out"
    conf = json.dumps({"out_dir": str(out_dir)})
    result = airflow_home.run("dags", "test", DAG_ID, "-c", conf)
    output = _output(result)
    assert result.returncode == 0, output

    # The run, as Airflow recorded it.
    runs = _query(
        airflow_home.db_path, "SELECT run_id, state, conf FROM dag_run WHERE dag_id = ?", DAG_ID
    )
    matching = [run for run in runs if json.loads(str(run[2])) == {"out_dir": str(out_dir)}]
    assert len(matching) == 1, runs
    run_id, run_state, _ = matching[0]
    assert run_state == "success", output
    states = dict(
        _query(
            airflow_home.db_path,
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
            DAG_ID,
            str(run_id),
        )
    )
    assert states == {"write_csv": "success", "count_rows": "success"}
    xcoms = {
        task_id: json.loads(str(value))
        for task_id, value in _query(
            airflow_home.db_path,
            "SELECT task_id, value FROM xcom WHERE dag_id = ? AND run_id = ? "
            "AND key = 'return_value'",
            DAG_ID,
            str(run_id),
        )
    }
    data_file = out_dir / "cities.csv"
    assert xcoms == {"write_csv": data_file.resolve().as_uri(), "count_rows": 3}

    # The data, read back independently of orchestore.
    assert data_file.read_text() == EXPECTED_CSV
    pd.testing.assert_frame_equal(
        pd.read_csv(data_file),
        pd.DataFrame({"city": ["Oslo", "Lima", "Pune"], "temp_c": [4.5, 19.0, 31.25]}),
    )
    # No temp/partial files left beside it by the atomic write.
    assert sorted(p.name for p in out_dir.iterdir()) == ["cities.csv"]
