"""log_artifact / list_artifacts / delete_artifact / resolve: the catalog's public calls.

Every call takes ``catalog=`` (a SQLAlchemy URL); without it ``ORCHESTORE_CATALOG_URL``, else
``~/.orchestore/catalog.db``. A version is immutable; tags move. Every new version also
becomes ``latest`` of its key (as in MLRun), besides the tag it is logged with.
"""

from __future__ import annotations

import hashlib
import os
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from orchestore import dataframes
from orchestore.catalog import content, db
from orchestore.catalog.models import Artifact, Tag
from orchestore.credentials.base import CredentialsModel
from orchestore.errors import InvalidURLError, NotFoundError
from orchestore.items import get_dataitem
from orchestore.urls import ArtifactRef, StoreURL, parse_url

__all__ = [
    "ArtifactRecord",
    "delete_artifact",
    "latest_per_key",
    "list_artifacts",
    "log_artifact",
    "resolve",
]

Credentials = CredentialsModel | dict[str, Any] | None
_AIRFLOW_CONTEXT = ("AIRFLOW_CTX_DAG_ID", "AIRFLOW_CTX_DAG_RUN_ID", "AIRFLOW_CTX_TASK_ID")


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """One artifact version as the catalog records it (``DataItem.meta``)."""

    project: str
    kind: str
    key: str
    iteration: int
    uid: str
    target_path: str
    tree: str | None = None
    producer: str | None = None
    tags: tuple[str, ...] = ()
    size: int | None = None
    hash: str | None = None
    format: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    created: datetime | None = None
    owned: bool = False

    @property
    def url(self) -> str:
        """The store:// URL pinned to this version (by uid): it never moves."""
        return str(
            ArtifactRef(self.project, self.key, self.kind, self.iteration or None, uid=self.uid)
        )


def log_artifact(
    project: str,
    key: str,
    data: bytes | str | None = None,
    *,
    local_path: str | os.PathLike[str] | None = None,
    df: Any = None,
    target_url: str | None = None,
    tag: str = "latest",
    kind: str = "artifacts",
    iteration: int = 0,
    tree: str | None = None,
    artifact_root: str | None = None,
    credentials: Credentials = None,
    labels: dict[str, Any] | None = None,
    format: str | None = None,
    description: str | None = None,
    catalog: str | None = None,
) -> str:
    """Store the bytes (once per content) below the artifact root, record a version, return
    its ``store://`` URL (tag and uid). ``target_url=`` registers existing data as is.

    Exactly one of ``data``, ``local_path``, ``df``, ``target_url``. ``credentials`` are the
    artifact root's (or the target's), used to write and stat, and never recorded.
    """
    producer = _producer()
    tree = tree or (hashlib.sha256(producer.encode()).hexdigest()[:32] if producer else None)
    ref = _checked_ref(kind, project, key, iteration, tag, tree)
    stored, fmt = _content(
        ref, data, local_path, df, target_url, format, artifact_root, credentials
    )
    values = {
        "project": project,
        "kind": kind,
        "key": key,
        "iteration": iteration,
        "tree": tree,
        "producer": producer,
        "uid": uuid.uuid4().hex,
        "target_path": stored.target,
        "owned": target_url is None,
        "size": stored.size,
        "hash": stored.sha256 or None,
        "format": fmt or dataframes.FORMATS.get(PurePosixPath(stored.target).suffix.lower()),
        "labels": dict(labels or {}),
        "description": description,
        "created": datetime.now(UTC),
    }
    _record(catalog, values, {tag, "latest"})
    return str(ArtifactRef(project, key, kind, iteration or None, tag=tag, uid=values["uid"]))


def resolve(url: str | StoreURL | ArtifactRef, *, catalog: str | None = None) -> ArtifactRecord:
    """The version a store:// URL names: by uid, else by tag (default ``latest``), else tree.

    NotFoundError names the project, key and the tag (or uid/tree) that matched nothing.
    """
    ref = url if isinstance(url, ArtifactRef) else _artifact_of(parse_url(url))
    with db.session(catalog) as session:
        row = session.execute(_version_query(ref)).scalars().first()
        if row is None:
            raise NotFoundError(_missing(ref), url=str(ref))
        return _to_record(session, row)


def list_artifacts(
    project: str,
    key: str | None = None,
    tag: str | None = None,
    labels: dict[str, Any] | None = None,
    *,
    kind: str | None = None,
    catalog: str | None = None,
) -> list[ArtifactRecord]:
    """Every version of the project (of ``key``; carrying ``tag``; with all ``labels``), oldest
    first."""
    query = select(Artifact).where(Artifact.project == project).order_by(Artifact.id)
    if key is not None:
        query = query.where(Artifact.key == key)
    if kind is not None:
        query = query.where(Artifact.kind == kind)
    if tag is not None:
        query = query.join(Tag, Tag.artifact_id == Artifact.id).where(Tag.tag == tag)
    with db.session(catalog) as session:
        records = [_to_record(session, row) for row in session.execute(query).scalars()]
    wanted = dict(labels or {})
    return [r for r in records if all(r.labels.get(k) == v for k, v in wanted.items())]


