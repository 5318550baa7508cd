"""The DataStore block: one base URL of any orchestore store, usable as Prefect result storage.

It implements ``WritableFileSystem`` (``read_path``/``write_path``) so a SAVED DataStore can be
a flow's or task's ``result_storage``, ``WritableDeploymentStorage`` (``put_directory`` /
``get_directory``), and the DataItem-style helpers flows call directly.
Every I/O method has an async ``a...`` twin and a sync wrapper through ``async_dispatch``:
Prefect commits a sync task's result with ``write_path(..., _sync=True)``, and a plain sync
method fails there with only a log line while the flow still reports Completed.

Credentials come from ONE credential block (or none, for file://, memory:// and anonymous
http); the block type is chosen explicitly (by the saved ``block_type_slug``, else by the base
URL's scheme), never by the first member of a Union that happens to validate. They are resolved
on each use through the core resolver, which caches Vault reads: never at construction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio.to_thread

# Internal to Prefect (pinned by the prefect extra's minor version); the same helper Prefect's
# own filesystems use, so the ResultStore's ``_sync=True`` calls dispatch the same way.
from prefect._internal.compatibility.async_dispatch import async_dispatch
from prefect.filesystems import WritableDeploymentStorage, WritableFileSystem
from prefect.utilities.filesystem import filter_files
from pydantic import Field, field_validator, model_validator

import orchestore
from orchestore.credentials import CredentialsModel, resolve_credentials
from orchestore.items import DataItem
from orchestore.stores.base import FileStat
from orchestore.urls import parse_url
from prefect_orchestore.credentials import (
    CREDENTIAL_BLOCKS,
    DOCS_URL,
    LOGO_URL,
    AzureStoreCredentials,
    GCSStoreCredentials,
    HttpStoreCredentials,
    S3StoreCredentials,
    StoreCredentialsBlock,
    StrictBlock,
    V3ioStoreCredentials,
)

__all__ = ["DataStore"]

_BLOCKS_BY_SLUG = {block.get_block_type_slug(): block for block in CREDENTIAL_BLOCKS.values()}


class DataStore(WritableFileSystem, WritableDeploymentStorage, StrictBlock):
    """A folder of any orchestore store (s3, az, gs, v3io, http, file, memory) as a block."""

    _block_type_name = "Orchestore Data Store"
    _block_type_slug = "orchestore-data-store"
    _description = (
        "A base URL of any orchestore store (s3://, az://, gs://, v3io://, http(s)://, file, "
        "memory://) with one credentials block: Prefect result storage and DataItem helpers."
    )
    _documentation_url = DOCS_URL
    _logo_url = LOGO_URL
    _code_example = """
