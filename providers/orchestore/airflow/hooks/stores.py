"""One hook per orchestore connection type: what Airflow's UI and ``connections test`` use.

Each is a DataStoreHook whose class attributes match its ``connection-types`` entry in
get_provider_info(). Airflow builds them as ``Hook(conn_id=...)`` (``conn_name_attr``).
"""

from __future__ import annotations

from typing import ClassVar

from orchestore.airflow.forms import HOOK_CLASSES
from orchestore.airflow.hooks.base import DataStoreHook
from orchestore.errors import OrchestoreError

__all__ = ["AzureStoreHook", "CatalogHook", "GCSStoreHook", "S3StoreHook", "V3ioHook"]


class V3ioHook(DataStoreHook):
    """Iguazio's v3io web API (``v3io`` connections)."""

    conn_type: ClassVar[str] = "v3io"
    default_conn_name: ClassVar[str] = "v3io_default"
    hook_name: ClassVar[str] = HOOK_CLASSES["v3io"][1]


class S3StoreHook(DataStoreHook):
    """S3 and S3-compatible storage without the Amazon provider (``orchestores3``)."""

    conn_type: ClassVar[str] = "orchestores3"
    default_conn_name: ClassVar[str] = "orchestore_s3_default"
    hook_name: ClassVar[str] = HOOK_CLASSES["orchestores3"][1]


class AzureStoreHook(DataStoreHook):
    """Azure Blob Storage without the Azure provider (``orchestoreazure``)."""

    conn_type: ClassVar[str] = "orchestoreazure"
    default_conn_name: ClassVar[str] = "orchestore_azure_default"
    hook_name: ClassVar[str] = HOOK_CLASSES["orchestoreazure"][1]


class GCSStoreHook(DataStoreHook):
    """Google Cloud Storage without the Google provider (``orchestoregcs``)."""

    conn_type: ClassVar[str] = "orchestoregcs"
    default_conn_name: ClassVar[str] = "orchestore_gcs_default"
    hook_name: ClassVar[str] = HOOK_CLASSES["orchestoregcs"][1]


class CatalogHook(DataStoreHook):
    """The store:// artifact catalog (``orchestorecatalog``): its database and artifact root."""

    conn_type: ClassVar[str] = "orchestorecatalog"
    default_conn_name: ClassVar[str] = "orchestore_catalog_default"
    hook_name: ClassVar[str] = HOOK_CLASSES["orchestorecatalog"][1]

    def test_connection(self) -> tuple[bool, str]:
        """Query the catalog's database, and list the artifact root when one is set."""
        name = f"connection '{self.conn_id}'"
        try:
            source = self.source()
            name = source.name
            from orchestore.catalog import api

            api.list_artifacts(
                "orchestore-connection-test", catalog=source.adapted.options.get("catalog")
            )
            root = source.adapted.options.get("artifact_root")
            listed = f"; {self.probe(root, _artifact_conn_id(self))}" if root else ""
        except OrchestoreError as exc:
            return False, f"{name}: {type(exc).__name__}: {exc}"
        except Exception as exc:  # the UI needs an answer, not a traceback
            return False, f"{name}: {type(exc).__name__} while testing"
        return True, f"{name}: the catalog answered{listed}"


def _artifact_conn_id(hook: DataStoreHook) -> str | None:
    from orchestore.airflow.connections.base import extras_of

    return extras_of(hook.source().conn).get("artifact_conn_id")
