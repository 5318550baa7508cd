"""The S3 part schedule and the digests computed the way stores report them."""

from __future__ import annotations

import hashlib
import os

from orchestore.stores.s3_writer import FIXED_PARTS, etag_digest, md5_etag, part_size_for
from orchestore.transfer.checksums import CRC32, PartedMD5

MiB = 1024 * 1024


def _md5(data: bytes) -> hashlib._Hash:
    return hashlib.md5(data, usedforsecurity=False)


def test_parts_stay_fixed_then_grow_to_reach_156_gib_in_10000_parts() -> None:
    sizes = [part_size_for(number, 8 * MiB) for number in range(1, 10_001)]
    assert set(sizes[:FIXED_PARTS]) == {8 * MiB}
    assert sizes == sorted(sizes)
    assert sum(sizes) == 20_000 * 8 * MiB  # 156.25 GiB, as 16 MiB fixed parts did


def test_parted_md5_is_the_s3_multipart_etag() -> None:
    data = os.urandom(2 * MiB + 5)
    digest = PartedMD5(MiB)
    for start in range(0, len(data), 300_001):  # updates that straddle part boundaries
        digest.update(data[start : start + 300_001])
    parts = [_md5(data[i : i + MiB]).digest() for i in range(0, len(data), MiB)]
    expected = _md5(b"".join(parts)).hexdigest() + "-3"
    assert digest.composite() == expected and digest.whole() is None
    assert digest.matches(f'"{expected.upper()}"') is True
    assert digest.matches("0" * 32 + "-3") is False
    assert digest.matches("0" * 32 + "-4") is None  # another part size: cannot tell
    assert digest.matches(_md5(data).hexdigest()) is None  # a whole MD5: cannot tell


def test_whole_md5_and_single_parts() -> None:
    data = os.urandom(1000)
    whole, parted = PartedMD5(), PartedMD5(MiB)
    whole.update(data)
    parted.update(data)
    assert whole.hexdigest() == parted.whole() == _md5(data).hexdigest()
    assert whole.matches(_md5(data).hexdigest()) is True
    assert PartedMD5().hexdigest() == _md5(b"").hexdigest()


def test_md5_etags() -> None:
    assert md5_etag('"0123456789ABCDEF0123456789abcdef"') == "0123456789abcdef0123456789abcdef"
    assert md5_etag('"0123456789abcdef0123456789abcdef-12"') is not None
    assert md5_etag("W/opaque-etag") is None and md5_etag(None) is None


def test_crc32_never_claims_to_match_a_store_digest() -> None:
    digest = CRC32()
    digest.update(b"hello")
    assert digest.hexdigest() == "3610a686" and digest.size == 5
    assert digest.matches("3610a686") is None and digest.fresh().size == 0


def test_part_md5s_are_there_once_their_last_byte_was_hashed() -> None:
    data = os.urandom(2 * 1000 + 10)
    digest = PartedMD5(1000)
    digest.update(data[:999])
    assert digest.part_md5(1) == hashlib.md5(data[:999], usedforsecurity=False).digest()
    assert digest.part_md5(2) is None
    digest.update(data[999:])
    md5s = [hashlib.md5(data[at : at + 1000], usedforsecurity=False).digest() for at in (0, 1000)]
    assert [digest.part_md5(1), digest.part_md5(2)] == md5s
    last = hashlib.md5(data[2000:], usedforsecurity=False).digest()
    assert digest.part_md5(3) == last and digest.part_md5(4) is None
    assert PartedMD5(None).part_md5(1) is None


def test_etags_of_kms_or_customer_key_objects_are_not_digests() -> None:
    """An SSE-KMS or SSE-C object's ETag looks like an MD5 but is not one: comparing it with
    the bytes' MD5 would fail every copy from or to such a bucket."""
    etag = '"0123456789abcdef0123456789abcdef"'
    assert etag_digest({"ETag": etag}) == etag.strip('"')
    assert etag_digest({"ETag": etag, "ServerSideEncryption": "AES256"}) == etag.strip('"')
    assert etag_digest({"ETag": etag, "ServerSideEncryption": "aws:kms"}) is None
    assert etag_digest({"ETag": etag, "ServerSideEncryption": "aws:kms:dsse"}) is None
    assert etag_digest({"ETag": etag, "SSECustomerAlgorithm": "AES256"}) is None
