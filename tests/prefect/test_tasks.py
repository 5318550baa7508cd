"""prefect_orchestore.tasks in real flow runs against real servers, checked with the raw SDKs.

- ``copy`` fanned out with ``.map`` over 20 keys, s3 (moto) -> az (Azurite), blocks by name;
- a copy with a progress artifact, read back from the API server;
- write / read / list_objects / delete on s3 through a saved DataStore;
- log_artifact into an ArtifactCatalog on PostgreSQL with its artifact root on s3.
"""

from __future__ import annotations

import importlib.util
import os
import time
import uuid
from pathlib import Path

import pytest

if importlib.util.find_spec("prefect") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the prefect virtual environment (.venv/prefect)", allow_module_level=True)

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.filters import ArtifactFilterType as TypeFilter
from prefect.logging.handlers import APILogWorker

from prefect_orchestore import (
    ArtifactCatalog,
    AzureStoreCredentials,
    DataStore,
    S3StoreCredentials,
    VaultConnection,
)
from prefect_orchestore.tasks import copy, item_for, load_block
from tests.prefect.task_flows import (
    copy_many,
    copy_with_progress,
    log_versions,
    object_tasks,
    progress_updates,
)
from tests.servers.azurite import AzuriteServer
from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET, REGION, MotoServer
from tests.unit.test_catalog_concurrency import postgres_catalog  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def s3_block(moto_server: MotoServer) -> str:
    """A saved S3StoreCredentials block for moto; its document name ``slug/name``."""
    name = _unique("moto")
    S3StoreCredentials(
        access_key_id=ADMIN_KEY_ID,
        secret_access_key=ADMIN_SECRET,
        endpoint_url=moto_server.endpoint_url,
        region=REGION,
    ).save(name)
    return f"orchestore-s3-credentials/{name}"


@pytest.fixture
def az_block(azurite: AzuriteServer) -> str:
    name = _unique("azurite")
    AzureStoreCredentials(
        account_name=azurite.account_name,
        account_key=azurite.account_key,
        blob_endpoint=azurite.blob_endpoint,
    ).save(name)
    return f"orchestore-azure-credentials/{name}"


def _task_runs_settled(flow_run_id: uuid.UUID, count: int, timeout: float = 30.0) -> list:
    """The flow run's task runs once ``count`` of them reached a final state in the API: task
    states reach the server through Prefect's background workers, after the flow returns."""
    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            runs = [r for r in client.read_task_runs() if r.flow_run_id == flow_run_id]
        settled = [r for r in runs if r.state_type is not None and r.state_type.value in _FINAL]
        if len(settled) >= count or time.monotonic() > deadline:
            return runs
        time.sleep(0.2)


_FINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})


def _flow_artifacts(flow_run_id: uuid.UUID) -> list:
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                type=TypeFilter(any_=["progress"]),
            )
        )


