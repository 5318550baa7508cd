"""Airflow fixtures: one migrated SQLite metadata DB per session, reused by every test."""

from __future__ import annotations

import pytest

from tests.airflow.harness import AirflowHome, airflow_env


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> AirflowHome:
    """An AIRFLOW_HOME whose metadata DB is migrated once for the whole session (~4-6 s).

    `airflow dags test` refuses to run on an unmigrated DB, and migrating costs about half a
    `dags test`, so every test shares this one.
    """
    path = tmp_path_factory.mktemp("airflow-home")
    home = AirflowHome(path=path, env=airflow_env(path))
    result = home.run("db", "migrate")
    assert result.returncode == 0, f"airflow db migrate failed:\n{result.stdout}\n{result.stderr}"
    assert home.db_path.is_file()
    return home
