"""store://: versioned artifacts, resolved through the catalog to the store holding the bytes.

Every operation resolves the URL afresh (a tag may have moved since the last call) and
delegates to the target's store, with this store's credentials as the target's: the catalog
records URLs without credentials, so ``get_dataitem("store://...", credentials=S3Credentials(
...))`` is how an S3 target is read. Writes log a new version: ``put()`` and ``open("wb")``
store the bytes in the artifact root (``artifact_root=`` option, else
``ORCHESTORE_ARTIFACT_ROOT``, else ``~/.orchestore/artifacts``) and move the URL's tag and
``latest``. Listing ``store://<kind>/<project>/`` lists the project's keys.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from typing import Any, BinaryIO

from orchestore.catalog import api
from orchestore.credentials.base import CredentialsModel
from orchestore.errors import InvalidURLError
from orchestore.items import DataItem, get_dataitem
from orchestore.manager import store_class
from orchestore.stores.base import AtomicWriter, Buffer, FileStat, Store, guess_content_type
from orchestore.urls import ArtifactRef, StoreURL, parse_url

__all__ = ["ArtifactStore"]


class ArtifactStore(Store):
    """The store:// family: a catalog (``catalog=``) plus the stores its targets live in."""

    family = "store"
    #: any model: these are the *target's* (and the artifact root's) credentials
    credentials_type = CredentialsModel

    def __init__(
        self,
        endpoint: StoreURL,
        credentials: CredentialsModel | None = None,
        *,
        catalog: str | None = None,
        artifact_root: str | None = None,
    ) -> None:
        super().__init__(endpoint, credentials)
        self.catalog = catalog
        self.artifact_root = artifact_root

    def __repr__(self) -> str:
        return "ArtifactStore()"

    # -- the hook DataItem.meta consults ------------------------------------------------------
    def artifact_meta(self, url: StoreURL) -> api.ArtifactRecord:
        """The catalog record of the version ``url`` names now."""
        return api.resolve(_ref(url), catalog=self.catalog)

    def target(self, url: StoreURL) -> DataItem:
        """The DataItem over the bytes of the version ``url`` names now."""
        return self._target_of(self.artifact_meta(url))

    # -- primitives ---------------------------------------------------------------------------
    def open_reader(self, url: StoreURL) -> BinaryIO:
        return self.target(url).open("rb")

    def open_writer(self, url: StoreURL) -> AtomicWriter:
        return _VersionWriter(url, self)

    def write(self, url: StoreURL, data: Buffer) -> None:
        self.log(url, data=bytes(data))

    def stat(self, url: StoreURL) -> FileStat:
        return replace(self.target(url).stat(), url=str(url))

    def ls(self, url: StoreURL) -> list[FileStat]:
        ref = url.artifact
        if ref is None or ref.key:
            raise InvalidURLError(
                "listing needs a project folder: store://<kind>/<project>/", url=str(url)
            )
        records = api.latest_per_key(ref.project, ref.kind, catalog=self.catalog)
        return [_entry(record) for record in records]

    def delete(self, url: StoreURL, *, recursive: bool = False) -> None:
        ref = _ref(url)
        api.delete_artifact(
            ref.project,
            ref.key,
            tag=ref.tag or (None if ref.uid else "latest"),
            uid=ref.uid,
            kind=ref.kind,
            iteration=ref.iteration or 0,
            credentials=self.credentials,
            catalog=self.catalog,
        )

    # -- writing a version --------------------------------------------------------------------
    def log(self, url: StoreURL, **source: Any) -> str:
        """Log ``source`` (data= or local_path=) as a new version under ``url``'s tag."""
        ref = _ref(url)
        if ref.uid is not None:
            raise InvalidURLError(
                "cannot write to a pinned version (^uid): versions are immutable", url=str(url)
            )
        return api.log_artifact(
            ref.project,
            ref.key,
            tag=ref.tag or "latest",
            kind=ref.kind,
            iteration=ref.iteration or 0,
            tree=ref.tree,
            artifact_root=self.artifact_root,
            credentials=self.credentials,
            catalog=self.catalog,
            **source,
        )

    def _target_of(self, record: api.ArtifactRecord) -> DataItem:
        target = parse_url(record.target_path)
        takes_credentials = store_class(target).credentials_type is not None
        return get_dataitem(target, self.credentials if takes_credentials else None)


class _VersionWriter(AtomicWriter):
    """Spools to a local temporary file (bounded memory); a clean close logs the version."""

    def __init__(self, url: StoreURL, store: ArtifactStore) -> None:
        _ref(url)
        super().__init__(url)
        self._store = store
        handle, self._path = tempfile.mkstemp(prefix="orchestore-artifact-")
        self._file = os.fdopen(handle, "wb")

    def _write(self, data: memoryview) -> None:
        self._file.write(data)

    def _commit(self) -> None:
        self._file.close()
        try:
            self._store.log(self.url, local_path=self._path)
        finally:
            os.unlink(self._path)

    def _discard(self) -> None:
        self._file.close()
        if os.path.exists(self._path):
            os.unlink(self._path)


def _ref(url: StoreURL) -> ArtifactRef:
    if url.artifact is None or not url.artifact.key:
        raise InvalidURLError(
            "this operation needs an artifact: store://<kind>/<project>/<key>", url=str(url)
        )
    return url.artifact


def _entry(record: api.ArtifactRecord) -> FileStat:
    url = str(ArtifactRef(record.project, record.key, record.kind))
    return FileStat(
        size=record.size or 0,
        modified=record.created,
        etag=record.hash,
        content_type=guess_content_type(record.key),
        url=url,
    )