```python
from prefect_orchestore import DataStore

DataStore(base_url="memory://orchestore-demo/").save("BLOCK_NAME", overwrite=True)
data_store_block = DataStore.load("BLOCK_NAME")
data_store_block.put("hello.txt", b"hello")
assert data_store_block.get("hello.txt") == b"hello"
```
"""

    base_url: str = Field(
        description="The folder every path is relative to, e.g. `s3://bucket/results/`.",
    )
    credentials: (
        S3StoreCredentials
        | AzureStoreCredentials
        | GCSStoreCredentials
        | V3ioStoreCredentials
        | HttpStoreCredentials
        | None
    ) = Field(
        default=None,
        description="The credentials block for the base URL's scheme (none for file/memory).",
    )

    @model_validator(mode="before")
    @classmethod
    def _dispatch_credentials(cls, values: Any) -> Any:
        """Turn saved credential data into the block its slug (else the URL's scheme) names."""
        if not isinstance(values, dict) or not isinstance(values.get("credentials"), dict):
            return values
        data = dict(values["credentials"])
        slug = data.get("block_type_slug")
        block = _BLOCKS_BY_SLUG.get(slug) if slug else _block_for_url(values.get("base_url"))
        if block is None:
            raise ValueError(f"credentials: no orchestore credentials block for {slug!r}")
        return {**values, "credentials": block.model_validate(data)}

    @field_validator("base_url")
    @classmethod
    def _valid_base(cls, value: str) -> str:
        parse_url(value)  # InvalidURLError (a ValueError) names the problem, not a secret
        return value.rstrip("/") + "/"

    @model_validator(mode="after")
    def _credentials_match_scheme(self) -> DataStore:
        family = parse_url(self.base_url).family
        if self.credentials is not None and self.credentials.core_model.family != family:
            raise ValueError(
                f"credentials: {type(self.credentials).__name__} does not serve "
                f"{parse_url(self.base_url).scheme or 'file'}:// URLs"
            )
        return self

    # -- paths and items ------------------------------------------------------------------------
    def _resolve_path(self, path: str) -> str:
        """The URL of ``path`` under ``base_url``; idempotent (a resolved URL is returned as is).

        Prefect may hand back a key it already resolved (prefect #18227, #20174): it must not be
        prefixed twice. ``..`` segments and URLs outside the base are refused.
        """
        text = str(path).replace("\\", "/")
        if text.startswith(self.base_url) or text == self.base_url.rstrip("/"):
            return text
        if "://" in text or (text.startswith("/") and _is_local(self.base_url)):
            raise ValueError(f"path {text!r} is outside this DataStore's base_url")
        parts = [part for part in text.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise ValueError("path must not contain '..' segments")
        folder = "/" if parts and text.endswith("/") else ""  # "out/" stays a folder URL
        return self.base_url + "/".join(parts) + folder

    def _credentials(self) -> CredentialsModel | None:
        """The base URL's credentials, resolved now (Vault read through the core's cache)."""
        source = self.credentials
        return resolve_credentials(self.base_url, source=source) if source else None

    def item(self, path: str = "") -> DataItem:
        """The orchestore DataItem for ``path`` (credentials resolved on this call)."""
        return orchestore.get_dataitem(self._resolve_path(path), self._credentials())

    # -- WritableFileSystem -----------------------------------------------------------------------
    async def aread_path(self, path: str) -> bytes:
        return await anyio.to_thread.run_sync(self._read, path)

    @async_dispatch(aread_path)
    def read_path(self, path: str) -> bytes:
        """The object's bytes (Prefect reads results with this)."""
        return self._read(path)

    async def awrite_path(self, path: str, content: bytes) -> str:
        return await anyio.to_thread.run_sync(self._write, path, content)

    @async_dispatch(awrite_path)
    def write_path(self, path: str, content: bytes) -> str:
        """Write ``content`` atomically; returns the object's URL (Prefect persists results)."""
        return self._write(path, content)

    def _read(self, path: str) -> bytes:
        return self.item(path).get()

    def _write(self, path: str, content: bytes) -> str:
        item = self.item(path)
        item.put(content)
        return item.url

    # -- WritableDeploymentStorage ---------------------------------------------------------------
    async def aput_directory(
        self,
        local_path: str | None = None,
        to_path: str | None = None,
        ignore_file: str | None = None,
    ) -> int:
        return await anyio.to_thread.run_sync(self._put_directory, local_path, to_path, ignore_file)

    @async_dispatch(aput_directory)
    def put_directory(
        self,
        local_path: str | None = None,
        to_path: str | None = None,
        ignore_file: str | None = None,
    ) -> int:
        """Upload a local folder (default: the working directory); returns the file count.

        ``ignore_file`` holds gitignore-style patterns (e.g. ``.prefectignore``), as in
        Prefect's own storage blocks.
        """
        return self._put_directory(local_path, to_path, ignore_file)

    def _put_directory(
        self, local_path: str | None, to_path: str | None, ignore_file: str | None
    ) -> int:
        root = Path(local_path or ".")
        files = sorted(
            path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()
        )
        if ignore_file:
            patterns = Path(ignore_file).read_text().splitlines()
            included = filter_files(root=str(root), ignore_patterns=patterns, as_posix=True)
            files = [name for name in files if name in included]
        folder = _as_folder(self._resolve_path(to_path or ""))
        credentials = self._credentials()
        for name in files:
            orchestore.get_dataitem(folder + name, credentials).upload(root / name)
        return len(files)

    async def aget_directory(
        self, from_path: str | None = None, local_path: str | None = None
    ) -> None:
        await anyio.to_thread.run_sync(self._get_directory, from_path, local_path)

    @async_dispatch(aget_directory)
    def get_directory(self, from_path: str | None = None, local_path: str | None = None) -> None:
        """Download the folder ``from_path`` (default: the base URL) into ``local_path``."""
        self._get_directory(from_path, local_path)

    def _get_directory(self, from_path: str | None, local_path: str | None) -> None:
        source = _as_folder(self._resolve_path(from_path or ""))
        root = Path(local_path or ".").resolve()
        credentials = self._credentials()
        pending = [source]
        while pending:
            folder = pending.pop()
            for entry in orchestore.get_dataitem(folder, credentials).ls(detail=True):
                assert isinstance(entry, FileStat)
                if entry.is_dir:
                    pending.append(_as_folder(entry.url))
                    continue
                target = (root / entry.url.removeprefix(source)).resolve()
                if not target.is_relative_to(root):  # a key like "../x" must not escape
                    raise ValueError(f"{entry.url} would be written outside {root}")
                target.parent.mkdir(parents=True, exist_ok=True)
                orchestore.get_dataitem(entry.url, credentials).download(target)

    # -- DataItem-style helpers -------------------------------------------------------------------
    async def aget(self, path: str) -> bytes:
        return await anyio.to_thread.run_sync(self._read, path)

    @async_dispatch(aget)
    def get(self, path: str) -> bytes:
        """The object's bytes."""
        return self._read(path)

    async def aput(self, path: str, data: bytes | str) -> str:
        return await anyio.to_thread.run_sync(self._put, path, data)

    @async_dispatch(aput)
    def put(self, path: str, data: bytes | str) -> str:
        """Write bytes (or text as UTF-8) atomically; returns the object's URL."""
        return self._put(path, data)

    def _put(self, path: str, data: bytes | str) -> str:
        item = self.item(path)
        item.put(data)
        return item.url

    async def als(self, path: str = "") -> list[str]:
        return await anyio.to_thread.run_sync(self._ls, path)

    @async_dispatch(als)
    def ls(self, path: str = "") -> list[str]:
        """URLs of the direct children of the folder ``path``, as the store lists them."""
        return self._ls(path)

    def _ls(self, path: str) -> list[str]:
        folder = _as_folder(self._resolve_path(path))
        return orchestore.get_dataitem(folder, self._credentials()).ls()  # type: ignore[return-value]

    async def astat(self, path: str) -> FileStat:
        return await anyio.to_thread.run_sync(self._stat, path)

    @async_dispatch(astat)
    def stat(self, path: str) -> FileStat:
        """Size, modification time, etag and content type of the object."""
        return self._stat(path)

    def _stat(self, path: str) -> FileStat:
        return self.item(path).stat()

    # Not ``delete``: that name is Block's classmethod that deletes a saved block document.
    async def adelete_path(
        self, path: str, recursive: bool = False, missing_ok: bool = False
    ) -> None:
        await anyio.to_thread.run_sync(self._delete, path, recursive, missing_ok)

    @async_dispatch(adelete_path)
    def delete_path(self, path: str, recursive: bool = False, missing_ok: bool = False) -> None:
        """Remove the object (a folder with ``recursive``); NotFoundError unless ``missing_ok``."""
        self._delete(path, recursive, missing_ok)

    def _delete(self, path: str, recursive: bool, missing_ok: bool) -> None:
        self.item(path).delete(recursive=recursive, missing_ok=missing_ok)

    async def aas_df(self, path: str, format: str | None = None, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(lambda: self._as_df(path, format, **kwargs))

    @async_dispatch(aas_df)
    def as_df(self, path: str, format: str | None = None, **kwargs: Any) -> Any:
        """Read a pandas DataFrame (format from the suffix unless given)."""
        return self._as_df(path, format, **kwargs)

    def _as_df(self, path: str, format: str | None, **kwargs: Any) -> Any:
        return self.item(path).as_df(format, **kwargs)


def _block_for_url(base_url: object) -> type[StoreCredentialsBlock] | None:
    if not isinstance(base_url, str):
        return None
    return CREDENTIAL_BLOCKS.get(parse_url(base_url).family)


def _as_folder(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _is_local(base_url: str) -> bool:
    return parse_url(base_url).family == "file"
