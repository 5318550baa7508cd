"""The store:// artifact catalog: tags, pins, dedup, listing, deletion, fsspec, S3 targets.

Every test gets its own SQLite catalog file and local artifact root (tmp_path), so tests never
share state; the S3 tests write the artifact root into the moto server's bucket.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import orchestore
from orchestore.catalog import db
from orchestore.catalog.models import SCHEMA_VERSION
from orchestore.errors import (
    CredentialsError,
    InvalidURLError,
    NotFoundError,
    ReadOnlyStoreError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from tests.servers.moto_server import MotoServer, admin_credentials


@pytest.fixture
def catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite catalog and local artifact root, also set as this process's defaults."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    monkeypatch.setenv(db.CATALOG_ENV, url)
    monkeypatch.setenv("ORCHESTORE_ARTIFACT_ROOT", str(tmp_path / "root"))
    for name in ("AIRFLOW_CTX_DAG_ID", "PREFECT__FLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    return url


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# -- tags, pins, iterations, trees ----------------------------------------------------------------
def test_latest_moves_and_named_tags_stay(catalog: str) -> None:
    first = orchestore.log_artifact("p", "model.bin", b"v1", tag="prod")
    orchestore.log_artifact("p", "model.bin", b"v2")
    assert orchestore.get_dataitem("store://p/model.bin").get() == b"v2"
    assert orchestore.get_dataitem("store://artifacts/p/model.bin:latest").get() == b"v2"
    assert orchestore.get_dataitem("store://p/model.bin:prod").get() == b"v1"
    assert orchestore.get_dataitem(first).get() == b"v1"


def test_retagging_moves_the_tag_and_a_pinned_uid_never_moves(catalog: str) -> None:
    pinned = orchestore.log_artifact("p", "k", b"one", tag="prod")
    orchestore.log_artifact("p", "k", b"two", tag="prod")
    item = orchestore.get_dataitem("store://p/k:prod")
    assert item.get() == b"two"
    assert item.meta.tags == ("latest", "prod")
    uid = pinned.rsplit("^", 1)[1]
    assert orchestore.get_dataitem(f"store://p/k^{uid}").get() == b"one"
    assert orchestore.get_dataitem(f"store://p/k^{uid}").meta.tags == ()
    # uid wins over the tag written beside it
    assert orchestore.get_dataitem(f"store://p/k:prod^{uid}").get() == b"one"
    # exactly one version per tag
    assert [r.uid for r in orchestore.list_artifacts("p", "k", tag="prod")] == [item.meta.uid]


def test_artifact_url_is_pinned_to_the_resolved_version(catalog: str) -> None:
    orchestore.log_artifact("p", "k", b"one")
    item = orchestore.get_dataitem("store://p/k")
    pinned = item.artifact_url
    assert pinned is not None and pinned.startswith("store://artifacts/p/k^")
    orchestore.log_artifact("p", "k", b"two")
    assert orchestore.get_dataitem(pinned).get() == b"one"
    assert item.get() == b"two"
    assert orchestore.get_dataitem("memory://x").meta is None


def test_iterations_trees_and_kinds(catalog: str) -> None:
    orchestore.log_artifact("p", "k", b"it0-t1", tree="t1")
    orchestore.log_artifact("p", "k", b"it2-t1", iteration=2, tree="t1", tag="best")
    orchestore.log_artifact("p", "k", b"it0-t2", tree="t2")
    orchestore.log_artifact("p", "k", b"model", kind="models")
    get = orchestore.get_dataitem
    assert get("store://p/k").get() == b"it0-t2"
    assert get("store://p/k#2").get() == b"it2-t1"
    assert get("store://p/k#2:best@t1").get() == b"it2-t1"
    assert get("store://p/k@t1").get() == b"it0-t1"
    assert get("store://models/p/k").get() == b"model"
    assert get("store://datasets/p/k").exists() is False
    with pytest.raises(NotFoundError, match="tag 'latest' in tree 't1'"):
        get("store://p/k:latest@t1").get()


def test_missing_artifact_names_project_key_and_tag(catalog: str) -> None:
    orchestore.log_artifact("p", "k", b"x")
    with pytest.raises(NotFoundError) as info:
        orchestore.get_dataitem("store://p/k:nope").get()
    message = str(info.value)
    assert "project 'p'" in message and "key 'k'" in message and "tag 'nope'" in message
    with pytest.raises(NotFoundError, match="key 'other'"):
        orchestore.get_dataitem("store://p/other").get()
    with pytest.raises(NotFoundError, match="uid 'abc'"):
        orchestore.get_dataitem("store://p/k^abc").get()


@pytest.mark.parametrize(
    ("arguments", "part"),
    [
        ({"project": "Bad_Project"}, "project 'Bad_Project'"),
        ({"key": "bad key"}, "key"),
        ({"tag": "bad tag"}, "tag 'bad tag'"),
        ({"kind": "things"}, "kind 'things'"),
        ({"tree": "no/slash"}, "malformed"),
    ],
)
def test_invalid_names_are_refused_before_anything_is_written(
    catalog: str, tmp_path: Path, arguments: dict[str, str], part: str
) -> None:
    call = {"project": "p", "key": "k", **arguments}
    with pytest.raises(InvalidURLError, match=part):
        orchestore.log_artifact(call.pop("project"), call.pop("key"), b"x", **call)
    assert _files(tmp_path / "root") == []


def test_exactly_one_source(catalog: str) -> None:
    with pytest.raises(TypeError, match="exactly one"):
        orchestore.log_artifact("p", "k")
    with pytest.raises(TypeError, match=r"\['data', 'target_url'\]"):
        orchestore.log_artifact("p", "k", b"x", target_url="/tmp/x")


# -- content addressing, dedup, deletion ------------------------------------------------------
def test_identical_content_is_stored_once(catalog: str, tmp_path: Path) -> None:
    source = tmp_path / "data.csv"
    source.write_bytes(b"a,b\n1,2\n")
    first = orchestore.log_artifact("p", "k", local_path=source)
    second = orchestore.log_artifact("p", "k", b"a,b\n1,2\n", format="csv")
    records = orchestore.list_artifacts("p", "k")
    assert len(records) == 2 and first != second
    assert records[0].target_path == records[1].target_path
    digest = records[0].hash
    assert records[0].target_path == str(tmp_path / "root" / "p" / "k" / f"{digest}.csv")
    assert _files(tmp_path / "root") == [Path(records[0].target_path)]
    assert records[0].size == 8 and records[0].format == "csv"


def test_delete_removes_bytes_only_when_no_version_shares_them(
    catalog: str, tmp_path: Path
) -> None:
    orchestore.log_artifact("p", "k", b"shared", tag="a")
    orchestore.log_artifact("p", "k", b"shared", tag="b")
    orchestore.log_artifact("p", "k", b"other", tag="c")
    root = tmp_path / "root"
    assert len(_files(root)) == 2
    assert orchestore.delete_artifact("p", "k", tag="a") == 1
    assert len(_files(root)) == 2  # "b" still records the shared bytes
    orchestore.delete_artifact("p", "k", tag="b")
    assert [f.read_bytes() for f in _files(root)] == [b"other"]
    assert orchestore.delete_artifact("p", "k") == 1
    assert _files(root) == []
    with pytest.raises(NotFoundError, match="key 'k'"):
        orchestore.delete_artifact("p", "k")


def test_untag_keeps_the_version(catalog: str) -> None:
    url = orchestore.log_artifact("p", "k", b"x", tag="prod")
    orchestore.delete_artifact("p", "k", tag="prod", tag_only=True)
    with pytest.raises(NotFoundError, match="tag 'prod'"):
        orchestore.get_dataitem("store://p/k:prod").get()
    assert orchestore.get_dataitem(url).get() == b"x"
    with pytest.raises(NotFoundError, match="tag 'prod'"):
        orchestore.delete_artifact("p", "k", tag="prod", tag_only=True)


def test_target_url_registers_without_copying_and_delete_keeps_it(
    catalog: str, tmp_path: Path
) -> None:
    existing = tmp_path / "existing.parquet"
    existing.write_bytes(b"PAR1...")
    url = orchestore.log_artifact("p", "k", target_url=str(existing), labels={"src": "ext"})
    record = orchestore.get_dataitem(url).meta
    assert record.target_path == str(existing) and record.size == 7 and not record.owned
    assert record.format == "parquet"
    assert _files(tmp_path / "root") == []
    orchestore.delete_artifact("p", "k")
    assert existing.read_bytes() == b"PAR1..."


def test_target_url_with_a_signature_is_refused(catalog: str) -> None:
    with pytest.raises(CredentialsError, match="without credentials") as info:
        orchestore.log_artifact(
            "p", "k", target_url="https://example.invalid/f.csv?sig=s3cr3t-value"
        )
    assert "s3cr3t-value" not in str(info.value)


def test_dataframe_is_logged_as_parquet(catalog: str) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    url = orchestore.log_artifact("p", "table", df=frame)
    item = orchestore.get_dataitem(url)
    assert item.meta.format == "parquet" and item.meta.target_path.endswith(".parquet")
    assert item.as_df(format="parquet").equals(frame)


# -- DataItem operations on store:// --------------------------------------------------------------
def test_put_and_open_write_log_new_versions(catalog: str) -> None:
    item = orchestore.get_dataitem("store://p/notes.txt:draft")
    item.put("first")
    with item.open("w") as handle:
        handle.write("second")
    with pytest.raises(RuntimeError), item.open("wb") as raw:
        raw.write(b"never logged")
        raise RuntimeError("boom")
    versions = orchestore.list_artifacts("p", "notes.txt")
    assert len(versions) == 2
    assert item.get() == b"second" and item.meta.tags == ("draft", "latest")
    assert item.stat().size == 6 and item.stat().url == "store://artifacts/p/notes.txt:draft"
    with pytest.raises(InvalidURLError, match="pinned"):
        orchestore.get_dataitem(f"store://p/notes.txt^{versions[0].uid}").put("x")
    with pytest.raises(UnsupportedOperationError):
        item.put("x", append=True)


def test_listdir_lists_keys_and_list_artifacts_filters(catalog: str) -> None:
    orchestore.log_artifact("p", "b.csv", b"1", labels={"stage": "raw"})
    orchestore.log_artifact("p", "a.csv", b"2", labels={"stage": "clean", "team": "x"})
    orchestore.log_artifact("p", "a.csv", b"3", labels={"stage": "clean"})
    orchestore.log_artifact("q", "c.csv", b"4")
    orchestore.log_artifact("p", "m", b"5", kind="models")
    assert orchestore.get_dataitem("store://artifacts/p/").listdir() == ["a.csv", "b.csv"]
    assert orchestore.get_dataitem("store://models/p/").listdir() == ["m"]
    stats = orchestore.get_dataitem("store://artifacts/p/").ls(detail=True)
    assert [(s.url, s.size) for s in stats] == [  # type: ignore[union-attr]
        ("store://artifacts/p/a.csv", 1),
        ("store://artifacts/p/b.csv", 1),
    ]
    assert len(orchestore.list_artifacts("p")) == 4
    assert len(orchestore.list_artifacts("p", kind="artifacts")) == 3
    clean = orchestore.list_artifacts("p", labels={"stage": "clean"})
    assert [r.labels for r in clean] == [{"stage": "clean", "team": "x"}, {"stage": "clean"}]
    assert [r.key for r in orchestore.list_artifacts("p", tag="latest")] == ["b.csv", "a.csv", "m"]
    with pytest.raises(InvalidURLError, match="project folder"):
        orchestore.get_dataitem("store://p/a.csv").listdir()


def test_delete_through_the_dataitem(catalog: str) -> None:
    orchestore.log_artifact("p", "k", b"old", tag="v1")
    orchestore.log_artifact("p", "k", b"new")
    orchestore.get_dataitem("store://p/k").delete()
    assert orchestore.get_dataitem("store://p/k:v1").get() == b"old"
    assert orchestore.get_dataitem("store://p/k").exists() is False


def test_producer_from_the_airflow_task_context(
    catalog: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "etl")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_RUN_ID", "manual__2026-01-01T00:00:00+00:00")
    monkeypatch.setenv("AIRFLOW_CTX_TASK_ID", "train")
    url = orchestore.log_artifact("p", "k", b"x")
    record = orchestore.get_dataitem(url).meta
    assert record.producer == "etl/manual__2026-01-01T00:00:00+00:00/train"
    assert record.tree is not None and len(record.tree) == 32
    assert orchestore.get_dataitem(f"store://p/k@{record.tree}").get() == b"x"


# -- processes, schema, import cost ---------------------------------------------------------------
def _run(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_url_logged_in_one_process_resolves_in_another(catalog: str, tmp_path: Path) -> None:
    env = {db.CATALOG_ENV: catalog, "ORCHESTORE_ARTIFACT_ROOT": str(tmp_path / "root")}
    url = _run("import orchestore; print(orchestore.log_artifact('p', 'k', b'hi'))", env)
    assert orchestore.get_dataitem(url).get() == b"hi"
    code = f"import orchestore; print(orchestore.get_dataitem({url!r}).get().decode())"
    assert _run(code, env) == "hi"


def test_import_orchestore_does_not_import_sqlalchemy() -> None:
    code = """
        import sys, orchestore
        assert callable(orchestore.get_dataitem)
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'psycopg')
                     or m.startswith('orchestore.catalog')))
    """
    assert _run(code, {}) == "[]"
    assert _run("import orchestore; print(orchestore.log_artifact.__module__)", {}) == (
        "orchestore.catalog.api"
    )


def test_schema_version_is_recorded_and_a_newer_one_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = db.engine_for(url)
    with engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version FROM orchestore_schema").scalar()
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert (version, mode, timeout) == (SCHEMA_VERSION, "wal", db.BUSY_TIMEOUT_MS)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE orchestore_schema SET version = 99")
    db.reset_engines()
    with pytest.raises(UnsupportedOperationError, match="schema version 99"):
        db.engine_for(url)


def test_default_catalog_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(db.CATALOG_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert db.catalog_url() == f"sqlite:///{tmp_path}/.orchestore/catalog.db"
    monkeypatch.setenv(db.CATALOG_ENV, "postgresql+psycopg://u:pw@h/db")
    assert db.catalog_url() == "postgresql+psycopg://u:pw@h/db"
    assert "pw" not in db.display_url(db.catalog_url())


# -- fsspec -------------------------------------------------------------------------------------
def test_pandas_reads_store_urls_through_fsspec(catalog: str) -> None:
    pd = pytest.importorskip("pandas")
    import fsspec

    orchestore.log_artifact("p", "k", b"a,b\n1,2\n", format="csv", tag="v1")
    orchestore.log_artifact("p", "k", b"a,b\n3,4\n", format="csv")
    assert pd.read_csv("store://artifacts/p/k:latest")["a"].tolist() == [3]
    assert pd.read_csv("store://p/k:v1")["a"].tolist() == [1]
    fs = fsspec.filesystem("store")
    assert fs.ls("store://artifacts/p/", detail=False) == ["artifacts/p/k"]
    assert fs.info("store://p/k:v1")["size"] == 8
    assert fs.cat_file("store://p/k:v1") == b"a,b\n1,2\n"
    with pytest.raises(ReadOnlyStoreError):
        fs.pipe_file("store://p/k", b"x")
    with pytest.raises(ReadOnlyStoreError), fs.open("store://p/k", "wb"):
        pass
    with pytest.raises(FileNotFoundError):
        fs.info("store://p/missing")


# -- S3 targets on the moto server ----------------------------------------------------------------
def test_resolution_through_to_an_s3_target(
    catalog: str, moto_server: MotoServer, moto_bucket: str
) -> None:
    credentials = admin_credentials(moto_server)
    root = f"s3://{moto_bucket}/artifacts-{os.urandom(4).hex()}"
    url = orchestore.log_artifact(
        "p", "data.csv", b"a\n1\n", artifact_root=root, credentials=credentials
    )
    again = orchestore.log_artifact(
        "p", "data.csv", b"a\n1\n", artifact_root=root, credentials=credentials, tag="copy"
    )
    record = orchestore.get_dataitem(url, credentials).meta
    assert record.target_path == f"{root}/p/data.csv/{record.hash}.csv"
    prefix = root.removeprefix(f"s3://{moto_bucket}/")
    listed = moto_server.client().list_objects_v2(Bucket=moto_bucket, Prefix=prefix)
    assert [o["Key"] for o in listed["Contents"]] == [f"{prefix}/p/data.csv/{record.hash}.csv"]
    item = orchestore.get_dataitem("store://p/data.csv:copy", credentials=credentials)
    assert item.get() == b"a\n1\n" and item.as_df()["a"].tolist() == [1]
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(url, storage_options={"credentials": credentials})
    assert frame["a"].tolist() == [1]
    assert orchestore.get_dataitem(again, credentials).meta.target_path == record.target_path
    # the catalog holds no credentials: without them the S3 store fails closed
    with pytest.raises(CredentialsError):
        orchestore.get_dataitem(url).get()
    orchestore.delete_artifact("p", "data.csv", credentials=credentials)
    assert "Contents" not in moto_server.client().list_objects_v2(Bucket=moto_bucket, Prefix=prefix)


def test_an_unreachable_or_malformed_catalog_is_a_typed_error(catalog: str) -> None:
    down = "postgresql+psycopg://postgres:pg-s3cr3t@127.0.0.1:1/test"
    with pytest.raises(StoreUnavailableError, match="artifact catalog") as info:
        orchestore.list_artifacts("p", catalog=down)
    assert "pg-s3cr3t" not in str(info.value) and "***" in str(info.value)
    with pytest.raises(InvalidURLError, match="catalog URL"):
        orchestore.list_artifacts("p", catalog="not a url")


def test_as_df_of_a_key_without_suffix_reads_the_stored_format(tmp_path: Path) -> None:
    catalog = f"sqlite:///{tmp_path / 'suffixless.db'}"
    frame = pd.DataFrame({"a": [1, 2, 3]})
    orchestore.log_artifact(
        "p", "frame", df=frame, artifact_root=f"file://{tmp_path}/root", catalog=catalog
    )
    pd.testing.assert_frame_equal(
        orchestore.get_dataitem("store://p/frame", catalog=catalog).as_df(), frame
    )
