"""The ArtifactCatalog block: a store:// catalog database plus the DataStore holding the bytes.

``store://[<kind>/]<project>/<key>[:tag]`` URLs name versions recorded in a catalog database
(SQLite or PostgreSQL, a SQLAlchemy URL); the bytes live under an artifact root in any store.
The block holds both: the catalog URL (its password apart, as a secret) and the artifact root
as a DataStore, whose credentials write new versions and read every version's target.

The catalog database is first connected to on use (core: ``orchestore.catalog``, imported
lazily: importing this package does not import SQLAlchemy; building a block only parses the URL
with it). Every I/O method has an async twin, as on DataStore.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from prefect._internal.compatibility.async_dispatch import async_dispatch
from pydantic import Field, SecretStr, field_validator

import orchestore
from orchestore.errors import InvalidURLError
from orchestore.items import DataItem
from orchestore.urls import parse_url
from prefect_orchestore.credentials import DOCS_URL, LOGO_URL, StrictBlock
from prefect_orchestore.storage import DataStore

if TYPE_CHECKING:
    from orchestore.catalog import ArtifactRecord

__all__ = ["ArtifactCatalog"]


class ArtifactCatalog(StrictBlock):
    """A store:// artifact catalog: where versions are recorded and where their bytes go."""

    _block_type_name = "Orchestore Artifact Catalog"
    _block_type_slug = "orchestore-artifact-catalog"
    _description = (
        "A store:// artifact catalog: the catalog database (SQLite or PostgreSQL) that records "
        "versioned artifacts, and the Orchestore Data Store their bytes are written to."
    )
    _documentation_url = DOCS_URL
    _logo_url = LOGO_URL
    _code_example = """
```python
from prefect_orchestore import ArtifactCatalog
from prefect_orchestore import DataStore

ArtifactCatalog(
    catalog_url="sqlite:////tmp/orchestore-example-catalog.db",
    artifact_root=DataStore(base_url="file:///tmp/orchestore-example-artifacts/"),
    project="demo",
).save("BLOCK_NAME", overwrite=True)
artifact_catalog_block = ArtifactCatalog.load("BLOCK_NAME")
url = artifact_catalog_block.log_artifact("hello.txt", b"hello", tag="v1")
assert artifact_catalog_block.get("hello.txt:v1") == b"hello"
```
"""

    catalog_url: str = Field(
        description=(
            "The catalog database as a SQLAlchemy URL without its password, e.g. "
            "`postgresql+psycopg://orchestore@db:5432/mlops` or `sqlite:////data/catalog.db`."
        ),
    )
    catalog_password: SecretStr | None = Field(
        default=None,
        description="The catalog database's password, if it takes one.",
    )
    artifact_root: DataStore = Field(
        description="Where logged artifacts' bytes are written; its credentials read them too.",
    )
    project: str = Field(
        default="default",
        description="The project of keys given without one (`key[:tag]` instead of a URL).",
    )

    @field_validator("catalog_url")
    @classmethod
    def _no_password_in_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(value)
        except ArgumentError:
            raise ValueError("catalog_url is not a SQLAlchemy database URL") from None
        if parsed.password is not None:
            # Never echo the URL: it holds the password.
            raise ValueError("catalog_url holds a password: put it in catalog_password instead")
        return value

    # -- where things are -----------------------------------------------------------------------
    def _catalog(self) -> str:
        """The full SQLAlchemy URL, password included: passed to the core, never shown."""
        if self.catalog_password is None:
            return self.catalog_url
        from sqlalchemy.engine import make_url

        url = make_url(self.catalog_url).set(password=self.catalog_password.get_secret_value())
        return url.render_as_string(hide_password=False)

    def url_for(self, key_or_url: str) -> str:
        """A store:// URL as is; ``key[:tag]`` becomes ``store://artifacts/<project>/key[:tag]``."""
        text = str(key_or_url)
        if "://" in text:
            if parse_url(text).family != "store":
                raise InvalidURLError("an ArtifactCatalog serves store:// URLs only", url=text)
            return text
        return f"store://artifacts/{self.project}/{text.lstrip('/')}"

    def item(self, key_or_url: str) -> DataItem:
        """The DataItem of a version (credentials resolved on this call); its ``.meta`` is the
        catalog record."""
        return orchestore.get_dataitem(
            self.url_for(key_or_url),
            self.artifact_root._credentials(),
            catalog=self._catalog(),
            artifact_root=self.artifact_root.base_url,
        )

    # -- logging and reading --------------------------------------------------------------------
    async def alog_artifact(self, key: str, data: bytes | str | None = None, **options: Any) -> str:
        return await anyio.to_thread.run_sync(lambda: self._log(key, data, **options))

    @async_dispatch(alog_artifact)
    def log_artifact(self, key: str, data: bytes | str | None = None, **options: Any) -> str:
        """Log a version of ``key`` in this block's project; returns its ``store://`` URL.

        ``options`` are ``orchestore.log_artifact``'s: ``local_path``, ``df``, ``target_url``
        (instead of ``data``), ``tag``, ``kind``, ``labels``, ``format``, ``description``,
        ``project`` (this block's by default). The bytes go below the artifact root.
        """
        return self._log(key, data, **options)

    def _log(self, key: str, data: bytes | str | None, **options: Any) -> str:
        from orchestore.catalog import log_artifact

        if isinstance(options.get("local_path"), os.PathLike):
            options["local_path"] = os.fspath(options["local_path"])
        project = options.pop("project", None) or self.project
        return log_artifact(
            project,
            key,
            data,
            artifact_root=self.artifact_root.base_url,
            credentials=self.artifact_root._credentials(),
            catalog=self._catalog(),
            **options,
        )

    async def aget(self, key_or_url: str) -> bytes:
        return await anyio.to_thread.run_sync(self._get, key_or_url)

    @async_dispatch(aget)
    def get(self, key_or_url: str) -> bytes:
        """The bytes of the version a store:// URL (or ``key[:tag]``) names now."""
        return self._get(key_or_url)

    def _get(self, key_or_url: str) -> bytes:
        return self.item(key_or_url).get()

    async def aas_df(self, key_or_url: str, format: str | None = None, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(lambda: self._as_df(key_or_url, format, **kwargs))

    @async_dispatch(aas_df)
    def as_df(self, key_or_url: str, format: str | None = None, **kwargs: Any) -> Any:
        """The version as a pandas DataFrame (its recorded format unless given)."""
        return self._as_df(key_or_url, format, **kwargs)

    def _as_df(self, key_or_url: str, format: str | None, **kwargs: Any) -> Any:
        return self.item(key_or_url).as_df(format, **kwargs)

    async def aresolve(self, key_or_url: str) -> ArtifactRecord:
        return await anyio.to_thread.run_sync(self._resolve, key_or_url)

    @async_dispatch(aresolve)
    def resolve(self, key_or_url: str) -> ArtifactRecord:
        """The catalog record (uid, target, size, hash, tags, labels) the URL names now."""
        return self._resolve(key_or_url)

    def _resolve(self, key_or_url: str) -> ArtifactRecord:
        from orchestore.catalog import resolve

        return resolve(self.url_for(key_or_url), catalog=self._catalog())

    async def alist_artifacts(self, key: str | None = None, **filters: Any) -> list[ArtifactRecord]:
        return await anyio.to_thread.run_sync(lambda: self._list(key, **filters))

    @async_dispatch(alist_artifacts)
    def list_artifacts(self, key: str | None = None, **filters: Any) -> list[ArtifactRecord]:
        """Every version in the project (of ``key``), oldest first; ``filters``: ``tag``,
        ``labels``, ``kind``, ``project``."""
        return self._list(key, **filters)

    def _list(self, key: str | None, **filters: Any) -> list[ArtifactRecord]:
        from orchestore.catalog import list_artifacts

        project = filters.pop("project", None) or self.project
        return list_artifacts(project, key, catalog=self._catalog(), **filters)

    async def adelete_artifact(self, key: str, **options: Any) -> int:
        return await anyio.to_thread.run_sync(lambda: self._delete(key, **options))

    @async_dispatch(adelete_artifact)
    def delete_artifact(self, key: str, **options: Any) -> int:
        """Remove versions of ``key`` (``tag=``, ``uid=``, all without either; ``tag_only``);
        returns how many. Bytes only this catalog's versions used are deleted too."""
        return self._delete(key, **options)

    def _delete(self, key: str, **options: Any) -> int:
        from orchestore.catalog import delete_artifact

        project = options.pop("project", None) or self.project
        return delete_artifact(
            project,
            key,
            credentials=self.artifact_root._credentials(),
            catalog=self._catalog(),
            **options,
        )
