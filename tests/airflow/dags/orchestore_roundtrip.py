"""A real Airflow DAG that round-trips a CSV through orchestore between two tasks.

Task ``write_csv`` writes a small DataFrame to ``file://<out_dir>/cities.csv`` with
``orchestore.get_dataitem(url).write_df`` and returns the URL through XCom; task ``count_rows``
reads it back with ``as_df`` and returns the row count. A file URL (not memory://) because each
Airflow task runs in its own process. ``out_dir`` is a DAG param: pass it with
``airflow dags test orchestore_roundtrip -c '{"out_dir": "/some/dir"}'``; its default comes from
the ORCHESTORE_ROUNDTRIP_DIR environment variable, else a folder in the system temp dir.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

DAG_ID = "orchestore_roundtrip"
FILE_NAME = "cities.csv"
ROWS: dict[str, list[Any]] = {
    "city": ["Oslo", "Lima", "Pune"],
    "temp_c": [4.5, 19.0, 31.25],
}


def _default_out_dir() -> str:
    return os.environ.get(
        "ORCHESTORE_ROUNDTRIP_DIR", os.path.join(tempfile.gettempdir(), "orchestore_roundtrip")
    )


@dag(
    dag_id=DAG_ID,
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["orchestore", "test"],
    params={"out_dir": Param(_default_out_dir(), type="string", minLength=1)},
)
def orchestore_roundtrip() -> None:
    """Write a CSV in one task, read it in the next: the URL is the only thing passed."""

    @task
    def write_csv(params: dict[str, Any] | None = None) -> str:
        # Heavy imports inside the task keep DAG parsing fast.
        import pandas as pd

        import orchestore

        assert params is not None  # Airflow injects the run's params
        url = (Path(params["out_dir"]).resolve() / FILE_NAME).as_uri()
        item = orchestore.get_dataitem(url)
        item.write_df(pd.DataFrame(ROWS))
        return item.url

    @task
    def count_rows(url: str) -> int:
        import orchestore

        return len(orchestore.get_dataitem(url).as_df())

    count_rows(write_csv())


orchestore_roundtrip()
