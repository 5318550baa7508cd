"""Running the `airflow` CLI of this interpreter against a throwaway AIRFLOW_HOME.

Airflow runs in subprocesses, never in the pytest process: importing airflow reads AIRFLOW_HOME
once and configures global state, so each call gets a clean, explicit environment instead.

The second half runs Airflow as a deployment for the UI and scheduler tests (tests/airflow/live):
a throwaway PostgreSQL database, long-running ``api-server``/``scheduler``/``dag-processor``
processes stopped with their children, and a small REST client for the api-server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.servers.lifecycle import ManagedServer, stop_process

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


# -- Airflow as long-running processes (api-server, scheduler, dag-processor) -------------------
# The UI and scheduler tests need Airflow running as it runs in production: separate processes
# sharing a PostgreSQL metadata DB (SQLite locks up under a scheduler and an api-server at once).

HOST = "127.0.0.1"
#: The PostgreSQL server of the project's machines (trust auth); override for another server.
POSTGRES_URL_ENV = "ORCHESTORE_TEST_POSTGRES_URL"
POSTGRES_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: SimpleAuthManager's admin user; its password is written to the passwords file beforehand,
#: so Airflow does not generate (and print) one.
ADMIN_USER = "admin"
ADMIN_PASSWORD = "orchestore-ui-admin-4711"
#: Cold start of `airflow api-server` on 2 busy cores is ~8-15 s; the scheduler ~10 s.
PROCESS_START_TIMEOUT = 90.0
#: Seconds an Airflow process gets to shut down cleanly after SIGTERM (see AirflowProcess.stop).
STOP_GRACE = 3.0


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server answers at the configured URL (a missing prerequisite)."""


def free_port() -> int:
    """A TCP port nobody listens on right now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def postgres_database(prefix: str = "orchestore_airflow") -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database, dropped at exit; yields its (sync, async) SQLAlchemy URLs.

    Airflow needs both: ``sql_alchemy_conn`` (psycopg 3) and ``sql_alchemy_conn_async``, which
    it would otherwise derive as ``postgresql+asyncpg`` (not installed) — psycopg 3 serves the
    async side too, as ``postgresql+psycopg_async``.
    """
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(os.environ.get(POSTGRES_URL_ENV, POSTGRES_DEFAULT_URL))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        shown = base.render_as_string(hide_password=True)
        raise PostgresUnavailableError(
            f"no PostgreSQL answers at {shown} ({type(exc).__name__}); set {POSTGRES_URL_ENV}"
        ) from None
    database = base.set(database=name)
    try:
        yield (
            database.set(drivername="postgresql+psycopg").render_as_string(hide_password=False),
            database.set(drivername="postgresql+psycopg_async").render_as_string(
                hide_password=False
            ),
        )
    finally:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def process_env(
    home: Path, *, dags_folder: Path, db_urls: tuple[str, str], api_port: int
) -> dict[str, str]:
    """``airflow_env`` for a PostgreSQL-backed deployment of separate Airflow processes.

    Every process of one deployment gets the same environment: the JWT secret and the
    execution API URL must agree between the api-server, the scheduler and its task workers.
    """
    sync_url, async_url = db_urls
    passwords_file = home / "simple_auth_manager_passwords.json"
    passwords_file.write_text(json.dumps({ADMIN_USER: ADMIN_PASSWORD}) + "\n")
    env = airflow_env(home)
    env.update(
        AIRFLOW__CORE__DAGS_FOLDER=str(dags_folder),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sync_url,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=async_url,
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="2",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://{HOST}:{api_port}/execution/",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{ADMIN_USER}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords_file),
        AIRFLOW__API_AUTH__JWT_SECRET=uuid.uuid4().hex,
        AIRFLOW__API__SECRET_KEY=uuid.uuid4().hex,
        AIRFLOW__API__HOST=HOST,
        AIRFLOW__API__PORT=str(api_port),
        AIRFLOW__API__BASE_URL=f"http://{HOST}:{api_port}",
        # New DAG files are picked up within seconds, not the default 5 minutes.
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
    )
    return env


