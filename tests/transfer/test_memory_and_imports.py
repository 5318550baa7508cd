"""Streamed copies hold bounded memory; ``import orchestore`` stays free of SDKs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.moto_server import MotoServer, admin_credentials

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
#: the bound the issue sets for a 1 GiB copy, whatever the object size
PEAK_LIMIT_MIB = 150


def _write_file(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    with path.open("wb") as handle:
        for _ in range(size // MiB):
            handle.write(block)


def _copy_in_child(source: str, target: str, credentials: dict[str, object] | None) -> dict:
    command = [sys.executable, "-m", "tests.transfer.copy_child", source, target]
    if credentials is not None:
        command.append(json.dumps(credentials))
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("size_mib", [16, 128])
def test_streamed_copy_memory_does_not_grow_with_size(tmp_path: Path, size_mib: int) -> None:
    source = tmp_path / "source.bin"
    _write_file(source, size_mib * MiB)
    result = _copy_in_child(str(source), str(tmp_path / "copy.bin"), None)
    assert result["bytes"] == size_mib * MiB
    assert result["checksums_verified"] == 1
    assert result["peak"] < PEAK_LIMIT_MIB, result
    assert result["peak"] - result["before"] < 64, result  # a few chunks, not the object


def test_streamed_upload_to_s3_memory_is_bounded(
    tmp_path: Path, moto_server: MotoServer, moto_bucket: str
) -> None:
    source = tmp_path / "source.bin"
    _write_file(source, 256 * MiB)
    credentials = admin_credentials(moto_server)
    fields = {
        "access_key_id": credentials.access_key_id,
        "secret_access_key": credentials.secret_access_key.get_secret_value(),
        "endpoint_url": credentials.endpoint_url,
        "region": credentials.region,
    }
    target = f"s3://{moto_bucket}/memory-{os.urandom(4).hex()}/copy.bin"
    result = _copy_in_child(str(source), target, fields)
    assert result["bytes"] == 256 * MiB
    assert result["checksums_verified"] == 1
    assert result["peak"] < PEAK_LIMIT_MIB, result


def test_import_orchestore_loads_no_sdk() -> None:
    code = (
        "import sys, orchestore\n"
        "orchestore.copy, orchestore.TransferSummary\n"
        "import orchestore.transfer\n"
        "heavy = ('boto3', 'botocore', 'azure', 'google', 'pandas', 'pyarrow', 's3fs', 'adlfs',"
        " 'gcsfs', 'aiobotocore')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
