"""Prefect blocks for orchestore (Prefect's ``prefect_<name>`` package convention).

Credential blocks per store (with Vault as an alternative to stored secrets), the DataStore
block (result storage and DataItem helpers), the ArtifactCatalog block (store:// URLs) and
ready tasks in ``prefect_orchestore.tasks``. Register them on Prefect Cloud with
``prefect block register -m prefect_orchestore``. Importing this package imports Prefect's
block machinery and the credential models only: no store SDK, no Vault client.
"""

from orchestore._version import __version__
from prefect_orchestore.catalog import ArtifactCatalog
from prefect_orchestore.credentials import (
    AzureStoreCredentials,
    GCSStoreCredentials,
    HttpStoreCredentials,
    S3StoreCredentials,
    V3ioStoreCredentials,
    VaultConnection,
    VaultSecretRef,
)
from prefect_orchestore.storage import DataStore

__all__ = [
    "ArtifactCatalog",
    "AzureStoreCredentials",
    "DataStore",
    "GCSStoreCredentials",
    "HttpStoreCredentials",
    "S3StoreCredentials",
    "V3ioStoreCredentials",
    "VaultConnection",
    "VaultSecretRef",
    "__version__",
]
