"""The catalog's tables (SQLAlchemy 2) and their schema version.

One row per artifact version; tags are a separate table whose primary key makes "one version
per tag" a database constraint, so moving a tag is a single upsert that concurrent writers
cannot duplicate. ``orchestore_schema`` records the version the migrations brought the
database to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["SCHEMA_VERSION", "Artifact", "Base", "SchemaVersion", "Tag"]

#: the schema version this code writes; db.migrate() brings older databases up to it
SCHEMA_VERSION = 1


class Base(DeclarativeBase):
    """Declarative base of the catalog tables."""


class SchemaVersion(Base):
    """The single row recording which migration the database is at."""

    __tablename__ = "orchestore_schema"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class Artifact(Base):
    """One immutable version of an artifact: where its bytes are and what they are."""

    __tablename__ = "orchestore_artifacts"
    __table_args__ = (
        UniqueConstraint("uid", name="uq_orchestore_artifacts_uid"),
        Index("ix_orchestore_artifacts_key", "project", "kind", "key", "iteration"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(63), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    iteration: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tree: Mapped[str | None] = mapped_column(String(255))
    producer: Mapped[str | None] = mapped_column(Text)
    uid: Mapped[str] = mapped_column(String(32), nullable=False)
    target_path: Mapped[str] = mapped_column(Text, nullable=False)
    #: True when log_artifact wrote the bytes (delete may remove them); False for target_url=
    owned: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    size: Mapped[int | None] = mapped_column(BigInteger)
    hash: Mapped[str | None] = mapped_column(String(64))
    format: Mapped[str | None] = mapped_column(String(32))
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    description: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Tag(Base):
    """A name pointing at one version of one key (per iteration)."""

    __tablename__ = "orchestore_artifact_tags"

    project: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    iteration: Mapped[int] = mapped_column(Integer, primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    artifact_id: Mapped[int] = mapped_column(
        ForeignKey("orchestore_artifacts.id", ondelete="CASCADE"), nullable=False, index=True
    )
