"""Run one example DAG end to end on this machine: S3 (moto) -> Azure Blob (Azurite) in Airflow.

    .venv/airflow/bin/python examples/airflow/run_demo.py

(Any other interpreter re-runs this script with ``.venv/airflow/bin/python``.) It starts a
local S3 server and Azurite on free ports, fills an S3 folder, makes a throwaway
AIRFLOW_HOME with a migrated SQLite DB, gives Airflow two connections as AIRFLOW_CONN_* JSON
(``aws_raw`` of type ``aws``, ``wasb_landing`` of type ``wasb``), runs
``airflow dags test orchestore_s3_to_azure`` (examples/airflow/dags/s3_to_azure.py), then
checks with the Azure SDK that every object arrived byte for byte. Everything it started is
stopped and removed at the end. Exit code 0 when the copy is complete and identical.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_PYTHON = REPO / ".venv" / "airflow" / "bin" / "python"
DAG_ID = "orchestore_s3_to_azure"
BUCKET = "raw"
CONTAINER = "landing"
FOLDER = "daily/2026-11-25"
#: what the demo puts in S3: key below FOLDER -> bytes
OBJECTS = {
    "cities.csv": b"city,temp_c\nOslo,4.5\nLima,19.0\nPune,31.25\n",
    "readings/station-7.json": b'{"station": 7, "values": [3.5, 4.0, 4.25]}\n',
    "raw/blob.bin": os.urandom(5 * 1024 * 1024 + 3),
}
#: lines of the task log worth showing (our operator's own lines)
_SHOWN = ("Copying ", "copied ", "Copied ", "[DAG TEST] end task", "DagRun Finished")


def _in_airflow_venv() -> None:
    """Re-run with the Airflow virtual environment's interpreter unless this is it."""
    # find_spec, not import: importing airflow here would configure its logging in this process
    if importlib.util.find_spec("airflow") is None:
        if not AIRFLOW_PYTHON.exists():
            sys.exit(f"needs Airflow: create {AIRFLOW_PYTHON.parent.parent} first (make venvs)")
        argv = [str(AIRFLOW_PYTHON), __file__, *sys.argv[1:]]
        os.execv(argv[0], argv)  # noqa: S606 - our own venv's interpreter, no shell needed


def main() -> int:
    _in_airflow_venv()
    sys.path.insert(0, str(REPO))
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDK logs every request at INFO
    from tests.airflow.dag_runs import read_run
    from tests.airflow.examples_env import EXAMPLE_DAGS, S3Endpoint, example_connections
    from tests.airflow.harness import AirflowHome, airflow_env
    from tests.servers import moto_server as moto
    from tests.servers.azurite import AzuriteServer

    with tempfile.TemporaryDirectory(prefix="orchestore-airflow-demo-") as work:
        workdir = Path(work)
        (workdir / "moto").mkdir()
        step("starting a local S3 server (moto) and Azurite")
        with moto.MotoServer(workdir / "moto") as s3_server, AzuriteServer() as azurite:
            print(f"   S3    {s3_server.endpoint_url}\n   Azure {azurite.blob_endpoint}")
            s3 = s3_server.client()
            s3.create_bucket(Bucket=BUCKET)
            for name, data in OBJECTS.items():
                s3.put_object(Bucket=BUCKET, Key=f"{FOLDER}/{name}", Body=data)
            print(f"   put {len(OBJECTS)} objects in s3://{BUCKET}/{FOLDER}/")
            from azure.storage.blob import BlobServiceClient

            with BlobServiceClient.from_connection_string(azurite.connection_string) as blobs:
                container = blobs.create_container(CONTAINER)

                home = workdir / "airflow"
                home.mkdir()
                connections = example_connections(
                    S3Endpoint(s3_server.endpoint_url, moto.ADMIN_KEY_ID, moto.ADMIN_SECRET),
                    azurite.connection_string,
                )
                env = {
                    **airflow_env(home),
                    **connections,
                    "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
                }
                airflow = AirflowHome(home, env)
                print("   connections: " + ", ".join(sorted(connections)))

                step(f"migrating a throwaway Airflow metadata DB in {home}")
                check(airflow.run("db", "migrate"), "airflow db migrate")

                conf = {"src": f"s3://{BUCKET}/{FOLDER}/", "dst": f"az://{CONTAINER}/{FOLDER}/"}
                step(f"airflow dags test {DAG_ID} -c '{json.dumps(conf)}'")
                started = time.monotonic()
                result = airflow.run("dags", "test", DAG_ID, "-c", json.dumps(conf))
                output = result.stdout + result.stderr
                for line in output.splitlines():
                    if any(marker in line for marker in _SHOWN):
                        print("   | " + line[:160])
                print(f"   exit code {result.returncode} after {time.monotonic() - started:.1f} s")
                run = read_run(airflow, DAG_ID, conf, result.returncode, output)
                if run.state != "success":
                    print(run.tail())
                    return 1
                print("   XCom summary: " + json.dumps(run.xcoms.get("copy_folder")))

                step("checking the copies with the Azure SDK")
                return _compare(container)


def _compare(container: object) -> int:
    """Every demo object in Azure, byte-identical; returns the exit code."""
    bad = 0
    for name, data in OBJECTS.items():
        blob = f"{FOLDER}/{name}"
        copied = container.download_blob(blob).readall()  # type: ignore[attr-defined]
        same = copied == data
        bad += not same
        verdict = "identical" if same else "DIFFERENT"
        print(f"   az://{CONTAINER}/{blob:<40} {len(copied):>9} bytes  {verdict}")
    print("done: the DAG copied every object" if not bad else f"{bad} object(s) differ")
    return 1 if bad else 0


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        sys.exit(f"{what} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


if __name__ == "__main__":
    sys.exit(main())
