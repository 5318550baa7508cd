"""Issue 11, item 7 (Prefect part): a sentinel secret never reaches a flow run's logs or state.

A saved DataStore block holds a sentinel in one secret field (s3 secret key against moto with
auth enforced, v3io access key, HTTP bearer token and header); a flow loads it, logs the
store, item and credentials at DEBUG and reads, which the server refuses, so the flow fails.
The flow run's logs (flushed to the test API server), its state message and its parameters
carry no form of the sentinel (plain, base64, URL-quoted).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import uuid
from typing import Any

import pytest

if importlib.util.find_spec("prefect") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the prefect virtual environment (.venv/prefect)", allow_module_level=True)

from prefect import flow, get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogWorker

from prefect_orchestore import DataStore
from prefect_orchestore.credentials import CREDENTIAL_BLOCKS
from tests.reliability.sentinel import SENTINEL, hits

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


@task
def read_with(store_name: str) -> bytes:
    logger = get_run_logger()
    logger.setLevel(logging.DEBUG)
    store = DataStore.load(store_name)
    item = store.item("sentinel.bin")
    logger.debug("store %r item %r credentials %r", store, item, store.credentials)
    logger.debug("resolved %r", store._credentials())
    return item.get()


@flow
def sentinel_flow(store_name: str) -> bytes:
    return read_with(store_name)


def _cases(request: pytest.FixtureRequest) -> dict[str, tuple[str, dict[str, Any]]]:
    from tests.servers.moto_server import REGION

    moto = request.getfixturevalue("moto_server")
    bucket = request.getfixturevalue("moto_bucket")
    v3io = request.getfixturevalue("v3io_server")
    http = request.getfixturevalue("auth_http_server")
    return {
        "s3": (
            f"s3://{bucket}/",
            {
                "access_key_id": "AKIASENTINELPREFECT",
                "secret_access_key": SENTINEL,
                "endpoint_url": moto.endpoint_url,
                "region": REGION,
            },
        ),
        "v3io": ("v3io:///bigdata/", {"api_url": v3io.api_url, "access_key": SENTINEL}),
        "http": (
            f"{http.base_url}/",
            {"token": SENTINEL, "headers": {"X-Api-Key": SENTINEL}, "allowed_hosts": ["127.0.0.1"]},
        ),
    }


@pytest.mark.parametrize("scheme", ["s3", "v3io", "http"])
def test_a_failing_flow_run_never_logs_the_sentinel(
    scheme: str, request: pytest.FixtureRequest
) -> None:
    base_url, fields = _cases(request)[scheme]
    block = CREDENTIAL_BLOCKS[scheme](**fields)
    name = f"sentinel-{scheme}-{uuid.uuid4().hex[:8]}"
    DataStore(base_url=base_url, credentials=block).save(name)
    moto = request.getfixturevalue("moto_server")
    with moto.enforcing_auth():
        state = sentinel_flow(store_name=name, return_state=True)
    assert state.is_failed(), state
    APILogWorker.drain_all(timeout=10)
    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
        flow_run = client.read_flow_run(flow_run_id)
    text = "\n".join(log.message for log in logs)
    assert "store" in text  # the DEBUG line did reach the API
    shown = "\n".join([text, str(state.message), repr(flow_run.parameters), str(flow_run.state)])
    assert hits(shown) == 0, [line for line in shown.splitlines() if hits(line)][:5]
