"""8 processes logging 50 versions each into one catalog: every version present, tags right.

Run against a SQLite file (WAL + busy timeout) and against the PostgreSQL server the project's
machines run on 127.0.0.1:5432 (``ORCHESTORE_TEST_POSTGRES_URL`` overrides the URL). Each
PostgreSQL run uses a fresh schema, dropped afterwards, so runs never collide. Without a server
the PostgreSQL test skips with the reason, unless ``ORCHESTORE_REQUIRE_POSTGRES=1`` (CI), where
it fails.
"""

from __future__ import annotations

import multiprocessing
import os
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import orchestore
from orchestore.catalog import db

WORKERS = 8
VERSIONS = 50
POSTGRES_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _log_versions(catalog: str, root: str, worker: int, barrier: object) -> None:
    """One worker process: wait for the others, then log VERSIONS versions of one key."""
    barrier.wait()  # type: ignore[attr-defined]
    for n in range(VERSIONS):
        orchestore.log_artifact(
            "race",
            "shared.txt",
            f"worker {worker} version {n}".encode(),
            tag=f"w{worker}",
            labels={"worker": worker, "n": n},
            artifact_root=root,
            catalog=catalog,
        )


def _run_workers(catalog: str, root: Path) -> None:
    db.engine_for(catalog)  # create the schema once, then let the workers race on it
    # forkserver: the imports are paid once in the server, then every worker is a fresh fork
    # of it (no threads or connections inherited from this test process), as fast as fork.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    barrier = context.Barrier(WORKERS)
    processes = [
        context.Process(target=_log_versions, args=(catalog, str(root), worker, barrier))
        for worker in range(WORKERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0] * WORKERS


def _check_every_version(catalog: str, root: Path) -> None:
    records = orchestore.list_artifacts("race", "shared.txt", catalog=catalog)
    assert len(records) == WORKERS * VERSIONS
    assert len({r.uid for r in records}) == WORKERS * VERSIONS
    pairs = {(r.labels["worker"], r.labels["n"]) for r in records}
    assert pairs == {(w, n) for w in range(WORKERS) for n in range(VERSIONS)}
    assert len([p for p in root.rglob("*.txt") if p.is_file()]) == WORKERS * VERSIONS
    for worker in range(WORKERS):
        item = orchestore.get_dataitem(f"store://race/shared.txt:w{worker}", catalog=catalog)
        assert item.get() == f"worker {worker} version {VERSIONS - 1}".encode()
    latest = orchestore.list_artifacts("race", "shared.txt", tag="latest", catalog=catalog)
    assert len(latest) == 1 and latest[0].labels["n"] == VERSIONS - 1


def test_concurrent_processes_lose_no_version_in_sqlite(tmp_path: Path) -> None:
    catalog = f"sqlite:///{tmp_path / 'catalog.db'}"
    _run_workers(catalog, tmp_path / "root")
    _check_every_version(catalog, tmp_path / "root")


@pytest.fixture
def postgres_catalog() -> Iterator[str]:
    """A catalog URL in a fresh schema of the test PostgreSQL server; the schema is dropped."""
    import sqlalchemy

    base = os.environ.get("ORCHESTORE_TEST_POSTGRES_URL", POSTGRES_DEFAULT)
    schema = f"orchestore_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sqlalchemy.exc.OperationalError as exc:
        admin.dispose()
        reason = f"no PostgreSQL answers at {db.display_url(base)}: {type(exc.orig).__name__}"
        if os.environ.get("ORCHESTORE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"ORCHESTORE_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    options = urllib.parse.quote(f"-csearch_path={schema}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={options}"
    finally:
        db.reset_engines()
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def test_concurrent_processes_lose_no_version_in_postgres(
    postgres_catalog: str, tmp_path: Path
) -> None:
    _run_workers(postgres_catalog, tmp_path / "root")
    _check_every_version(postgres_catalog, tmp_path / "root")
