"""One engine per catalog URL (per process), with the schema migrated on first use.

SQLite is the default: a file that many Airflow task processes write at once, so every
connection runs in WAL mode with a busy timeout, and every transaction starts with
``BEGIN IMMEDIATE`` (a writer waits for the lock up front instead of failing when a read
transaction tries to upgrade). Other databases (PostgreSQL for shared deployments) serialise
the first-use migration with an advisory lock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from orchestore.catalog.models import SCHEMA_VERSION, Base, SchemaVersion
from orchestore.errors import InvalidURLError, StoreUnavailableError, UnsupportedOperationError

__all__ = [
    "CATALOG_ENV",
    "catalog_url",
    "display_url",
    "engine_for",
    "reset_engines",
    "session",
]

#: the environment variable naming the catalog database (a SQLAlchemy URL)
CATALOG_ENV: Final = "ORCHESTORE_CATALOG_URL"
#: milliseconds a SQLite writer waits for the lock before giving up
BUSY_TIMEOUT_MS: Final = 60_000
#: an arbitrary, fixed key for PostgreSQL's advisory lock around migrations
_PG_LOCK_KEY: Final = 0x6F72636873746F72

_ENGINES: dict[tuple[int, str], Engine] = {}
_LOCK = threading.Lock()


def catalog_url(url: str | None = None) -> str:
    """The catalog to use: ``url``, else ``ORCHESTORE_CATALOG_URL``, else the SQLite default."""
    chosen = url or os.environ.get(CATALOG_ENV)
    if chosen:
        return chosen
    path = Path.home() / ".orchestore" / "catalog.db"
    return f"sqlite:///{path}"


def display_url(url: str) -> str:
    """The catalog URL for messages: the password replaced."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable catalog URL>"


def engine_for(url: str | None = None) -> Engine:
    """The process's engine for this catalog, its schema created or migrated on first use.

    Engines are per process id: a forked worker must not reuse its parent's connections.
    """
    resolved = catalog_url(url)
    key = (os.getpid(), resolved)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _create(resolved)
            _migrate(engine, resolved)
            _ENGINES[key] = engine
        return engine


@contextmanager
def session(url: str | None = None, *, write: bool = False) -> Iterator[Session]:
    """A session on the catalog (in a transaction when ``write``); a database that fails or
    stays locked past the busy timeout is a StoreUnavailableError naming the catalog."""
    engine = engine_for(url)
    try:
        with Session(engine) as current:
            if write:
                with current.begin():
                    yield current
            else:
                yield current
    except OperationalError as exc:
        raise _unavailable(catalog_url(url), exc) from None


def reset_engines() -> None:
    """Dispose every engine of this process (tests, and before a fork)."""
    with _LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for engine in engines:
        engine.dispose()


def _create(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidURLError(
            f"the catalog URL is not a SQLAlchemy URL (check {CATALOG_ENV} or catalog=)"
        ) from None
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """WAL + busy timeout on every connection; BEGIN IMMEDIATE on every transaction."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


#: version -> the step that brings the schema from version - 1 to it
MIGRATIONS: Final[dict[int, Callable[[Connection], None]]] = {
    1: lambda connection: Base.metadata.create_all(connection),
}


def _migrate(engine: Engine, url: str) -> None:
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            current = _current_version(connection)
            if current > SCHEMA_VERSION:
                raise UnsupportedOperationError(
                    f"the catalog {display_url(url)} has schema version {current}; this "
                    f"orchestore knows up to {SCHEMA_VERSION}: upgrade orchestore"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](connection)
            if current != SCHEMA_VERSION:
                _record_version(connection, current)
    except OperationalError as exc:
        raise _unavailable(url, exc) from None


def _unavailable(url: str, exc: OperationalError) -> StoreUnavailableError:
    # The driver's message, not the statement: parameters could hold labels or paths.
    reason = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
    return StoreUnavailableError(f"the artifact catalog {display_url(url)} failed: {reason}")


def _current_version(connection: Connection) -> int:
    if not inspect(connection).has_table(SchemaVersion.__tablename__):
        return 0
    row = connection.execute(select(SchemaVersion.version).where(SchemaVersion.id == 1)).first()
    return row[0] if row is not None else 0


def _record_version(connection: Connection, current: int) -> None:
    table = SchemaVersion.__table__
    if current == 0:
        connection.execute(table.insert().values(id=1, version=SCHEMA_VERSION))
    else:
        connection.execute(table.update().where(table.c.id == 1).values(version=SCHEMA_VERSION))
