"""One Airflow deployment for the session: PostgreSQL metadata DB, api-server, scheduler.

The UI tests need only the api-server; the masking test also needs the scheduler and the
dag-processor. They share one deployment (one migrated database, one api-server), started on
first use and stopped, with every child process, at the end of the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.airflow.harness import (
    AirflowHome,
    AirflowProcess,
    ApiServer,
    PostgresUnavailableError,
    free_port,
    postgres_database,
    process_env,
    stop_all,
)

LIVE_DAGS_DIR = Path(__file__).parent / "dags"


@pytest.fixture(scope="session")
def live_airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowHome]:
    """An AIRFLOW_HOME on a fresh PostgreSQL database, migrated (~10 s); dropped at the end."""
    path = tmp_path_factory.mktemp("airflow-live")
    with ExitStack() as stack:
        try:
            db_urls = stack.enter_context(postgres_database())
        except PostgresUnavailableError as exc:
            pytest.skip(f"the live Airflow tests need PostgreSQL: {exc}")
        env = process_env(path, dags_folder=LIVE_DAGS_DIR, db_urls=db_urls, api_port=free_port())
        home = AirflowHome(path=path, env=env)
        result = home.run("db", "migrate")
        assert result.returncode == 0, f"airflow db migrate failed:\n{result.stdout[-3000:]}"
        yield home


@pytest.fixture(scope="session")
def api_server(live_airflow_home: AirflowHome) -> Iterator[ApiServer]:
    """``airflow api-server`` of the live deployment, healthy."""
    port = int(live_airflow_home.env["AIRFLOW__API__PORT"])
    with ApiServer(live_airflow_home, port) as server:
        yield server


@pytest.fixture(scope="session")
def scheduler(live_airflow_home: AirflowHome, api_server: ApiServer) -> Iterator[ApiServer]:
    """The scheduler (LocalExecutor) and dag-processor running beside the api-server.

    Returns the api-server: tests drive the deployment through its REST API.
    """
    processes = [
        AirflowProcess(live_airflow_home, "scheduler"),
        AirflowProcess(live_airflow_home, "dag-processor"),
    ]
    try:
        for process in processes:
            process.start()
        yield api_server
    finally:
        stop_all(processes)
