"""StoreKeySensor(deferrable=True) in a real deployment: scheduler, dag-processor, api-server
and ``airflow triggerer`` as separate processes on PostgreSQL (LocalExecutor).

``airflow dags test`` runs a trigger inline in its own process (tests/airflow/
test_example_dags.py); here the triggerer process runs it, with the connection stored only in
the metadata DB, so ``aget_connection`` must go through the triggerer's supervisor — the path
on which the cloud providers' sensors lose their connection. The test waits until Airflow
reports the task DEFERRED, lets the trigger poll, creates the key with boto3, and checks that
the task resumed and succeeded, with the URL in XCom and the triggerer's checks in its log.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import time
from collections.abc import Iterator

import pytest

from tests.airflow.harness import AirflowHome, AirflowProcess, ApiServer
from tests.servers import moto_server as moto

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow

DAG_ID = "orchestore_deferred_sensor"
TASK_ID = "wait_for_key"
CONN_ID = "deferred_s3"
#: parse + queue + defer, or resume + finish: tens of seconds on 2 busy cores
STEP_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def triggerer(scheduler: ApiServer, live_airflow_home: AirflowHome) -> Iterator[AirflowProcess]:
    """``airflow triggerer`` beside the session's scheduler, for this module."""
    with AirflowProcess(live_airflow_home, "triggerer") as process:
        yield process


def _task_instance(api: ApiServer, run_id: str) -> dict:
    return api.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}")


def _wait_for_state(api: ApiServer, run_id: str, wanted: str, process: AirflowProcess) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT
    state = None
    while time.monotonic() < deadline:
        state = _task_instance(api, run_id)["state"]
        if state == wanted:
            return
        if state in ("failed", "upstream_failed", "success") and state != wanted:
            break
        time.sleep(0.5)
    raise AssertionError(f"task state {state!r}, expected {wanted!r}\n{process.log_tail()}")


def _events(home: AirflowHome, run_id: str) -> list[str]:
    """Every log event of the task: its attempts' files and the trigger's (``.trigger.N.log``)."""
    folder = home.path / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={TASK_ID}"
    return [
        str(json.loads(line).get("event", ""))
        for path in sorted(folder.glob("attempt=*"))
        for line in path.read_text().splitlines()
        if line.startswith("{")
    ]


def _wait_for_event(home: AirflowHome, run_id: str, text: str, process: AirflowProcess) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        if any(text in event for event in _events(home, run_id)):
            return
        time.sleep(0.5)
    raise AssertionError(f"no log event {text!r}\n{process.log_tail()}")


def test_sensor_defers_to_the_triggerer_and_resumes_when_the_key_appears(
    triggerer: AirflowProcess,
    scheduler: ApiServer,
    live_airflow_home: AirflowHome,
    moto_server: moto.MotoServer,
    moto_bucket: str,
) -> None:
    key = f"deferred-{os.urandom(4).hex()}/_SUCCESS"
    url = f"s3://{moto_bucket}/{key}"
    extra = {"endpoint_url": moto_server.endpoint_url, "region_name": moto.REGION}
    scheduler.request(
        "POST",
        "/api/v2/connections",
        {
            "connection_id": CONN_ID,
            "conn_type": "aws",
            "login": moto.ADMIN_KEY_ID,
            "password": moto.ADMIN_SECRET,
            "extra": json.dumps(extra),
        },
    )
    scheduler.wait_for_dag(DAG_ID)
    run_id = scheduler.trigger(DAG_ID, {"url": url})

    _wait_for_state(scheduler, run_id, "deferred", triggerer)
    # The key appears only once the triggerer's trigger has looked for it and not found it.
    _wait_for_event(live_airflow_home, run_id, "does not exist yet (check 1)", triggerer)
    moto_server.client().put_object(Bucket=moto_bucket, Key=key, Body=b"")
    state = scheduler.wait_for_run(DAG_ID, run_id, STEP_TIMEOUT)

    events = _events(live_airflow_home, run_id)
    assert state == "success", "\n".join(events[-40:]) + triggerer.log_tail()
    xcom = scheduler.request(
        "GET",
        f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}/xcomEntries/return_value",
    )
    assert xcom["value"] == url
    found = [m for e in events if (m := re.search(r"found by the triggerer after (\d+) check", e))]
    assert found, "\n".join(events[-40:])
    assert int(found[0].group(1)) >= 2  # it polled while the key was missing
    assert any("Deferring: the triggerer checks every 1 s" in e for e in events)
