"""The measured jobs: each case imports its client, then returns the job benchmarks.child times.

A case takes the params a scenario sent (``endpoints``, ``src``/``dst`` locations, counts) and
returns a callable; that callable does the whole job once and may return extra figures. Every
peer runs with its library's defaults (what hand-written task code gets), except where the row
label says otherwise.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import clients

Job = Callable[[], dict[str, Any] | None]
Params = dict[str, Any]
_COPY_CHUNK = 8 * 1024 * 1024


# -- one object: upload, download, store-to-store copy ----------------------------------------
def orchestore_copy(params: Params) -> Job:
    """``orchestore.copy`` (the transfer engine), its defaults unless ``recursive``/``checksum``."""
    from orchestore.transfer import copy

    endpoints = params["endpoints"]
    src, src_credentials = clients.orchestore_target(endpoints, params["src"])
    dst, dst_credentials = clients.orchestore_target(endpoints, params["dst"])
    recursive = bool(params.get("recursive"))
    checksum = bool(params.get("checksum", True))

    def job() -> dict[str, Any]:
        summary = copy(
            src,
            dst,
            src_credentials=src_credentials,
            dst_credentials=dst_credentials,
            recursive=recursive,
            checksum=checksum,
        )
        return {"bytes": summary.bytes, "objects": summary.objects, "checksum": summary.checksum}

    return job


def orchestore_item(params: Params) -> Job:
    """``DataItem.upload`` / ``download`` / ``copy_to``: the item API users call."""
    import orchestore

    endpoints = params["endpoints"]
    src, src_credentials = clients.orchestore_target(endpoints, params["src"])
    dst, dst_credentials = clients.orchestore_target(endpoints, params["dst"])

    def job() -> None:
        if params["src"]["store"] == "file":
            orchestore.get_dataitem(dst, dst_credentials).upload(src)
        elif params["dst"]["store"] == "file":
            orchestore.get_dataitem(src, src_credentials).download(dst)
        else:
            orchestore.get_dataitem(src, src_credentials).copy_to(dst, dst_credentials)

    return job


def boto3_transfer(params: Params) -> Job:
    """boto3's TransferManager (upload_file / download_file / managed copy), its defaults."""
    from benchmarks.servers import BUCKET

    src, dst = params["src"], params["dst"]

    def job() -> None:
        client = clients.boto3_client(params["endpoints"])
        if src["store"] == "file":
            client.upload_file(src["key"], BUCKET, dst["key"])
        elif dst["store"] == "file":
            client.download_file(BUCKET, src["key"], dst["key"])
        else:
            client.copy({"Bucket": BUCKET, "Key": src["key"]}, BUCKET, dst["key"])

    return job


def fsspec_transfer(params: Params) -> Job:
    """s3fs / adlfs / gcsfs with defaults: put_file, get_file, copy, or open-to-open."""
    src, dst = params["src"], params["dst"]

    def job() -> None:
        src_fs, src_path = clients.fsspec_target(params["endpoints"], src)
        dst_fs, dst_path = clients.fsspec_target(params["endpoints"], dst)
        if src["store"] == "file":
            dst_fs.put_file(src_path, dst_path)
        elif dst["store"] == "file":
            src_fs.get_file(src_path, dst_path)
        elif src["store"] == dst["store"]:
            src_fs.copy(src_path, dst_path)
        else:
            with src_fs.open(src_path, "rb") as reader, dst_fs.open(dst_path, "wb") as writer:
                shutil.copyfileobj(reader, writer, _COPY_CHUNK)

    return job


def obstore_transfer(params: Params) -> Job:
    """obstore (Rust object_store): put from a file, streamed get, server-side or streamed copy."""
    import obstore

    src, dst = params["src"], params["dst"]

    def job() -> None:
        endpoints = params["endpoints"]
        if src["store"] == "file":
            store = clients.obstore_store(endpoints, dst["store"])
            obstore.put(store, dst["key"], Path(src["key"]))
        elif dst["store"] == "file":
            store = clients.obstore_store(endpoints, src["store"])
            with open(dst["key"], "wb") as local:
                for chunk in obstore.get(store, src["key"]).stream():
                    local.write(chunk)
        elif src["store"] == dst["store"]:
            store = clients.obstore_store(endpoints, src["store"])
            obstore.copy(store, src["key"], dst["key"])
        else:
            source = clients.obstore_store(endpoints, src["store"])
            target = clients.obstore_store(endpoints, dst["store"])
            asyncio.run(_obstore_stream_copy(source, target, src["key"], dst["key"]))

    return job