def test_copy_maps_over_20_keys_from_s3_to_azure(
    moto_server: MotoServer,
    moto_bucket: str,
    azurite_container: str,
    azurite_blob_client: object,
    s3_block: str,
    az_block: str,
) -> None:
    prefix = _unique("fan-out")
    payloads = {f"part-{n:02d}.bin": os.urandom(1000 + 37 * n) for n in range(20)}
    s3 = moto_server.client()
    for name, data in payloads.items():
        s3.put_object(Bucket=moto_bucket, Key=f"{prefix}/{name}", Body=data)
    sources = [f"s3://{moto_bucket}/{prefix}/{name}" for name in payloads]
    targets = [f"az://{azurite_container}/{prefix}/{name}" for name in payloads]

    state = copy_many(sources, targets, s3_block, az_block, return_state=True)

    assert state.is_completed(), state
    summaries = state.result()
    assert [(s["source"], s["destination"]) for s in summaries] == list(
        zip(sources, targets, strict=True)
    )
    assert [s["bytes"] for s in summaries] == [len(data) for data in payloads.values()]
    assert {(s["objects"], s["skipped"], s["checksums_verified"]) for s in summaries} == {(1, 0, 1)}
    container = azurite_blob_client.get_container_client(azurite_container)  # type: ignore[attr-defined]
    for name, data in payloads.items():
        assert container.download_blob(f"{prefix}/{name}").readall() == data
    mapped = _task_runs_settled(state.state_details.flow_run_id, count=20)
    assert len(mapped) == 20
    assert all(r.state_type.value == "COMPLETED" for r in mapped), [
        r.state_type.value for r in mapped
    ]
    # Short copies stay quiet: no progress artifact below PROGRESS_AFTER seconds.
    assert _flow_artifacts(state.state_details.flow_run_id) == []
    # The tasks logged what they copied, and no secret.
    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(
                flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    text = "\n".join(log.message for log in logs)
    assert text.count("copied 1 objects") == 20
    assert ADMIN_SECRET not in text
    assert AzuriteServer.account_key not in text


def test_copy_reports_progress_as_an_artifact(
    moto_server: MotoServer, moto_bucket: str, azurite_container: str, s3_block: str, az_block: str
) -> None:
    key = _unique("copy-progress")
    data = os.urandom(3 * 1024 * 1024)
    moto_server.client().put_object(Bucket=moto_bucket, Key=f"{key}/big.bin", Body=data)
    source = f"s3://{moto_bucket}/{key}/big.bin"
    target = f"az://{azurite_container}/{key}/big.bin"

    state = copy_with_progress(source, target, s3_block, az_block, key, return_state=True)

    assert state.is_completed(), state
    assert state.result()["bytes"] == len(data)
    (artifact,) = _flow_artifacts(state.state_details.flow_run_id)
    assert artifact.key == key
    assert artifact.data == 100.0
    assert artifact.task_run_id is not None
    assert f"copy {source} -> {target}: 3.1 MB of 3.1 MB, 1 of 1 objects" in artifact.description
    assert ADMIN_SECRET not in artifact.description


def test_write_read_list_delete_through_a_data_store(
    moto_server: MotoServer, moto_bucket: str, s3_block: str
) -> None:
    prefix = _unique("object-tasks")
    name = _unique("store")
    base = f"s3://{moto_bucket}/{prefix}/"
    credentials = S3StoreCredentials.load(s3_block.split("/", 1)[1])
    DataStore(base_url=base, credentials=credentials).save(name)

    state = object_tasks(f"orchestore-data-store/{name}", return_state=True)

    assert state.is_completed(), state
    result = state.result()
    assert result["written"] == [base + "kept/a.txt", base + "gone.txt"]
    assert result["read"] == [b"alpha", "beta"]
    assert sorted(result["before"]) == [base + "gone.txt", base + "kept"]
    (entry,) = result["detail"]
    assert (entry["url"], entry["size"], entry["is_dir"]) == (base + "kept/a.txt", 5, False)
    assert entry["etag"] and entry["modified"]
    assert result["deleted"] == base + "gone.txt"
    backup = result["backup"]
    assert (backup["source"], backup["destination"]) == (base + "kept/", base + "backup/")
    assert (backup["objects"], backup["bytes"]) == (1, 5)
    assert sorted(result["after"]) == [base + "backup", base + "kept"]
    listed = moto_server.client().list_objects_v2(Bucket=moto_bucket, Prefix=prefix)
    keys = [obj["Key"] for obj in listed["Contents"]]
    assert keys == [f"{prefix}/backup/a.txt", f"{prefix}/kept/a.txt"]


def test_log_artifact_into_a_postgres_catalog(
    postgres_catalog: str,  # noqa: F811 (the imported fixture)
    moto_server: MotoServer,
    moto_bucket: str,
    s3_block: str,
) -> None:
    """The catalog lives in PostgreSQL, the bytes on s3; a second load of the block reads."""
    root = f"s3://{moto_bucket}/{_unique('artifacts')}/"
    credentials = S3StoreCredentials.load(s3_block.split("/", 1)[1])
    name = _unique("catalog")
    ArtifactCatalog(
        catalog_url=postgres_catalog,
        catalog_password="s3cr3t-catalog-password",  # trust auth: sent only if asked for
        artifact_root=DataStore(base_url=root, credentials=credentials),
        project="churn",
    ).save(name)

    state = log_versions(name, "train.csv", return_state=True)

    assert state.is_completed(), state
    v1, v2, frame = state.result()
    assert v1.startswith("store://artifacts/churn/train.csv:v1^")
    assert v2.startswith("store://artifacts/churn/train.csv:v2^")
    catalog = ArtifactCatalog.load(name)
    assert catalog.get(v1) == b"a,b\n1,2\n"
    assert catalog.get("train.csv") == b"a,b\n3,4\n5,6\n"  # latest moved to v2
    assert len(catalog.as_df("train.csv:v2")) == 2
    assert frame.startswith("store://artifacts/churn/frame:v1^")
    assert catalog.as_df(frame)["a"].tolist() == [1, 2, 3]
    assert catalog.resolve(frame).format == "parquet"
    record = catalog.resolve("train.csv:v1")
    assert record.labels == {"n": 1}
    assert record.producer == str(state.state_details.flow_run_id)  # the flow run logged it
    assert [r.tags for r in catalog.list_artifacts("train.csv")] == [("v1",), ("latest", "v2")]
    # The bytes are on s3, content-addressed below the root, as the raw SDK sees them.
    key = record.target_path.removeprefix(f"s3://{moto_bucket}/")
    assert record.target_path.startswith(root + "churn/train.csv/")
    body = moto_server.client().get_object(Bucket=moto_bucket, Key=key)["Body"].read()
    assert body == b"a,b\n1,2\n"
    assert catalog.delete_artifact("train.csv", tag="v1") == 1
    assert [r.tags for r in catalog.list_artifacts("train.csv")] == [("latest", "v2")]


def test_item_for_refuses_blocks_that_serve_no_urls(tmp_path: Path) -> None:
    vault = VaultConnection(url="http://127.0.0.1:1", token="s3cr3t-not-shown")
    with pytest.raises(TypeError, match="VaultConnection does not serve URLs"):
        item_for("s3://bucket/key", vault)
    with pytest.raises(ValueError, match="give it as 'block-type-slug/name'"):
        load_block("just-a-name")
    assert item_for(tmp_path.as_uri() + "/x").url == f"file://{tmp_path}/x"


def test_progress_artifact_is_updated_while_the_copy_runs() -> None:
    """The reporter thread posts the newest snapshot every ``every`` s, then 100 % at the end."""
    key = _unique("progress-updates")

    state = progress_updates(key, return_state=True)

    assert state.is_completed(), state
    assert state.result() == [50.0]  # seen through the API while the task was still running
    (artifact,) = _flow_artifacts(state.state_details.flow_run_id)
    assert artifact.data == 100.0
    assert artifact.description.startswith("copy a -> b: 0.0 MB of 0.0 MB, 1 of 1 objects")


def test_task_functions_work_outside_a_flow_run(tmp_path: Path) -> None:
    """``.fn`` (a plain call, e.g. in a notebook): no run logger, no progress artifact."""
    source, target = tmp_path / "in.bin", tmp_path / "out" / "copy.bin"
    source.write_bytes(b"x" * 1000)

    summary = copy.fn(source.as_uri(), target.as_uri(), progress_after=0)

    assert (summary["objects"], summary["bytes"]) == (1, 1000)
    assert target.read_bytes() == b"x" * 1000
