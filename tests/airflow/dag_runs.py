"""Run a DAG with ``airflow dags test`` and read what Airflow recorded about that run.

The facts come from Airflow's own metadata DB (run state, task states, XCom), never from
parsing log text, so a DAG that prints "success" cannot pass a test by itself.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.airflow.harness import CLI_TIMEOUT, AirflowHome

#: On failure, show the end of Airflow's output: the task's traceback is there.
_TAIL_LINES = 150


@dataclass
class DagRun:
    """One ``airflow dags test`` run: its output, and the DB's record of it."""

    dag_id: str
    returncode: int
    output: str
    run_id: str | None = None
    state: str | None = None
    #: task id -> state, or (task id, map index) -> state for mapped tasks
    states: dict[Any, str] = field(default_factory=dict)
    #: task id -> return value (JSON-decoded); mapped tasks: task id -> {map index: value}
    xcoms: dict[str, Any] = field(default_factory=dict)

    def tail(self) -> str:
        lines = self.output.splitlines()[-_TAIL_LINES:]
        return "\n".join([f"{self.dag_id}: exit code {self.returncode}; last lines:", *lines])


def dags_test(
    home: AirflowHome, dag_id: str, conf: dict[str, Any], *, timeout: float = CLI_TIMEOUT
) -> DagRun:
    """``airflow dags test dag_id -c conf``, then the run's record from the metadata DB."""
    result = home.run("dags", "test", dag_id, "-c", json.dumps(conf), timeout=timeout)
    return read_run(home, dag_id, conf, result.returncode, result.stdout + result.stderr)


def start_dags_test(home: AirflowHome, dag_id: str, conf: dict[str, Any]) -> subprocess.Popen[str]:
    """The same, started in the background with its output as a line stream (stdout+stderr)."""
    return subprocess.Popen(
        [sys.executable, "-m", "airflow", "dags", "test", dag_id, "-c", json.dumps(conf)],
        env={**home.env, "PYTHONUNBUFFERED": "1"},
        cwd=home.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], needle: str, timeout: float) -> list[str]:
    """Read the process's output until a line contains ``needle``; returns the lines read.

    Raises AssertionError (with the output) when the process ends or the time runs out first.
    """
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    process.kill()
    raise AssertionError(f"never saw {needle!r}; output:\n{''.join(lines[-_TAIL_LINES:])}")


def read_run(
    home: AirflowHome, dag_id: str, conf: dict[str, Any], returncode: int, output: str
) -> DagRun:
    """The run of ``dag_id`` started with ``conf`` (each test passes a unique conf)."""
    run = DagRun(dag_id, returncode, output)
    runs = _query(home.db_path, "SELECT run_id, state, conf FROM dag_run WHERE dag_id = ?", dag_id)
    matching = [row for row in runs if row[2] is not None and json.loads(str(row[2])) == conf]
    if len(matching) != 1:
        return run
    run.run_id, run.state = str(matching[0][0]), str(matching[0][1])
    for task_id, map_index, state in _query(
        home.db_path,
        "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
        dag_id,
        run.run_id,
    ):
        run.states[task_id if map_index == -1 else (task_id, map_index)] = str(state)
    for task_id, map_index, value in _query(
        home.db_path,
        "SELECT task_id, map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? "
        "AND key = 'return_value'",
        dag_id,
        run.run_id,
    ):
        decoded = json.loads(str(value))
        if map_index == -1:
            run.xcoms[task_id] = decoded
        else:
            run.xcoms.setdefault(task_id, {})[map_index] = decoded
    return run


def _query(db_path: Path, sql: str, *args: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql, args).fetchall()
