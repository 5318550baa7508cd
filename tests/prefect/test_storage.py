"""DataStore as a real Prefect result storage, and credentials that come only from Vault.

Result storage: the first flow run computes and persists the task's result through the saved
DataStore block; the second finds it by cache key and READS it from the store (the task does
not run); after the object is deleted out of band, a third run computes again, which proves
the second really read the store. Checked on file, memory and s3 (moto; the objects checked
with the raw SDK), and without the third run on az (Azurite), gs (GCS emulator) and v3io.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

if importlib.util.find_spec("prefect") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the prefect virtual environment (.venv/prefect)", allow_module_level=True)

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogWorker

import orchestore
from prefect_orchestore import DataStore, S3StoreCredentials, VaultConnection, VaultSecretRef
from prefect_orchestore.credentials import CREDENTIAL_BLOCKS
from tests.prefect.storage_flows import CALLS, round_trip_through_store, square_with_storage
from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET, REGION, MotoServer
from tests.servers.openbao import OpenBaoServer

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _check_result_storage(
    store: DataStore,
    exists: Callable[[str], bool],
    delete: Callable[[str], None],
    prove_read: bool = True,
) -> None:
    name = _unique("results")
    store.save(name)
    storage, key = f"orchestore-data-store/{name}", _unique("square")
    before = len(CALLS)

    first = square_with_storage(x=7, storage=storage, key=key, return_state=True)
    assert first.is_completed(), first
    assert first.result() == {"x": 7, "squared": 49}
    assert len(CALLS) == before + 1
    assert exists(key), "the result was not written to the DataStore"

    second = square_with_storage(x=7, storage=storage, key=key, return_state=True)
    assert second.result() == {"x": 7, "squared": 49}
    assert len(CALLS) == before + 1, "the task ran again instead of reading the stored result"

    if not prove_read:  # proven on file and s3; saves a flow run per scheme
        return
    delete(key)
    third = square_with_storage(x=7, storage=storage, key=key, return_state=True)
    assert third.result() == {"x": 7, "squared": 49}
    assert len(CALLS) == before + 2
    assert exists(key)


def test_result_storage_on_file(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    store = DataStore(base_url=folder.as_uri())
    _check_result_storage(
        store,
        exists=lambda key: (folder / key).is_file(),
        delete=lambda key: (folder / key).unlink(),
    )


def test_result_storage_on_s3(moto_server: MotoServer, moto_bucket: str) -> None:
    prefix = _unique("prefect-results")
    credentials = S3StoreCredentials(
        access_key_id=ADMIN_KEY_ID,
        secret_access_key=ADMIN_SECRET,
        endpoint_url=moto_server.endpoint_url,
        region=REGION,
    )
    credentials.save(_unique("moto"))  # saved itself: DataStore stores a reference to it
    store = DataStore(base_url=f"s3://{moto_bucket}/{prefix}/", credentials=credentials)
    client = moto_server.client()

    def exists(key: str) -> bool:
        listed = client.list_objects_v2(Bucket=moto_bucket, Prefix=f"{prefix}/{key}")
        return listed.get("KeyCount", 0) == 1

    _check_result_storage(
        store,
        exists=exists,
        delete=lambda key: client.delete_object(Bucket=moto_bucket, Key=f"{prefix}/{key}"),
    )


def test_result_storage_on_memory() -> None:
    """memory:// is one dict per process: a result survives between flow runs of ONE process
    (these tests, a local ``python flow.py``), not across workers, processes or restarts."""
    base = f"memory://{_unique('results')}/"
    _check_result_storage(
        DataStore(base_url=base),
        exists=lambda key: orchestore.get_dataitem(base + key).exists(),
        delete=lambda key: orchestore.get_dataitem(base + key).delete(),
    )


@pytest.mark.parametrize("scheme", ["az", "gs", "v3io"])
def test_result_storage_on_other_schemes(
    scheme: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Azurite, the GCS emulator and the v3io test server, with the contract suite's setups.

    Existence is checked through orchestore with the core model here (the s3 and file tests
    check with the raw SDK / the file system).
    """
    from tests.contract.conftest import SPECS

    case = next(spec for spec in SPECS if spec.id == scheme).make(request, tmp_path)
    block = CREDENTIAL_BLOCKS[case.credentials.family]
    fields = case.credentials.model_dump(exclude_defaults=True)
    store = DataStore(base_url=case.folder_url, credentials=block(**fields))
    _check_result_storage(
        store,
        exists=lambda key: case.item(key).exists(),
        delete=lambda key: case.item(key).delete(),
        prove_read=False,
    )


