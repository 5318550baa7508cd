"""Airflow hooks over orchestore's DataItem: a generic one and one per connection type.

Importing this package registers Airflow's ``mask_secret`` as a core secret sink, so every
secret orchestore resolves (including ``account_key``, ``connection_string``, ``access_key``,
SAS tokens, GCS key JSON and Vault secrets) is masked in task logs.
"""

from orchestore.airflow.hooks.base import DS_SCHEME, DataStoreHook
from orchestore.airflow.hooks.stores import (
    AzureStoreHook,
    CatalogHook,
    GCSStoreHook,
    S3StoreHook,
    V3ioHook,
)

__all__ = [
    "DS_SCHEME",
    "AzureStoreHook",
    "CatalogHook",
    "DataStoreHook",
    "GCSStoreHook",
    "S3StoreHook",
    "V3ioHook",
]
