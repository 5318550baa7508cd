"""Copies from an SSE-KMS-encrypted S3 object: its ETag is not an MD5, so the engine must not
compare it with the bytes' MD5 (that would fail every copy out of a KMS bucket)."""

from __future__ import annotations

import os
from pathlib import Path

import orchestore
from tests.servers.moto_server import MotoServer, admin_credentials


def test_a_kms_encrypted_source_copies_and_is_verified_another_way(
    moto_server: MotoServer, moto_bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    key = f"kms-{os.urandom(4).hex()}/object.bin"
    kms_key = moto_server.client("kms").create_key()["KeyMetadata"]["KeyId"]
    moto_server.client().put_object(
        Bucket=moto_bucket, Key=key, Body=data, ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key
    )
    head = moto_server.client().head_object(Bucket=moto_bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    source = orchestore.get_dataitem(f"s3://{moto_bucket}/{key}", admin_credentials(moto_server))
    assert source.store.reported_digest(source.store_url) is None  # the ETag is no digest

    summary = orchestore.copy(source, str(tmp_path / "object.bin"))

    assert (tmp_path / "object.bin").read_bytes() == data
    assert summary.checksums_verified == 1
    # read back; the listing's ETag may still prove the bytes read: on AWS it is no MD5 (then
    # the HEAD says so and nothing fails), moto makes it the MD5 of the plaintext (a match)
    assert summary.checksum in ("crc32", "crc32+md5")