def test_flow_with_s3_credentials_only_from_vault(
    monkeypatch: pytest.MonkeyPatch,
    moto_server: MotoServer,
    moto_bucket: str,
    openbao: OpenBaoServer,
) -> None:
    """No AWS or Vault variable is set: the keys exist only in OpenBao, behind a read policy."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "VAULT_", "S3_", "ORCHESTORE_")):
            monkeypatch.delenv(name)
    path = _unique("orchestore/prefect-s3")
    openbao.put_secret(
        "secret",
        path,
        {
            "AWS_ACCESS_KEY_ID": ADMIN_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET,
            "S3_ENDPOINT_URL": moto_server.endpoint_url,
            "AWS_REGION": REGION,
        },
    )
    policy = _unique("prefect-reader")
    openbao.write_policy(policy, f'path "secret/data/{path}" {{ capabilities = ["read"] }}')
    token = openbao.create_token([policy])

    connection = VaultConnection(url=openbao.address, token=token)
    credentials = S3StoreCredentials(vault=VaultSecretRef(connection=connection, path=path))
    prefix = _unique("vault-only")
    store_name = _unique("vault-store")
    DataStore(base_url=f"s3://{moto_bucket}/{prefix}/", credentials=credentials).save(store_name)

    state = round_trip_through_store(
        store=store_name, key="hello.bin", payload=b"from vault", return_state=True
    )

    assert state.is_completed(), state
    result = state.result()
    assert result["read"] == b"from vault"
    assert result["url"] == f"s3://{moto_bucket}/{prefix}/hello.bin"
    assert result["listed"] == [result["url"]]
    body = moto_server.client().get_object(Bucket=moto_bucket, Key=f"{prefix}/hello.bin")["Body"]
    assert body.read() == b"from vault"

    # Nothing secret reached the flow run's logs (flushed to the API server first).
    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(
                flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    assert logs, "expected the flow run's logs"
    text = "\n".join(log.message for log in logs)
    for secret in (ADMIN_SECRET, token):
        assert secret not in text


@pytest.mark.parametrize("scheme", ["s3", "file"])
def test_put_and_get_directory(
    scheme: str, tmp_path: Path, moto_server: MotoServer, moto_bucket: str
) -> None:
    """Deployment storage: a project folder goes up (minus ignored files) and comes back."""
    project = tmp_path / "project"
    (project / "flows" / "sub").mkdir(parents=True)
    (project / "flows" / "main.py").write_text("print('main')\n")
    (project / "flows" / "sub" / "data.csv").write_text("a,b\n1,2\n")
    (project / "secret.env").write_text("TOKEN=nope\n")
    ignore = tmp_path / ".prefectignore"
    ignore.write_text("*.env\n")
    if scheme == "s3":
        credentials = S3StoreCredentials(
            access_key_id=ADMIN_KEY_ID,
            secret_access_key=ADMIN_SECRET,
            endpoint_url=moto_server.endpoint_url,
            region=REGION,
        )
        store = DataStore(
            base_url=f"s3://{moto_bucket}/{_unique('deploy')}/", credentials=credentials
        )
    else:
        store = DataStore(base_url=(tmp_path / "remote").as_uri())

    assert store.put_directory(str(project), "code", str(ignore)) == 2
    assert sorted(store.ls("code")) == [
        store._resolve_path("code/flows"),
    ]

    restored = tmp_path / "restored"
    store.get_directory("code", str(restored))
    files = sorted(p.relative_to(restored).as_posix() for p in restored.rglob("*") if p.is_file())
    assert files == ["flows/main.py", "flows/sub/data.csv"]
    assert (restored / "flows" / "sub" / "data.csv").read_text() == "a,b\n1,2\n"
