"""A flow whose store credentials live only in HashiCorp Vault (or OpenBao).

The DataStore block's credentials block holds no secret: it points at a Vault KV secret
(``VaultSecretRef``) whose keys are the credential fields or their MLRun names
(``AWS_ACCESS_KEY_ID``, ...). The secret is read when the flow first touches the store, with
the Vault login the ``VaultConnection`` block describes, and never logged. ``save_blocks``
shows the setup in code; the same blocks can be filled in in the Prefect UI.

    python vault_credentials.py orchestore-data-store/vault-backed
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from prefect import flow

from prefect_orchestore import (
    DataStore,
    S3StoreCredentials,
    VaultConnection,
    VaultSecretRef,
    tasks,
)


def save_blocks(name: str, base_url: str, vault_url: str, vault_token: str, path: str) -> str:
    """Save a DataStore on ``base_url`` whose S3 keys are the Vault secret at ``secret/path``.

    Returns the DataStore's block name (``slug/name``). Use a token allowed to read only that
    path (or another auth method: AppRole, Kubernetes, JWT, userpass).
    """
    connection = VaultConnection(url=vault_url, token=vault_token)
    credentials = S3StoreCredentials(vault=VaultSecretRef(connection=connection, path=path))
    DataStore(base_url=base_url, credentials=credentials).save(name, overwrite=True)
    return f"{DataStore.get_block_type_slug()}/{name}"


@flow(name="orchestore-vault-credentials", log_prints=True)
def vault_credentials(store: str, key: str = "reports/hello.txt") -> dict[str, Any]:
    """Write a report through the Vault-backed DataStore, read it back, list the folder."""
    text = f"written by a Prefect flow at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n"
    url = tasks.write(key, text, store)
    read_back = tasks.read(key, store, encoding="utf-8")
    listed = tasks.list_objects(key.rsplit("/", 1)[0] if "/" in key else "", store)
    print(f"wrote and read back {url} ({len(read_back)} characters)")
    return {"url": url, "read": read_back, "listed": listed}


if __name__ == "__main__":
    vault_credentials(*sys.argv[1:3])
