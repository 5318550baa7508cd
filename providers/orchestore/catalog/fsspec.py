"""``store://`` as a read-only fsspec filesystem, so pandas, pyarrow and ObjectStoragePath read
artifacts by URL: ``pd.read_csv("store://artifacts/p/k:latest")``.

Registered through the ``fsspec.specs`` entry point ``store``. Storage options: ``catalog=``
(a SQLAlchemy URL), ``credentials=`` (the targets' credential model). Reads go through the
ArtifactStore, so they resolve tags exactly as ``get_dataitem`` does. Writes are refused:
log versions with ``orchestore.log_artifact`` or ``DataItem.put``.
"""

from __future__ import annotations

from typing import Any, BinaryIO, NoReturn

from fsspec import AbstractFileSystem

from orchestore.credentials.base import CredentialsModel
from orchestore.errors import NotFoundError, ReadOnlyStoreError
from orchestore.manager import default_manager
from orchestore.stores.artifacts import ArtifactStore
from orchestore.urls import StoreURL, parse_url

__all__ = ["ArtifactFileSystem"]

_PREFIX = "store://"


class ArtifactFileSystem(AbstractFileSystem):
    """Read-only fsspec view of the artifact catalog."""

    protocol = "store"
    root_marker = ""
    # fsspec caches instances by a token made from str(args): a credential model's str hides
    # its secrets, so two models differing only in a secret would share one instance.
    cachable = False

    def __init__(
        self,
        catalog: str | None = None,
        credentials: CredentialsModel | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._catalog = catalog
        self._credentials = credentials

    @classmethod
    def _strip_protocol(cls, path: str | list[str]) -> Any:
        # Keep ':tag', '#iter' and a trailing '/' (a project folder): they are the reference.
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return path.removeprefix(_PREFIX)

    def _store(self) -> ArtifactStore:
        url = parse_url("store://artifacts/orchestore/")
        store = default_manager().get_store(url, self._credentials, catalog=self._catalog)
        assert isinstance(store, ArtifactStore)
        return store

    @staticmethod
    def _url(path: str, folder: bool = False) -> StoreURL:
        path = path.removeprefix(_PREFIX)
        if folder and not path.endswith("/"):
            path += "/"
        return parse_url(_PREFIX + path)

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        entries = [_info(e.url, e.size, "file") for e in self._store().ls(self._url(path, True))]
        return entries if detail else [entry["name"] for entry in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        url = self._url(path)
        if url.artifact is not None and not url.artifact.key:
            return _info(str(url), 0, "directory")
        try:
            stat = self._store().stat(url)
        except NotFoundError as exc:
            raise FileNotFoundError(str(exc)) from exc
        return _info(str(url), stat.size, "file")

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> BinaryIO:
        if "r" not in mode or "+" in mode:
            self._refuse(path)
        return self._store().open_reader(self._url(path))

    def _refuse(self, path: Any, *args: Any, **kwargs: Any) -> NoReturn:
        raise ReadOnlyStoreError(
            "the store:// filesystem is read-only: log versions with orchestore.log_artifact",
            url=str(path),
        )

    rm_file = _rm = rm = mkdir = makedirs = pipe_file = put_file = _refuse
    cp_file = mv = touch = rmdir = _refuse


def _info(name: str, size: int, kind: str) -> dict[str, Any]:
    return {"name": name.removeprefix(_PREFIX), "size": size, "type": kind}