def latest_per_key(project: str, kind: str, *, catalog: str | None = None) -> list[ArtifactRecord]:
    """The newest version of every key of a project and kind, sorted by key."""
    newest = (
        select(func.max(Artifact.id))
        .where(Artifact.project == project, Artifact.kind == kind)
        .group_by(Artifact.key)
    )
    query = select(Artifact).where(Artifact.id.in_(newest)).order_by(Artifact.key)
    with db.session(catalog) as session:
        return [_to_record(session, row) for row in session.execute(query).scalars()]


def delete_artifact(
    project: str,
    key: str,
    *,
    tag: str | None = None,
    uid: str | None = None,
    kind: str = "artifacts",
    iteration: int | None = None,
    tag_only: bool = False,
    credentials: Credentials = None,
    catalog: str | None = None,
) -> int:
    """Remove a version (by ``uid``, or the one ``tag`` points at) or, with neither, every
    version of the key; ``tag_only=True`` only removes the tag. Returns the versions removed.

    Bytes are deleted only when log_artifact wrote them and no remaining version shares them
    (``credentials`` are the artifact root's); ``target_url=`` registrations keep their data.
    """
    _checked_ref(kind, project, key, iteration or 0, tag, None)
    ref = ArtifactRef(project, key, kind, iteration, tag, uid=uid)
    with db.session(catalog, write=True) as session:
        if tag_only:
            return _untag(session, ref)
        victims = _victims(session, ref)
        orphans = _orphaned_paths(session, victims)
        ids = [row.id for row in victims]
        session.execute(delete(Tag).where(Tag.artifact_id.in_(ids)))
        session.execute(delete(Artifact).where(Artifact.id.in_(ids)))
    for path in orphans:
        get_dataitem(path, credentials).delete(missing_ok=True)
    return len(ids)


# -- helpers ----------------------------------------------------------------------------------
def _checked_ref(
    kind: str, project: str, key: str, iteration: int, tag: str | None, tree: str | None
) -> ArtifactRef:
    """Validate the names with the store:// grammar, so an invalid one is an InvalidURLError
    naming the part before anything is written."""
    if not isinstance(iteration, int) or iteration < 0:
        raise InvalidURLError(f"invalid iter '#{iteration}': must be a non-negative number")
    text = str(ArtifactRef(project, key, kind, iteration or None, tag, tree))
    return _artifact_of(parse_url(text))


def _artifact_of(url: StoreURL) -> ArtifactRef:
    if url.artifact is None:
        raise InvalidURLError("not a store:// artifact URL", url=url.display())
    if not url.artifact.key:
        raise InvalidURLError("this needs an artifact key, not a project folder", url=str(url))
    return url.artifact


def _producer() -> str | None:
    """Who is logging: the Airflow task (dag/run/task) or the Prefect flow run, if any."""
    if os.environ.get(_AIRFLOW_CONTEXT[0]):
        return "/".join(os.environ.get(name, "") for name in _AIRFLOW_CONTEXT)
    return os.environ.get("PREFECT__FLOW_RUN_ID") or _prefect_flow_run_id()


def _prefect_flow_run_id() -> str | None:
    """The flow run this code runs in, when Prefect is already imported (a flow run in this
    process sets no PREFECT__FLOW_RUN_ID); Prefect is never imported just to ask."""
    if "prefect" not in sys.modules:
        return None
    try:
        from prefect.runtime import flow_run
    except ImportError:
        return None
    return str(flow_run.id) if flow_run.id else None


def _content(
    ref: ArtifactRef,
    data: bytes | str | None,
    local_path: str | os.PathLike[str] | None,
    df: Any,
    target_url: str | None,
    fmt: str | None,
    root: str | None,
    credentials: Credentials,
) -> tuple[content.Content, str | None]:
    given = [name for name, v in _sources(data, local_path, df, target_url) if v is not None]
    if len(given) != 1:
        raise TypeError(
            f"log_artifact takes exactly one of data, local_path, df, target_url; got {given}"
        )
    if target_url is not None:
        bare = content.bare_target(target_url)  # refuse a signed URL before using it
        stat = get_dataitem(target_url, credentials).stat()
        return content.Content(bare, stat.size, "", False), fmt
    if df is not None:
        fmt = (fmt or "parquet").lower()
        with content.dataframe_file(df, fmt) as path:
            return _put(ref, path, fmt, root, credentials, path), fmt
    source = data.encode() if isinstance(data, str) else data
    if local_path is not None:
        source = os.fspath(local_path)
    assert source is not None
    return _put(ref, source, fmt, root, credentials, os.fspath(local_path or "")), fmt


def _sources(*values: object) -> list[tuple[str, object]]:
    return list(zip(("data", "local_path", "df", "target_url"), values, strict=True))