async def _obstore_stream_copy(source: Any, target: Any, src_key: str, dst_key: str) -> None:
    """obstore's own streaming copy between stores: its sync put cannot take the stream."""
    import obstore

    result = await obstore.get_async(source, src_key)
    await obstore.put_async(target, dst_key, result.stream())


def rclone_transfer(params: Params) -> Job:
    """``rclone copyto`` (one object) or ``rclone copy --transfers N`` (a prefix), defaults."""
    from benchmarks.servers import venv_binary

    env = clients.rclone_environment(params["endpoints"])
    source, target = clients.rclone_path(params["src"]), clients.rclone_path(params["dst"])
    command = [str(venv_binary("rclone"))]
    if params.get("recursive"):
        command += ["copy", source, target, "--transfers", str(params.get("transfers", 8))]
    else:
        command += ["copyto", source, target]

    def job() -> dict[str, Any]:
        import tempfile

        from benchmarks.child import peak_rss_mib

        peak = 0.0
        with tempfile.TemporaryFile() as errors:  # a file, not a pipe: no stall while we poll
            with subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=errors
            ) as tool:
                while tool.poll() is None:  # VmHWM only grows: the last read is rclone's peak
                    peak = max(peak, peak_rss_mib(tool.pid))
                    time.sleep(0.02)
            errors.seek(0)
            stderr = errors.read().decode(errors="replace")
        if tool.returncode != 0:
            raise RuntimeError(f"rclone failed: {stderr[-1500:]}")
        return {"tool_peak_rss_mib": peak}

    return job


def azure_sdk_transfer(params: Params) -> Job:
    """azure-storage-blob with max_concurrency=4 (its default of 1 is much slower)."""
    src, dst = params["src"], params["dst"]

    def job() -> None:
        endpoints = params["endpoints"]
        container = clients.azure_container(endpoints)
        if src["store"] == "file":
            with open(src["key"], "rb") as local:
                container.upload_blob(dst["key"], local, overwrite=True, max_concurrency=4)
        elif dst["store"] == "file":
            with open(dst["key"], "wb") as local:
                container.download_blob(src["key"], max_concurrency=4).readinto(local)
        elif src["store"] == "s3":  # the plain SDK way to stream S3 into a blob
            from benchmarks.servers import BUCKET

            body = clients.boto3_client(endpoints).get_object(Bucket=BUCKET, Key=src["key"])
            container.upload_blob(
                dst["key"],
                body["Body"],
                length=body["ContentLength"],
                overwrite=True,
                max_concurrency=4,
            )
        else:
            raise ValueError(f"no azure SDK path for {src['store']} -> {dst['store']}")
        container.close()

    return job


def gcs_sdk_transfer(params: Params) -> Job:
    """google-cloud-storage: upload_from_filename / download_to_filename, its defaults."""
    src, dst = params["src"], params["dst"]

    def job() -> None:
        bucket = clients.gcs_bucket(params["endpoints"])
        if src["store"] == "file":
            bucket.blob(dst["key"]).upload_from_filename(src["key"])
        else:
            bucket.blob(src["key"]).download_to_filename(dst["key"])

    return job


# -- many 1 KiB operations --------------------------------------------------------------------
def _small_job(
    put: Callable[[str, bytes], None], get: Callable[[str], bytes], params: Params
) -> Job:
    """Time up to ``count`` puts, then gets of the same keys, and check what came back.

    The puts stop early when they use half of ``budget_s``: a client at one call per second
    (a hook built per call) would otherwise hold the run for many minutes; its rate stands.
    """
    count, prefix = int(params["count"]), params["prefix"]
    budget = float(params.get("budget_s", 60.0))
    payload = os.urandom(int(params["size"]))
    keys = [f"{prefix}{index:05d}.bin" for index in range(count)]

    def job() -> dict[str, Any]:
        start = time.perf_counter()
        done = 0
        for key in keys:
            put(key, payload)
            done += 1
            if time.perf_counter() - start > budget / 2:
                break
        middle = time.perf_counter()
        for key in keys[:done]:
            if get(key) != payload:
                raise RuntimeError(f"{key} came back changed")
        end = time.perf_counter()
        return {"put_s": middle - start, "get_s": end - middle, "ops": 2 * done}

    return job


