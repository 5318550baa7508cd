"""examples/prefect runs for real, so the examples cannot rot.

``run_demo.run_demo`` (what ``run_demo.py`` runs after starting its own servers) runs here
against the session's servers and Prefect harness; its results are checked with the raw SDKs.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

if importlib.util.find_spec("prefect") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the prefect virtual environment (.venv/prefect)", allow_module_level=True)

from examples.prefect.run_demo import DemoServers, run_demo

from tests.servers.azurite import AzuriteServer
from tests.servers.moto_server import ADMIN_SECRET, MotoServer
from tests.servers.openbao import OpenBaoServer

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


def test_prefect_examples_run(
    moto_server: MotoServer,
    moto_bucket: str,
    azurite: AzuriteServer,
    azurite_container: str,
    azurite_blob_client: object,
    openbao: OpenBaoServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    servers = DemoServers(moto_server, azurite, openbao, moto_bucket, azurite_container)

    outcome = run_demo(servers)

    s3 = moto_server.client()
    # 1. five CSV files copied s3 -> az, byte for byte.
    copies = outcome["copy"]
    assert len(copies) == 5
    container = azurite_blob_client.get_container_client(azurite_container)  # type: ignore[attr-defined]
    for summary in copies:
        source_key = summary["source"].removeprefix(f"s3://{moto_bucket}/")
        blob_name = summary["destination"].removeprefix(f"az://{azurite_container}/")
        data = s3.get_object(Bucket=moto_bucket, Key=source_key)["Body"].read()
        assert data.startswith(b"day,hour,n\n")
        assert container.download_blob(blob_name).readall() == data
        assert summary["checksums_verified"] == 1
    # 2. the Vault-only flow wrote its report to s3.
    vault = outcome["vault"]
    key = vault["url"].removeprefix(f"s3://{moto_bucket}/")
    report = s3.get_object(Bucket=moto_bucket, Key=key)["Body"].read().decode()
    assert report == vault["read"]
    assert report.startswith("written by a Prefect flow at ")
    assert vault["listed"] == [vault["url"]]
    # 3. the second run read the first run's result from the DataStore.
    results = outcome["results"]
    assert results["second"] == results["first"]
    assert results["first"]["total"] == 31
    assert len(results["stored"]) >= 1
    printed = capsys.readouterr().out
    assert "second run read the stored result" in printed
    assert ADMIN_SECRET not in printed