def _put(
    ref: ArtifactRef,
    source: bytes | str,
    fmt: str | None,
    root: str | None,
    credentials: Credentials,
    local_name: str,
) -> content.Content:
    if isinstance(source, bytearray | memoryview):
        source = bytes(source)
    suffix = content.suffix_for(ref.key, fmt, local_name or None)
    base = content.artifact_root(root)
    return content.store_content(base, ref.project, ref.key, suffix, source, credentials)


def _record(catalog: str | None, values: dict[str, Any], tags: set[str]) -> None:
    """Insert the version and move its tags, in one transaction."""
    with db.session(catalog, write=True) as session:
        row = Artifact(**values)
        session.add(row)
        session.flush()
        for tag in sorted(tags):
            _move_tag(session, row, tag)


def _move_tag(session: Session, row: Artifact, tag: str) -> None:
    """Point ``tag`` at ``row``: one upsert, so concurrent writers never duplicate a tag."""
    values = {
        "project": row.project,
        "kind": row.kind,
        "key": row.key,
        "iteration": row.iteration,
        "tag": tag,
        "artifact_id": row.id,
    }
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(Tag).values(values)
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["project", "kind", "key", "iteration", "tag"],
                set_={"artifact_id": row.id},
            )
        )
    else:
        session.merge(Tag(**values))


def _version_query(ref: ArtifactRef) -> Select[tuple[Artifact]]:
    query = select(Artifact).where(
        Artifact.project == ref.project,
        Artifact.kind == ref.kind,
        Artifact.key == ref.key,
        Artifact.iteration == (ref.iteration or 0),
    )
    if ref.uid is not None:
        return query.where(Artifact.uid == ref.uid)
    if ref.tree is not None and ref.tag is None:
        return query.where(Artifact.tree == ref.tree).order_by(Artifact.id.desc())
    query = query.join(Tag, Tag.artifact_id == Artifact.id).where(Tag.tag == (ref.tag or "latest"))
    return query.where(Artifact.tree == ref.tree) if ref.tree is not None else query


def _missing(ref: ArtifactRef) -> str:
    if ref.uid is not None:
        what = f"uid '{ref.uid}'"
    elif ref.tree is not None and ref.tag is None:
        what = f"tree '{ref.tree}'"
    else:
        what = f"tag '{ref.tag or 'latest'}'" + (f" in tree '{ref.tree}'" if ref.tree else "")
    return (
        f"no {ref.kind} version of project '{ref.project}', key '{ref.key}', "
        f"iter {ref.iteration or 0}, {what} in the catalog"
    )


def _to_record(session: Session, row: Artifact) -> ArtifactRecord:
    tags = session.execute(
        select(Tag.tag).where(Tag.artifact_id == row.id).order_by(Tag.tag)
    ).scalars()
    created = row.created
    if created is not None and created.tzinfo is None:  # SQLite drops the zone
        created = created.replace(tzinfo=UTC)
    return ArtifactRecord(
        project=row.project,
        kind=row.kind,
        key=row.key,
        iteration=row.iteration,
        uid=row.uid,
        target_path=row.target_path,
        tree=row.tree,
        producer=row.producer,
        tags=tuple(tags),
        size=row.size,
        hash=row.hash,
        format=row.format,
        labels=dict(row.labels or {}),
        description=row.description,
        created=created,
        owned=row.owned,
    )


def _victims(session: Session, ref: ArtifactRef) -> list[Artifact]:
    if ref.uid is not None or ref.tag is not None:
        rows = list(session.execute(_version_query(ref)).scalars().all()[:1])
    else:
        query = select(Artifact).where(
            Artifact.project == ref.project, Artifact.kind == ref.kind, Artifact.key == ref.key
        )
        if ref.iteration is not None:
            query = query.where(Artifact.iteration == ref.iteration)
        rows = list(session.execute(query).scalars())
    if not rows:
        raise NotFoundError(_missing(ref), url=str(ref))
    return rows


def _orphaned_paths(session: Session, victims: list[Artifact]) -> list[str]:
    """Targets that these versions own and that no other version records."""
    ids = [row.id for row in victims]
    paths = sorted({row.target_path for row in victims if row.owned})
    orphans = []
    for path in paths:
        shared = session.execute(
            select(func.count())
            .select_from(Artifact)
            .where(Artifact.target_path == path, Artifact.id.not_in(ids))
        ).scalar_one()
        if not shared:
            orphans.append(path)
    return orphans


def _untag(session: Session, ref: ArtifactRef) -> int:
    if ref.tag is None:
        raise TypeError("tag_only=True needs tag=")
    result = session.execute(
        delete(Tag).where(
            Tag.project == ref.project,
            Tag.kind == ref.kind,
            Tag.key == ref.key,
            Tag.iteration == (ref.iteration or 0),
            Tag.tag == ref.tag,
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError(_missing(ref), url=str(ref))
    return 0
