"""Every example DAG in examples/airflow/dags runs with `airflow dags test` against real servers.

moto (S3), Azurite (Azure Blob) and OpenBao (Vault) run on 127.0.0.1; connections reach the
DAGs as AIRFLOW_CONN_* JSON, as a deployment's environment would give them. Each test seeds
its own prefix with the raw SDK, runs one DAG, and checks the effects with the raw SDKs
(objects exist, bytes equal) plus Airflow's own record of the run (states, XCom).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.dag_runs import DagRun, dags_test, read_run, start_dags_test, wait_for_line
from tests.airflow.examples_env import EXAMPLE_DAGS, S3Endpoint, VaultSetup, example_connections
from tests.airflow.harness import CLI_TIMEOUT, AirflowHome
from tests.servers import moto_server as moto

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow

RAW_BUCKET = "examples-raw"
VAULT_BUCKET = "examples-vaulted"
ARTIFACT_BUCKET = "examples-artifacts"
CONTAINER = "landing"
CITIES_CSV = b"city,temp_c\nOslo,4.5\nLima,19.0\nPune,31.25\n"
EXAMPLE_DAG_IDS = {
    "orchestore_dataframe_transform",
    "orchestore_list_and_copy",
    "orchestore_log_artifact",
    "orchestore_s3_to_azure",
    "orchestore_vault_connection",
    "orchestore_wait_for_key",
}
_HEAVY = ("boto3", "botocore", "azure", "google", "pandas", "pyarrow", "s3fs", "adlfs", "gcsfs")

# Parses the examples folder as the DAG processor does; reports errors, warnings, DAG ids and
# which heavy modules parsing loaded (none may be: DAG files are parsed constantly).
_PARSE_SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[2].split(","))
print(json.dumps({
    "import_errors": bag.import_errors,
    "captured_warnings": {k: list(v) for k, v in bag.captured_warnings.items()},
    "dags": sorted(bag.dags),
    "heavy": heavy,
}))
"""


@dataclass(frozen=True)
class ExampleWorld:
    """The servers, clients and connections every example test shares."""

    home: AirflowHome
    s3: Any  # boto3 S3 client (admin keys)
    blobs: Any  # azure ContainerClient for the landing container
    moto: moto.MotoServer
    vault_key_id: str
    catalog_db: Path


