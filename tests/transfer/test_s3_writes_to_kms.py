"""Copies INTO a bucket whose default encryption is SSE-KMS: the ETags of what obstore writes
there are not MD5s, and obstore does not return the encryption headers etag_digest reads, so
the store learns it from one HEAD per bucket and the copy is verified another way."""

from __future__ import annotations

import os
from pathlib import Path

import orchestore
from orchestore.stores.s3 import UPLOAD_PART
from tests.servers.moto_server import MotoServer, admin_credentials


def _kms_bucket(moto: MotoServer) -> str:
    bucket = f"kms-default-{os.urandom(4).hex()}"
    client = moto.client()
    client.create_bucket(Bucket=bucket)
    key = moto.client("kms").create_key()["KeyMetadata"]["KeyId"]
    default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    client.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default}]
        },
    )
    return bucket


def test_copies_into_a_kms_bucket_are_verified_without_trusting_the_etag(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    bucket = _kms_bucket(moto_server)
    credentials = admin_credentials(moto_server)
    for name, size in (("small.bin", 300_000), ("parts.bin", UPLOAD_PART + 123)):
        data = os.urandom(size)
        (tmp_path / name).write_bytes(data)
        target = f"s3://{bucket}/{name}"

        summary = orchestore.copy(str(tmp_path / name), target, dst_credentials=credentials)

        assert summary.checksums_verified == 1
        head = moto_server.client().head_object(Bucket=bucket, Key=name)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert orchestore.get_dataitem(target, credentials).get() == data


def test_the_writer_reports_no_digest_in_a_kms_bucket(moto_server: MotoServer) -> None:
    bucket = _kms_bucket(moto_server)
    item = orchestore.get_dataitem(f"s3://{bucket}/w.bin", admin_credentials(moto_server))
    for _ in range(2):  # the first asks the bucket with a HEAD, the second knows
        with item.store.open_writer(item.store_url) as writer:
            writer.write(b"sealed")
        assert writer.reported_digest is None
