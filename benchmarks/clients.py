"""One place that turns the run's endpoints into each client: orchestore, SDKs, fsspec, rclone.

A location is a small dict a scenario hands to a measured child process: ``{"store": "s3",
"key": "up/big.bin"}`` (``store`` is one of ``s3`` (SeaweedFS), ``s3_rclone`` (rclone serve
s3), ``az``, ``gs`` or ``file``; ``key`` is the object key, or the path for ``file``). Every
client sees the same bucket/container ``bench`` with the same keys, so rows compare like for like.

Only the standard library is imported here: each client's library is imported by the function
that builds it, inside the child that measures it (the airflow venv has no obstore, for one).
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks.servers import BUCKET, KEY_ID, REGION, SECRET

Location = dict[str, str]
Endpoints = dict[str, str]


def s3_endpoint(endpoints: Endpoints, store: str) -> str:
    return endpoints["s3_rclone"] if store == "s3_rclone" else endpoints["s3"]


# -- orchestore -----------------------------------------------------------------------------
def orchestore_target(endpoints: Endpoints, location: Location) -> tuple[str, Any]:
    """The URL and the credentials orchestore gets for a location."""
    from orchestore.credentials import AzureCredentials, GCSCredentials, S3Credentials

    store, key = location["store"], location["key"]
    if store == "file":
        return key, None
    if store in ("s3", "s3_rclone"):
        credentials = S3Credentials(
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
            endpoint_url=s3_endpoint(endpoints, store),
            region=REGION,
        )
        return f"s3://{BUCKET}/{key}", credentials
    if store == "az":
        credentials = AzureCredentials(
            account_name=endpoints["az_account_name"],
            account_key=endpoints["az_account_key"],
            blob_endpoint=endpoints["az_blob_endpoint"],
        )
        return f"az://{BUCKET}/{key}", credentials
    if store == "gs":
        return f"gs://{BUCKET}/{key}", GCSCredentials(anonymous=True, endpoint_url=endpoints["gs"])
    raise ValueError(f"unknown store {store!r}")


# -- raw SDKs -------------------------------------------------------------------------------
def boto3_client(endpoints: Endpoints, store: str = "s3") -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint(endpoints, store),
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


def azure_container(endpoints: Endpoints) -> Any:
    from azure.storage.blob import ContainerClient

    return ContainerClient.from_connection_string(endpoints["az_connection_string"], BUCKET)


def gcs_bucket(endpoints: Endpoints) -> Any:
    from tests.servers.gcs_emulator import raw_client

    return raw_client(endpoints["gs"]).bucket(BUCKET)


def obstore_store(endpoints: Endpoints, store: str) -> Any:
    """obstore's store for the bucket (S3 and Azurite; it has no GCS endpoint override)."""
    if store in ("s3", "s3_rclone"):
        from obstore.store import S3Store

        return S3Store(
            BUCKET,
            endpoint=s3_endpoint(endpoints, store),
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
            region=REGION,
            client_options={"allow_http": True},
            virtual_hosted_style_request=False,
        )
    if store == "az":
        from obstore.store import AzureStore

        return AzureStore(
            BUCKET,
            account_name=endpoints["az_account_name"],
            account_key=endpoints["az_account_key"],
            endpoint=endpoints["az_blob_endpoint"],
            client_options={"allow_http": True},
        )
    raise ValueError(f"obstore has no {store} store here")


# -- fsspec -----------------------------------------------------------------------------------
def fsspec_target(endpoints: Endpoints, location: Location) -> tuple[Any, str]:
    """The fsspec filesystem (library defaults, no instance cache) and the path in it."""
    store, key = location["store"], location["key"]
    if store == "file":
        import fsspec

        return fsspec.filesystem("file"), key
    if store in ("s3", "s3_rclone"):
        import s3fs

        fs = s3fs.S3FileSystem(
            key=KEY_ID,
            secret=SECRET,
            endpoint_url=s3_endpoint(endpoints, store),
            client_kwargs={"region_name": REGION},
            skip_instance_cache=True,
        )
    elif store == "az":
        import adlfs

        fs = adlfs.AzureBlobFileSystem(
            connection_string=endpoints["az_connection_string"], skip_instance_cache=True
        )
    elif store == "gs":
        import gcsfs

        fs = gcsfs.GCSFileSystem(
            token="anon",  # noqa: S106 - gcsfs's name for anonymous access
            endpoint_url=endpoints["gs"],
            skip_instance_cache=True,
        )
    else:
        raise ValueError(f"unknown store {store!r}")
    return fs, f"{BUCKET}/{key}"


# -- rclone ---------------------------------------------------------------------------------
def rclone_environment(endpoints: Endpoints) -> dict[str, str]:
    """rclone remotes ``s3:``, ``s3r:``, ``az:`` and ``gs:`` as RCLONE_CONFIG_* variables."""
    env = {**os.environ, "RCLONE_CONFIG": "/dev/null"}
    for name, store in (("S3", "s3"), ("S3R", "s3_rclone")):
        env[f"RCLONE_CONFIG_{name}_TYPE"] = "s3"
        env[f"RCLONE_CONFIG_{name}_PROVIDER"] = "Other"
        env[f"RCLONE_CONFIG_{name}_ACCESS_KEY_ID"] = KEY_ID
        env[f"RCLONE_CONFIG_{name}_SECRET_ACCESS_KEY"] = SECRET
        env[f"RCLONE_CONFIG_{name}_ENDPOINT"] = s3_endpoint(endpoints, store)
        env[f"RCLONE_CONFIG_{name}_REGION"] = REGION
        env[f"RCLONE_CONFIG_{name}_FORCE_PATH_STYLE"] = "true"
    env["RCLONE_CONFIG_AZ_TYPE"] = "azureblob"
    env["RCLONE_CONFIG_AZ_ACCOUNT"] = endpoints["az_account_name"]
    env["RCLONE_CONFIG_AZ_KEY"] = endpoints["az_account_key"]
    env["RCLONE_CONFIG_AZ_ENDPOINT"] = endpoints["az_blob_endpoint"]
    env["RCLONE_CONFIG_GS_TYPE"] = "google cloud storage"
    env["RCLONE_CONFIG_GS_ANONYMOUS"] = "true"
    env["RCLONE_CONFIG_GS_ENDPOINT"] = endpoints["gs"] + "/storage/v1/"
    return env


def rclone_path(location: Location) -> str:
    """``remote:bucket/key`` (or the local path) for a location."""
    store, key = location["store"], location["key"]
    if store == "file":
        return key
    remote = {"s3": "s3", "s3_rclone": "s3r", "az": "az", "gs": "gs"}[store]
    return f"{remote}:{BUCKET}/{key}"
