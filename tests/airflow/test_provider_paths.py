"""ObjectStoragePath, asset URIs, http and store:// through connections, in real Airflow.

``ObjectStoragePath("v3io:///...", conn_id=...)`` writes and reads through our filesystem
module (checked on the v3io server's disk); ``store://`` paths read the catalog a connection
names; Asset URIs of our schemes are normalised by our handlers and bad ones are refused.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from pathlib import Path

import pytest

from tests.airflow.harness import AirflowHome
from tests.airflow.provider_support import assert_no_errors, conn_env, run_ops
from tests.conftest import HTTP_PASSWORD, HTTP_TOKEN, HTTP_USER
from tests.servers.http_server import HttpFileServer
from tests.servers.v3io_server import V3IO_ACCESS_KEY, V3ioServer

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow


def test_object_storage_path_store_urls_and_assets(
    airflow_home: AirflowHome,
    v3io_server: V3ioServer,
    auth_http_server: HttpFileServer,
    http_root: Path,
    tmp_path: Path,
) -> None:
    run = uuid.uuid4().hex[:8]
    (http_root / f"page-{run}.txt").write_text("served over http")
    artifacts = f"v3io:///bigdata/artifacts-{run}/"
    env = {
        **conn_env("osp_v3io", "v3io", host=v3io_server.api_url, schema="bigdata",
                   password=V3IO_ACCESS_KEY),
        # the http store refuses internal addresses unless the connection allows them
        **conn_env("web_basic", "http", host=auth_http_server.base_url, login=HTTP_USER,
                   password=HTTP_PASSWORD, extra={"allowed_hosts": "127.0.0.1"}),
        **conn_env("web_token", "http", host=auth_http_server.base_url,
                   extra={"token": HTTP_TOKEN, "X-Trace": "abc", "allowed_hosts": ["127.0.0.1"]}),
        **conn_env("web_anonymous", "http", host=auth_http_server.base_url,
                   extra={"allowed_hosts": "127.0.0.1"}),
        # written the way Airflow writes our types in URIs/JSON: '-' becomes '_'
        **conn_env("catalog", "orchestorecatalog", host=f"sqlite:///{tmp_path / 'cat.db'}",
                   extra={"artifact_root": artifacts, "artifact_conn_id": "osp_v3io",
                          "root": "store://artifacts/lake/"}),
    }  # fmt: skip
    page = f"page-{run}.txt"
    ops = [
        {"op": "object_storage_path", "conn_id": "osp_v3io",
         "url": f"v3io:///bigdata/osp-{run}/note.txt", "text": "written by ObjectStoragePath"},
        {"op": "hook_credentials", "conn_id": "web_basic", "url": "https://example.org/x"},
        {"op": "hook_credentials", "conn_id": "web_token", "url": "http://example.org/x"},
        {"op": "roundtrip", "conn_id": "catalog", "url": f"store://artifacts/lake/{run}.txt",
         "data": "an artifact"},
        {"op": "object_storage_read", "conn_id": "catalog",
         "url": f"store://artifacts/lake/{run}.txt"},
        {"op": "resolve", "url": f"ds://web_basic/{page}"},
        {"op": "asset", "uri": "v3io:///bigdata/sales/2026/"},
        {"op": "asset", "uri": "v3io://bigdata/sales/2026"},
        {"op": "asset", "uri": "V3IOS://webapi.example.com:8443/bigdata/x"},
        {"op": "asset", "uri": "store://lake/model:v2"},
    ]  # fmt: skip
    reads = [
        {"op": "read", "conn_id": conn_id, "url": f"ds://{conn_id}/{page}"}
        for conn_id in ("web_basic", "web_token", "web_anonymous")
    ]
    refused = [
        {"op": "asset", "uri": "v3io:///"},
        {"op": "asset", "uri": "v3io:///bigdata/../secrets"},
        {"op": "asset", "uri": "store://artifacts/lake/"},
        {"op": "asset", "uri": "store://artifacts/Bad_Project/key"},
        {"op": "resolve", "url": "ds://osp_v3io/../users/x"},
        {"op": "resolve", "url": "ds:///no-connection"},
    ]
    results = run_ops(airflow_home, env, ops + reads + refused)
    assert_no_errors(ops, results[: len(ops)])
    osp, basic, token, artifact, artifact_osp, resolved, *assets = results[: len(ops)]

    assert osp["fs"] == "V3ioFileSystem" and osp["read"] == "written by ObjectStoragePath"
    assert osp["path_class"] == "V3ioPath" and osp["warnings"] == []  # no fallback warning
    # Airflow's form of a path with a connection; parsed back, it finds the connection again.
    assert osp["str"] == f"v3io://osp_v3io@bigdata/osp-{run}/note.txt"
    assert osp["reparsed_read"] == osp["read"] and osp["listed"] == ["note.txt"]
    on_disk = v3io_server.container_path("bigdata") / f"osp-{run}" / "note.txt"
    assert on_disk.read_text() == "written by ObjectStoragePath"

    assert basic["fields"]["username"] == HTTP_USER
    assert set(token["fields"]) >= {"token", "headers"}
    assert set(token["fields"]["headers"]) == {"X-Trace"}

    assert artifact["read"] == "an artifact" and f"{run}.txt" in artifact["listed"]
    stored = list((v3io_server.container_path("bigdata") / f"artifacts-{run}").rglob("*"))
    assert [p.read_text() for p in stored if p.is_file()] == ["an artifact"]
    assert artifact_osp == {"read": "an artifact", "fs": "ArtifactFileSystem"}

    assert resolved["url"] == f"{auth_http_server.base_url}/{page}"
    assert [a["uri"] for a in assets] == [
        "v3io://bigdata/sales/2026",
        "v3io://bigdata/sales/2026",
        "v3ios://webapi.example.com:8443/bigdata/x",
        "store://artifacts/lake/model:v2",
    ]

    read_results = results[len(ops) : len(ops) + len(reads)]
    assert read_results[0] == {"read": "served over http"}
    assert read_results[1] == {"read": "served over http"}
    assert read_results[2]["error"] == "CredentialsError"  # the server wants auth
    for result in results[len(ops) + len(reads) :]:
        assert result.get("error") in ("ValueError", "InvalidURLError"), result
    for result in results:
        assert HTTP_PASSWORD not in repr(result) and V3IO_ACCESS_KEY not in repr(result)