def orchestore_small(params: Params) -> Job:
    """``get_dataitem(url, credentials).put/get`` per operation, as task code writes it."""
    import orchestore
    from benchmarks.servers import BUCKET

    _, credentials = clients.orchestore_target(params["endpoints"], {"store": "s3", "key": ""})

    def put(key: str, data: bytes) -> None:
        orchestore.get_dataitem(f"s3://{BUCKET}/{key}", credentials).put(data)

    def get(key: str) -> bytes:
        return orchestore.get_dataitem(f"s3://{BUCKET}/{key}", credentials).get()

    return _small_job(put, get, params)


def airflow_hook_small(params: Params) -> Job:
    """``DataStoreHook(conn_id).item(url).put/get`` per operation (a hook built per call)."""
    from benchmarks.servers import BUCKET
    from orchestore.airflow.hooks import DataStoreHook

    conn_id = params["conn_id"]
    reuse = bool(params.get("reuse_hook"))
    shared = DataStoreHook(conn_id) if reuse else None

    def hook() -> Any:
        return shared if shared is not None else DataStoreHook(conn_id)

    def put(key: str, data: bytes) -> None:
        hook().item(f"s3://{BUCKET}/{key}").put(data)

    def get(key: str) -> bytes:
        return hook().item(f"s3://{BUCKET}/{key}").get()

    return _small_job(put, get, params)


def boto3_small(params: Params) -> Job:
    """A raw boto3 client: one reused, or a new client per call (``new_client``)."""
    from benchmarks.servers import BUCKET

    endpoints = params["endpoints"]
    shared = None if params.get("new_client") else clients.boto3_client(endpoints)

    def client() -> Any:
        return shared if shared is not None else clients.boto3_client(endpoints)

    def put(key: str, data: bytes) -> None:
        client().put_object(Bucket=BUCKET, Key=key, Body=data)

    def get(key: str) -> bytes:
        return client().get_object(Bucket=BUCKET, Key=key)["Body"].read()

    return _small_job(put, get, params)


def obstore_small(params: Params) -> Job:
    """One reused obstore S3Store."""
    import obstore

    store = clients.obstore_store(params["endpoints"], "s3")

    def put(key: str, data: bytes) -> None:
        obstore.put(store, key, data)

    def get(key: str) -> bytes:
        return obstore.get(store, key).bytes().to_bytes()

    return _small_job(put, get, params)


# -- a prefix of many small objects, s3 -> az -------------------------------------------------
def sdk_loop_prefix(params: Params) -> Job:
    """The plain loop: list with boto3, get each object, upload it with azure-storage-blob."""
    from benchmarks.servers import BUCKET

    src, dst = params["src"]["key"], params["dst"]["key"]

    def job() -> dict[str, Any]:
        s3 = clients.boto3_client(params["endpoints"])
        container = clients.azure_container(params["endpoints"])
        copied = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=src):
            for entry in page.get("Contents", []):
                body = s3.get_object(Bucket=BUCKET, Key=entry["Key"])["Body"].read()
                name = dst + entry["Key"][len(src) :]
                container.upload_blob(name, body, overwrite=True)
                copied += 1
        container.close()
        return {"objects": copied}

    return job


CASES: dict[str, Callable[[Params], Job]] = {
    "orchestore.copy": orchestore_copy,
    "orchestore.item": orchestore_item,
    "boto3": boto3_transfer,
    "fsspec": fsspec_transfer,
    "obstore": obstore_transfer,
    "rclone": rclone_transfer,
    "azure-sdk": azure_sdk_transfer,
    "gcs-sdk": gcs_sdk_transfer,
    "orchestore.small": orchestore_small,
    "airflow.hook.small": airflow_hook_small,
    "boto3.small": boto3_small,
    "obstore.small": obstore_small,
    "sdk.loop": sdk_loop_prefix,
}
