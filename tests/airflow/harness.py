"""Running the `airflow` CLI of this interpreter against a throwaway AIRFLOW_HOME.

Airflow runs in subprocesses, never in the pytest process: importing airflow reads AIRFLOW_HOME
once and configures global state, so each call gets a clean, explicit environment instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DAGS_DIR = Path(__file__).parent / "dags"
#: Generous: a cold `airflow dags test` takes ~10 s on 2 cores; a hang must still end the test.
CLI_TIMEOUT = 300


@dataclass(frozen=True)
class AirflowHome:
    """A migrated AIRFLOW_HOME and the environment that points the CLI at it."""

    path: Path
    env: dict[str, str]

    @property
    def db_path(self) -> Path:
        """The SQLite metadata DB (see ``airflow_env``)."""
        return self.path / "airflow.db"

    def run(self, *args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Run ``airflow *args`` against this home; output is captured, never raises."""
        return self.python("-m", "airflow", *args, timeout=timeout)

    def python(self, *args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Run this interpreter with ``args`` in this home's environment."""
        return subprocess.run(
            [sys.executable, *args],
            env=self.env,
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def airflow_env(home: Path) -> dict[str, str]:
    """The caller's environment without any AIRFLOW* setting, plus a hermetic test config."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_DIR),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
    )
    return env
