"""A careless task: it resolves store credentials through orchestore's hooks and prints them.

Run by a real scheduler in tests/airflow/live/test_scheduler_masking.py, which then greps the
task's log file: every secret must show as ``***``. The run's conf lists the cases,
``{"cases": [{"conn_id": ..., "url": ...}, ...]}``; nothing secret travels in the conf.

Each secret is leaked the ways a user debugging credentials would: ``print`` and ``logging``
of every secret field, the whole credentials as a dict, the connection's extras and URI, and
the lines of a JSON key file (Google key files are multi-line JSON).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pendulum
from airflow.sdk import dag, task

DAG_ID = "orchestore_masking"
log = logging.getLogger(__name__)


@dag(
    dag_id=DAG_ID,
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["orchestore", "test"],
)
def orchestore_masking() -> None:
    """One task that leaks every secret it resolves, on purpose."""

    @task
    def leak_secrets(dag_run: Any = None) -> int:
        from pydantic import SecretStr

        from orchestore.airflow.hooks import DataStoreHook

        leaked = 0
        for case in dag_run.conf["cases"]:
            conn_id, url = case["conn_id"], case["url"]
            hook = DataStoreHook(conn_id)
            credentials = hook.credentials_for(url)
            revealed = {
                name: value.get_secret_value() if isinstance(value, SecretStr) else value
                for name, value in credentials
            }
            for name, value in revealed.items():
                if not isinstance(getattr(credentials, name), SecretStr) or value is None:
                    continue
                print(f"CARELESS-PRINT {conn_id} {name}: {value}")
                log.warning("CARELESS-LOG %s %s: %s", conn_id, name, value)
                leaked += 1
                if value.lstrip().startswith("{"):  # a key file: print it field by field
                    for key, item in json.loads(value).items():
                        print(f"CARELESS-KEYFILE {conn_id} {key}: {item}")
            print(f"CARELESS-DICT {conn_id}: {revealed}")
            connection = hook.get_connection(conn_id)
            print(f"CARELESS-EXTRA {conn_id}: {connection.extra_dejson}")
            print(f"CARELESS-URI {conn_id}: {connection.get_uri()}")
        return leaked

    leak_secrets()


orchestore_masking()
