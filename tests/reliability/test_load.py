"""Issue 11, item 14: many threads, one credential set from one Vault secret, no error.

8 threads each resolve their S3 credentials from one Vault (OpenBao) secret for every object,
as a hook does per call, then put and get small objects on moto through the shared store.
Afterwards: 0 errors, every object readable with its exact content (checked out of band with
boto3), and OpenBao's audit log shows the secret read once (its cache TTL outlives the run).
The default run does 8 x 150 objects; ``heavy`` runs the issue's 8 x 1,000.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import orchestore
from orchestore.credentials import VaultConnection, VaultSecretRef, resolve_credentials
from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET, REGION

THREADS = 8


def _content(thread: int, index: int) -> bytes:
    return f"{thread}:{index}:".encode() + hashlib.sha256(f"{thread}/{index}".encode()).digest()


def _run(
    objects: int, openbao: Any, moto_server: Any, moto_bucket: str, tally: Counter
) -> dict[str, float]:
    run = os.urandom(4).hex()
    path = f"reliability/load-{run}"
    openbao.put_secret(
        "secret",
        path,
        {
            "AWS_ACCESS_KEY_ID": ADMIN_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET,
            "S3_ENDPOINT_URL": moto_server.endpoint_url,
            "AWS_REGION": REGION,
        },
    )
    openbao.write_policy(f"load-{run}", f'path "secret/data/{path}" {{ capabilities = ["read"] }}')
    token = openbao.create_token([f"load-{run}"])
    ref = VaultSecretRef(
        connection=VaultConnection(url=openbao.address, token=token, kv_cache_ttl=600),
        mount="secret",
        path=path,
    )
    prefix = f"s3://{moto_bucket}/load-{run}/"
    errors: list[str] = []
    lock = threading.Lock()

    def worker(thread: int) -> None:
        for index in range(objects):
            url = f"{prefix}t{thread}/{index}.bin"
            try:
                credentials = resolve_credentials(url, vault=ref)
                item = orchestore.get_dataitem(url, credentials)
                item.put(_content(thread, index))
                if item.get() != _content(thread, index):
                    raise AssertionError(f"{url}: wrong content")
            except Exception as error:  # counted, not raised: the figure is the error count
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")

    mark = openbao.audit.mark()
    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, range(THREADS)))
    elapsed = time.monotonic() - started

    reads = openbao.audit.requests(since=mark, path=f"secret/data/{path}", operation="read")
    client = moto_server.client()
    listed: dict[str, bytes] = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=moto_bucket, Prefix=f"load-{run}/"):
        for entry in page.get("Contents", []):
            listed[entry["Key"]] = b""
    wrong = 0
    for thread in range(THREADS):
        for index in range(objects):
            key = f"load-{run}/t{thread}/{index}.bin"
            body = client.get_object(Bucket=moto_bucket, Key=key)["Body"].read()
            wrong += body != _content(thread, index)
    tally["objects checked"] += THREADS * objects
    tally["objects lost"] += wrong + (THREADS * objects - len(listed))
    assert errors == [], errors[:5]
    assert len(listed) == THREADS * objects and wrong == 0
    assert len(reads) == 1, f"Vault was read {len(reads)} times for one secret within its TTL"
    return {"seconds": elapsed, "ops_per_second": 2 * THREADS * objects / elapsed}


def test_eight_threads_share_one_vault_secret_and_one_store(
    openbao: Any, moto_server: Any, moto_bucket: str, tally: Counter, capsys: Any
) -> None:
    figures = _run(150, openbao, moto_server, moto_bucket, tally)
    with capsys.disabled():
        print(f"\nload 8x150: {figures['seconds']:.1f} s, {figures['ops_per_second']:.0f} ops/s")


@pytest.mark.heavy
def test_eight_threads_by_a_thousand(
    openbao: Any, moto_server: Any, moto_bucket: str, tally: Counter, capsys: Any
) -> None:
    figures = _run(1000, openbao, moto_server, moto_bucket, tally)
    with capsys.disabled():
        print(f"\nload 8x1000: {figures['seconds']:.1f} s, {figures['ops_per_second']:.0f} ops/s")