@pytest.fixture(scope="session")
def world(
    airflow_home: AirflowHome,
    moto_server: moto.MotoServer,
    azurite: Any,
    azurite_blob_client: Any,
    openbao: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> ExampleWorld:
    s3 = moto_server.client()
    for bucket in (RAW_BUCKET, VAULT_BUCKET, ARTIFACT_BUCKET):
        s3.create_bucket(Bucket=bucket)
    container = azurite_blob_client.create_container(CONTAINER)
    # The Vault example's S3 keys exist only in OpenBao; the token may read only that secret.
    key_id, secret = moto_server.create_user("vault-etl", ["s3:*"])
    openbao.put_secret("secret", "etl/s3", {"access_key_id": key_id, "secret_access_key": secret})
    openbao.write_policy("etl-read", 'path "secret/data/etl/*" { capabilities = ["read"] }')
    token = openbao.create_token(["etl-read"], ttl="2h")
    catalog_db = tmp_path_factory.mktemp("catalog") / "catalog.db"
    connections = example_connections(
        S3Endpoint(moto_server.endpoint_url, moto.ADMIN_KEY_ID, moto.ADMIN_SECRET, moto.REGION),
        azurite.connection_string,
        vault=VaultSetup(openbao.address, token, "secret", "etl/s3", VAULT_BUCKET),
        catalog_db=f"sqlite:///{catalog_db}",
        artifact_root=f"s3://{ARTIFACT_BUCKET}/root",
    )
    env = {
        **airflow_home.env,
        **connections,
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
        # The example catalog must not fall back to ~/.orchestore of whoever runs the tests.
        "ORCHESTORE_CATALOG_URL": f"sqlite:///{catalog_db}.unused",
    }
    home = replace(airflow_home, env=env)
    return ExampleWorld(home, s3, container, moto_server, key_id, catalog_db)


def _prefix() -> str:
    return f"run-{os.urandom(4).hex()}"


def _blob_bytes(world: ExampleWorld, name: str) -> bytes:
    return world.blobs.download_blob(name).readall()


def _blob_names(world: ExampleWorld, prefix: str) -> list[str]:
    return sorted(blob.name for blob in world.blobs.list_blobs(name_starts_with=prefix))


def _assert_success(run: DagRun, tasks: dict[Any, str]) -> None:
    assert run.returncode == 0, run.tail()
    assert run.state == "success", run.tail()
    assert run.states == tasks, run.tail()


def test_example_dags_parse_without_errors_warnings_or_heavy_imports(world: ExampleWorld) -> None:
    result = world.home.python("-c", _PARSE_SCRIPT, str(EXAMPLE_DAGS), ",".join(_HEAVY))
    assert result.returncode == 0, result.stderr[-3000:]
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    assert parsed["import_errors"] == {}
    assert parsed["captured_warnings"] == {}
    assert set(parsed["dags"]) == EXAMPLE_DAG_IDS
    assert parsed["heavy"] == []


def test_s3_to_azure_copies_a_folder_with_existing_connection_types(world: ExampleWorld) -> None:
    prefix = _prefix()
    objects = {
        "cities.csv": CITIES_CSV,
        "nested/deeper/readings.json": b'{"sensor": 7, "values": [1, 2, 3]}\n',
        "blob.bin": os.urandom(3 * 1024 * 1024 + 17),  # several chunks, odd size
    }
    for name, data in objects.items():
        world.s3.put_object(Bucket=RAW_BUCKET, Key=f"{prefix}/{name}", Body=data)
    conf = {"src": f"s3://{RAW_BUCKET}/{prefix}/", "dst": f"az://{CONTAINER}/{prefix}/"}

    run = dags_test(world.home, "orchestore_s3_to_azure", conf)

    _assert_success(run, {"copy_folder": "success"})
    assert _blob_names(world, prefix) == sorted(f"{prefix}/{name}" for name in objects)
    for name, data in objects.items():
        assert _blob_bytes(world, f"{prefix}/{name}") == data, name
    summary = run.xcoms["copy_folder"]
    assert summary["objects"] == 3
    assert summary["skipped"] == 0
    assert summary["bytes"] == sum(len(data) for data in objects.values())
    assert summary["checksums_verified"] == 3
    assert summary["source"].startswith(f"s3://{RAW_BUCKET}/{prefix}")
    assert summary["destination"].startswith(f"az://{CONTAINER}/{prefix}")
    assert "Copied 3 object(s)" in run.output


def test_vault_backed_connection_reads_s3_with_keys_only_vault_holds(
    world: ExampleWorld, tmp_path: Path
) -> None:
    prefix = _prefix()
    report = os.urandom(64 * 1024)
    world.s3.put_object(Bucket=VAULT_BUCKET, Key=f"{prefix}/2026-11.bin", Body=report)
    out_dir = tmp_path / "reports"
    conf = {"src": f"ds://s3_vault/{prefix}/2026-11.bin", "dst": f"{out_dir}/"}

    # moto checks signatures and IAM policies: only the IAM user's keys (in Vault) work.
    with world.moto.enforcing_auth(), world.moto.recording() as requests:
        run = dags_test(world.home, "orchestore_vault_connection", conf)

    _assert_success(run, {"download_report": "success"})
    assert (out_dir / "2026-11.bin").read_bytes() == report
    assert sorted(p.name for p in out_dir.iterdir()) == ["2026-11.bin"]
    s3_requests = [r for r in requests if r.path.startswith(f"/{VAULT_BUCKET}")]
    assert s3_requests, "the task never reached S3"
    assert {r.access_key_id for r in s3_requests} == {world.vault_key_id}
    assert run.xcoms["download_report"]["objects"] == 1


def test_list_and_mapped_copy_makes_one_task_per_listed_csv(world: ExampleWorld) -> None:
    prefix = _prefix()
    objects = {"a.csv": b"x\n1\n", "b.csv": b"x\n2\n", "notes.txt": b"not a csv"}
    for name, data in objects.items():
        world.s3.put_object(Bucket=RAW_BUCKET, Key=f"{prefix}/{name}", Body=data)
    world.s3.put_object(Bucket=RAW_BUCKET, Key=f"{prefix}/sub/c.csv", Body=b"nested, not listed")
    conf = {"src": f"s3://{RAW_BUCKET}/{prefix}/", "dst": f"az://{CONTAINER}/{prefix}/"}

    run = dags_test(world.home, "orchestore_list_and_copy", conf)

    _assert_success(
        run, {"list_csv": "success", ("copy_csv", 0): "success", ("copy_csv", 1): "success"}
    )
    listed = [f"s3://{RAW_BUCKET}/{prefix}/a.csv", f"s3://{RAW_BUCKET}/{prefix}/b.csv"]
    assert run.xcoms["list_csv"] == listed
    assert _blob_names(world, prefix) == [f"{prefix}/a.csv", f"{prefix}/b.csv"]
    assert _blob_bytes(world, f"{prefix}/a.csv") == objects["a.csv"]
    assert _blob_bytes(world, f"{prefix}/b.csv") == objects["b.csv"]
    copied = {index: summary["source"] for index, summary in run.xcoms["copy_csv"].items()}
    assert sorted(copied.values()) == listed


def test_deferrable_sensor_defers_then_resumes_when_the_key_appears(world: ExampleWorld) -> None:
    prefix = _prefix()
    world.s3.put_object(Bucket=RAW_BUCKET, Key=f"{prefix}/data/part-0.csv", Body=CITIES_CSV)
    marker = f"{prefix}/_SUCCESS"
    conf = {
        "marker": f"s3://{RAW_BUCKET}/{marker}",
        "src": f"s3://{RAW_BUCKET}/{prefix}/data/",
        "dst": f"az://{CONTAINER}/{prefix}/",
    }

    process = start_dags_test(world.home, "orchestore_wait_for_key", conf)
    try:
        # The sensor found nothing and deferred; dags test now runs the trigger inline. The
        # marker appears only now, so the trigger must check (at least) twice.
        seen = wait_for_line(process, "running trigger in line", timeout=CLI_TIMEOUT)
        timer = threading.Timer(
            3.0, world.s3.put_object, kwargs={"Bucket": RAW_BUCKET, "Key": marker, "Body": b""}
        )
        timer.start()
        rest, _ = process.communicate(timeout=CLI_TIMEOUT)
        timer.join()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    run = read_run(
        world.home, "orchestore_wait_for_key", conf, process.returncode, "".join(seen) + rest
    )

    _assert_success(
        run, {"wait_for_marker": "success", "copy_folder": "success", "delete_marker": "success"}
    )
    assert run.xcoms["wait_for_marker"] == f"s3://{RAW_BUCKET}/{marker}"
    assert run.xcoms["delete_marker"] == f"s3://{RAW_BUCKET}/{marker}"
    listed = world.s3.list_objects_v2(Bucket=RAW_BUCKET, Prefix=f"{prefix}/")["Contents"]
    assert [obj["Key"] for obj in listed] == [f"{prefix}/data/part-0.csv"]  # marker consumed
    assert "Deferring: the triggerer checks every 2 s" in run.output
    assert _blob_bytes(world, f"{prefix}/part-0.csv") == CITIES_CSV
    found = [line for line in run.output.splitlines() if "found by the triggerer after" in line]
    assert found, run.tail()
    checks = int(found[0].split("found by the triggerer after ")[1].split()[0])
    assert checks >= 2, found[0]


def test_dataframe_transform_reads_csv_on_s3_and_writes_parquet_on_azure(
    world: ExampleWorld,
) -> None:
    import pandas as pd

    prefix = _prefix()
    world.s3.put_object(Bucket=RAW_BUCKET, Key=f"{prefix}/cities.csv", Body=CITIES_CSV)
    conf = {
        "src": f"s3://{RAW_BUCKET}/{prefix}/cities.csv",
        "dst": f"az://{CONTAINER}/{prefix}/warm.parquet",
        "min_temp_c": 15.0,
    }

    run = dags_test(world.home, "orchestore_dataframe_transform", conf)

    _assert_success(run, {"warm_cities": "success"})
    written = pd.read_parquet(io.BytesIO(_blob_bytes(world, f"{prefix}/warm.parquet")))
    expected = pd.DataFrame(
        {"city": ["Lima", "Pune"], "temp_c": [19.0, 31.25], "temp_f": [66.2, 88.25]}
    )
    pd.testing.assert_frame_equal(written, expected)
    assert run.xcoms["warm_cities"] == {
        "url": f"az://{CONTAINER}/{prefix}/warm.parquet",
        "rows": 2,
        "columns": 3,
    }
    assert _blob_names(world, prefix) == [f"{prefix}/warm.parquet"]


def test_log_artifact_records_a_version_and_the_next_task_reads_it(world: ExampleWorld) -> None:
    import hashlib

    prefix = _prefix()
    data = CITIES_CSV + f"Run,{len(prefix)}.0\n".encode()  # unique content per run
    world.s3.put_object(Bucket=RAW_BUCKET, Key=f"{prefix}/cities.csv", Body=data)
    tag = f"t{prefix.removeprefix('run-')}"
    conf = {"src": f"s3://{RAW_BUCKET}/{prefix}/cities.csv", "tag": tag}

    run = dags_test(world.home, "orchestore_log_artifact", conf)

    _assert_success(run, {"log_cities": "success", "count_rows": "success"})
    url = run.xcoms["log_cities"]
    assert url.startswith(f"store://artifacts/weather/cities.csv:{tag}^")
    assert run.xcoms["count_rows"] == 4
    # The catalog (its own SQLite file, read directly) holds the version and the tag...
    with closing(sqlite3.connect(world.catalog_db)) as db:
        rows = db.execute(
            "SELECT a.uid, a.target_path, a.size, a.hash FROM orchestore_artifacts a "
            "JOIN orchestore_artifact_tags t ON t.artifact_id = a.id WHERE t.tag = ?",
            (tag,),
        ).fetchall()
    assert len(rows) == 1
    uid, target, size, digest = rows[0]
    assert url.endswith(f"^{uid}")
    assert (size, digest) == (len(data), hashlib.sha256(data).hexdigest())
    # ...and the bytes sit in the artifact root on S3, content-addressed.
    assert target == f"s3://{ARTIFACT_BUCKET}/root/weather/cities.csv/{digest}.csv"
    body = world.s3.get_object(Bucket=ARTIFACT_BUCKET, Key=target.split("/", 3)[3])["Body"]
    assert body.read() == data
