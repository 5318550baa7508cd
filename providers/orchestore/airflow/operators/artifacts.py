"""Log the data at any URL as a versioned store:// artifact in the catalog a connection names.

The ``orchestorecatalog`` connection holds the catalog's database URL, the artifact root the
bytes are written to and (``artifact_conn_id``) the connection whose credentials write there.
The bytes are stored once per content (content-addressed), so re-logging unchanged data only
records a new version and moves the tag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from orchestore.airflow.operators._common import store_hook

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["LogArtifactOperator"]


class LogArtifactOperator(BaseOperator):
    """Copy ``src`` into the catalog's artifact root as version ``tag`` of ``project``/``key``.

    Returns the new version's ``store://artifacts/<project>/<key>:<tag>^<uid>`` URL: the uid
    pins this version for downstream tasks even after the tag moves on.
    """

    template_fields: Sequence[str] = (
        "src",
        "project",
        "key",
        "tag",
        "catalog_conn_id",
        "src_conn_id",
        "labels",
        "description",
    )
    ui_color = "#fdebd0"

    def __init__(
        self,
        *,
        src: str,
        project: str,
        key: str,
        catalog_conn_id: str,
        tag: str = "latest",
        src_conn_id: str | None = None,
        labels: Mapping[str, Any] | None = None,
        description: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.src = src
        self.project = project
        self.key = key
        self.tag = tag
        self.catalog_conn_id = catalog_conn_id
        self.src_conn_id = src_conn_id
        self.labels = dict(labels or {})
        self.description = description

    def execute(self, context: Context) -> str:
        from orchestore.stores.artifacts import ArtifactStore
        from orchestore.urls import ArtifactRef

        reference = str(ArtifactRef(self.project, self.key, tag=self.tag))
        with store_hook(self.catalog_conn_id) as hook, store_hook(self.src_conn_id) as src_hook:
            artifact = hook.item(reference)
            catalog = artifact.store
            if not isinstance(catalog, ArtifactStore):  # pragma: no cover - always store://
                raise TypeError(f"{artifact.url} is not served by the artifact catalog")
            source = src_hook.item(self.src)
            self.log.info("Logging %s as %s", source.url, artifact.url)
            with source:  # removes the temporary local copy of a remote source
                url = catalog.log(
                    artifact.store_url,
                    local_path=source.local(),
                    labels=self.labels,
                    description=self.description,
                )
        self.log.info("Logged %s", url)
        return url