class AirflowProcess(ManagedServer):
    """One long-running ``airflow <command>`` in its own session, output in ``log_file``.

    Stopped with its whole process group: the scheduler's LocalExecutor workers and the
    api-server's uvicorn workers are children that must not outlive the test session.
    """

    def __init__(self, home: AirflowHome, *command: str, name: str | None = None) -> None:
        self.home = home
        self.command = command
        self.log_file = home.path / f"{name or command[0]}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> AirflowProcess:
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "airflow", *self.command],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.home.env,
                cwd=self.home.path,
                start_new_session=True,
            )
        return self

    def stop(self) -> None:
        self.terminate()
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_GRACE)
        # Airflow's processes finish their work in well under a second, then idle ~8 s in
        # interpreter shutdown (joining a sleeping thread); by then Python's default SIGTERM
        # handler is back, so a second SIGTERM ends them at once. SIGKILL stays the last resort.
        stop_process(process, group=True)
        if process is not None:
            # The LocalExecutor's workers ignore SIGTERM and outlive the scheduler: sweep the
            # group (its id is the leader's pid, start_new_session) once the leader is gone.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def terminate(self) -> None:
        """Send SIGTERM to the process group without waiting (``stop`` waits)."""
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGTERM)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        """The end of this process's output, for failure messages."""
        if not self.log_file.exists():
            return f"({self.log_file} does not exist)"
        text = self.log_file.read_text(errors="replace").splitlines()
        return "\n".join([f"last lines of {self.log_file}:", *text[-lines:]])


def stop_all(processes: list[AirflowProcess]) -> None:
    """Stop several processes at once: all get SIGTERM first, then each is waited for."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.stop()


class ApiServer(AirflowProcess):
    """``airflow api-server`` on 127.0.0.1: the REST API, the UI and the execution API."""

    def __init__(self, home: AirflowHome, port: int) -> None:
        super().__init__(home, "api-server", "-H", HOST, "-p", str(port), "-w", "1")
        self.port = port
        self._token: str | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> ApiServer:
        super().start()
        deadline = time.monotonic() + PROCESS_START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"airflow api-server exited\n{self.log_tail()}")
            with contextlib.suppress(OSError, ValueError):
                health = self.request("GET", "/api/v2/monitor/health", auth=False)
                if health["metadatabase"]["status"] == "healthy":
                    return self
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"airflow api-server not healthy in time\n{self.log_tail()}")

    def token(self) -> str:
        """A JWT for the admin user, from SimpleAuthManager's ``POST /auth/token``."""
        if self._token is None:
            body = {"username": ADMIN_USER, "password": ADMIN_PASSWORD}
            self._token = str(self.request("POST", "/auth/token", body, auth=False)["access_token"])
        return self._token

    def request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *, auth: bool = True
    ) -> Any:
        """One JSON request; returns the decoded answer, raises HTTPError on 4xx/5xx."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 server
            self.url + path, data=data, method=method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read() or b"null")

    def wait_for_dag(self, dag_id: str, timeout: float = PROCESS_START_TIMEOUT) -> None:
        """Until the dag-processor has parsed ``dag_id`` into the metadata DB."""
        deadline = time.monotonic() + timeout
        while self.status(f"/api/v2/dags/{dag_id}", auth=True) == 404:
            if time.monotonic() > deadline:
                errors = self.request("GET", "/api/v2/importErrors")
                raise TimeoutError(f"DAG {dag_id} not parsed in {timeout:.0f} s; {errors}")
            time.sleep(0.5)

    def trigger(self, dag_id: str, conf: Mapping[str, Any]) -> str:
        """Start a manual run of ``dag_id`` with ``conf``; returns its run id."""
        body = {"logical_date": None, "conf": dict(conf)}
        return str(self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        """Poll a DAG run until it ends (success or failed); returns its final state."""
        deadline = time.monotonic() + timeout
        while True:
            state = str(self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"])
            if state in ("success", "failed"):
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} of {dag_id} still {state} after {timeout:.0f} s")
            time.sleep(0.5)

    def status(self, path: str, *, auth: bool) -> int:
        """The HTTP status of ``GET path`` (e.g. 401 without a token)."""
        try:
            self.request("GET", path, auth=auth)
        except urllib.error.HTTPError as exc:
            return exc.code
        return 200
