"""The Prefect examples, run for real: local servers, a temporary Prefect server, three flows.

Starts moto (S3), Azurite (Azure Blob) and OpenBao (a Vault API server) on 127.0.0.1 with the
test suite's server helpers, and a temporary Prefect API server on a throwaway SQLite database
(``prefect_test_harness``); saves the blocks in code, as a user would once, then runs
``flows/``: a copy from S3 to Azure with credentials from blocks, a flow whose S3 keys exist
only in Vault, and a DataStore as result storage (the second run reads the first's result).
Prints what each step did; the servers and their data are gone when it ends.

    .venv/prefect/bin/python examples/prefect/run_demo.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # tests.servers and examples.prefect.flows, run as a script
    sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    from tests.servers.azurite import AzuriteServer
    from tests.servers.moto_server import MotoServer
    from tests.servers.openbao import OpenBaoServer

S3_BLOCK = "demo-s3"
AZURE_BLOCK = "demo-azure"


@dataclass(frozen=True)
class DemoServers:
    """The running servers the demo uses, and the bucket and container it may write to."""

    moto: MotoServer
    azurite: AzuriteServer
    openbao: OpenBaoServer
    bucket: str
    container: str


def run_demo(servers: DemoServers) -> dict[str, Any]:
    """Save the blocks and run the three example flows; returns what each produced.

    Needs a Prefect API (the temporary one from ``main``, or a test's harness). Everything
    the demo writes is below a fresh prefix, so runs never see each other's objects.
    """
    run = f"prefect-demo-{uuid.uuid4().hex[:8]}"
    print(f"== orchestore + Prefect demo (objects under {run}/)")
    s3_block, azure_block = _save_credential_blocks(servers)
    return {
        "copy": _copy_example(servers, run, s3_block, azure_block),
        "vault": _vault_example(servers, run),
        "results": _result_storage_example(servers, run),
    }


def _save_credential_blocks(servers: DemoServers) -> tuple[str, str]:
    from prefect_orchestore import AzureStoreCredentials, S3StoreCredentials
    from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET, REGION

    S3StoreCredentials(
        access_key_id=ADMIN_KEY_ID,
        secret_access_key=ADMIN_SECRET,
        endpoint_url=servers.moto.endpoint_url,
        region=REGION,
    ).save(S3_BLOCK, overwrite=True)
    AzureStoreCredentials(
        account_name=servers.azurite.account_name,
        account_key=servers.azurite.account_key,
        blob_endpoint=servers.azurite.blob_endpoint,
    ).save(AZURE_BLOCK, overwrite=True)
    names = (
        f"{S3StoreCredentials.get_block_type_slug()}/{S3_BLOCK}",
        f"{AzureStoreCredentials.get_block_type_slug()}/{AZURE_BLOCK}",
    )
    print(f"saved credential blocks {names[0]} and {names[1]}")
    return names


def _copy_example(
    servers: DemoServers, run: str, s3_block: str, azure_block: str
) -> list[dict[str, Any]]:
    from examples.prefect.flows.copy_between_stores import copy_between_stores

    import orchestore
    from prefect_orchestore import S3StoreCredentials

    print("\n-- 1. copy s3 -> az, credentials from blocks (flows/copy_between_stores.py)")
    source = f"s3://{servers.bucket}/{run}/raw/"
    destination = f"az://{servers.container}/{run}/copied/"
    credentials = S3StoreCredentials.load(S3_BLOCK).to_credentials(source)
    for day in range(1, 6):
        rows = "".join(f"2026-11-{day:02d},{hour},{(day * hour) % 17}\n" for hour in range(24))
        orchestore.get_dataitem(f"{source}day-{day}.csv", credentials).put("day,hour,n\n" + rows)
    print(f"seeded 5 CSV files in {source}")

    summaries = copy_between_stores(source, destination, s3_block, azure_block)
    for summary in summaries:
        print(
            f"copied {summary['source']} -> {summary['destination']}: {summary['bytes']} bytes, "
            f"checksum {summary['checksum']} verified {summary['checksums_verified']}x"
        )
    return summaries


def _vault_example(servers: DemoServers, run: str) -> dict[str, Any]:
    from examples.prefect.flows.vault_credentials import save_blocks, vault_credentials

    from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET, REGION

    print("\n-- 2. credentials only in Vault (flows/vault_credentials.py)")
    path = f"orchestore/{run}/s3"
    servers.openbao.put_secret(
        "secret",
        path,
        {  # MLRun's variable names are accepted as the secret's keys
            "AWS_ACCESS_KEY_ID": ADMIN_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET,
            "S3_ENDPOINT_URL": servers.moto.endpoint_url,
            "AWS_REGION": REGION,
        },
    )
    policy = f"{run}-reader"
    servers.openbao.write_policy(policy, f'path "secret/data/{path}" {{ capabilities = ["read"] }}')
    token = servers.openbao.create_token([policy])
    print(f"stored the S3 keys in Vault at secret/{path}; a token may read only that path")

    store = save_blocks(
        f"{run}-vault-backed", f"s3://{servers.bucket}/{run}/vault/", servers.openbao.address,
        token, path,
    )  # fmt: skip
    print(f"saved {store}: its S3 credentials block points at Vault and holds no key")
    result = vault_credentials(store)
    print(f"the flow wrote {result['url']} and read back: {result['read'].strip()!r}")
    return result


def _result_storage_example(servers: DemoServers, run: str) -> dict[str, Any]:
    from examples.prefect.flows.result_storage import run_with_storage

    from prefect_orchestore import DataStore, S3StoreCredentials

    print("\n-- 3. DataStore as result storage (flows/result_storage.py)")
    name = f"{run}-results"
    store = DataStore(
        base_url=f"s3://{servers.bucket}/{run}/results/",
        credentials=S3StoreCredentials.load(S3_BLOCK),
    )
    store.save(name, overwrite=True)
    storage = f"{DataStore.get_block_type_slug()}/{name}"
    numbers = [3, 1, 4, 1, 5, 9, 2, 6]
    first = run_with_storage(storage, numbers)
    print(f"first run computed {first}")
    second = run_with_storage(storage, numbers)
    read = second["computed_at"] == first["computed_at"]
    print(f"second run {'read the stored result' if read else 'computed again'}: {second}")
    stored = DataStore.load(name).ls()
    print(f"result objects in {store.base_url}: {[url.rsplit('/', 1)[-1] for url in stored]}")
    return {"first": first, "second": second, "stored": stored}


def main() -> None:
    """Start the servers and a temporary Prefect API, run the demo, stop everything."""
    with tempfile.TemporaryDirectory(prefix="orchestore-prefect-demo-") as folder:
        work = Path(folder)
        # Before Prefect is imported: its settings are read at import.
        os.environ["PREFECT_HOME"] = str(work / "prefect-home")
        os.environ["PREFECT_PROFILES_PATH"] = str(work / "prefect-home" / "profiles.toml")
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # the demo prints its steps

        from azure.storage.blob import BlobServiceClient
        from prefect.testing.utilities import prefect_test_harness

        import orchestore
        from tests.servers.azurite import AzuriteServer
        from tests.servers.moto_server import MotoServer
        from tests.servers.openbao import OpenBaoServer

        (work / "moto").mkdir()
        (work / "openbao").mkdir()
        (work / "azurite").mkdir()
        print("starting moto, Azurite, OpenBao and a temporary Prefect server ...")
        with (
            MotoServer(work / "moto") as moto,
            AzuriteServer(work / "azurite") as azurite,
            OpenBaoServer(work / "openbao") as openbao,
            prefect_test_harness(server_startup_timeout=120),
        ):
            bucket, container = "demo-bucket", "demo-container"
            moto.client().create_bucket(Bucket=bucket)
            with BlobServiceClient.from_connection_string(azurite.connection_string) as client:
                client.create_container(container)
            try:
                run_demo(DemoServers(moto, azurite, openbao, bucket, container))
            finally:
                orchestore.default_manager().close()
    print("\ndone: servers stopped, temporary data removed")


if __name__ == "__main__":
    main()
