"""Run the installed ``orchestore`` console script in a subprocess against the real servers.

The command is the one ``pip install`` puts beside the interpreter, so these tests cover the
``[project.scripts]`` entry too. Credentials reach it the way a person would give them: a JSON
file keyed by URL prefix (``--credentials-json``), Vault, or stdin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.servers.azurite import AzuriteServer
from tests.servers.gcs_emulator import CONTRACT_BUCKET
from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET, REGION, MotoServer
from tests.servers.v3io_server import V3IO_ACCESS_KEY, V3ioServer

ORCHESTORE = Path(sys.executable).parent / "orchestore"
#: variables that must not leak into the command: it reads only what the test gives it
_SCRUBBED = ("AWS_", "AZURE_", "GOOGLE_", "V3IO_", "VAULT_", "ORCHESTORE_")

Run = Callable[..., subprocess.CompletedProcess[str]]


def cli_env(**extra: str) -> dict[str, str]:
    """The test process's environment without credential variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    return {**env, **extra}


def run_cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``orchestore ARGS...``; output as text (cat tests decode what they read)."""
    if not ORCHESTORE.exists():
        pytest.fail(f"the console script is not installed at {ORCHESTORE}: reinstall the venv")
    return subprocess.run(
        [str(ORCHESTORE), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env if env is not None else cli_env(),
        timeout=timeout,
        check=False,
    )


def run_many(
    *calls: tuple[str, ...], env: dict[str, str] | None = None, timeout: float = 60
) -> list[subprocess.CompletedProcess[str]]:
    """Independent commands side by side (each mostly waits on imports and the network)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda call: run_cli(*call, env=env, timeout=timeout), calls))


@pytest.fixture
def run() -> Run:
    return run_cli


@pytest.fixture(scope="session")
def store_credentials(
    moto_server: MotoServer,
    moto_bucket: str,
    azurite: AzuriteServer,
    azurite_container: str,
    gcs_emulator: str,
    v3io_server: V3ioServer,
) -> dict[str, dict[str, Any]]:
    """One mapping per store, keyed by URL prefix, as ``--credentials-json`` takes it.

    S3 and v3io use the MLRun variable names, Azure and GCS the model's field names: both are
    accepted by ``from_mapping``.
    """
    return {
        f"s3://{moto_bucket}": {
            "AWS_ACCESS_KEY_ID": ADMIN_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET,
            "S3_ENDPOINT_URL": moto_server.endpoint_url,
            "AWS_REGION": REGION,
        },
        f"az://{azurite_container}": {
            "account_name": azurite.account_name,
            "account_key": azurite.account_key,
            "blob_endpoint": azurite.blob_endpoint,
        },
        f"gs://{CONTRACT_BUCKET}": {"anonymous": True, "endpoint_url": gcs_emulator},
        "v3io://": {"V3IO_API": v3io_server.api_url, "V3IO_ACCESS_KEY": V3IO_ACCESS_KEY},
    }


@pytest.fixture(scope="session")
def credentials_file(
    tmp_path_factory: pytest.TempPathFactory, store_credentials: dict[str, dict[str, Any]]
) -> str:
    """The JSON file holding every store's credentials (mode 0600, as a person would keep it)."""
    path = tmp_path_factory.mktemp("cli-credentials") / "stores.json"
    path.write_text(json.dumps(store_credentials))
    path.chmod(0o600)
    return str(path)


@pytest.fixture
def folders(
    moto_bucket: str, azurite_container: str, gcs_emulator: str, v3io_server: V3ioServer
) -> dict[str, str]:
    """A fresh folder URL per scheme for one test."""
    tag = f"cli-{os.urandom(5).hex()}/"
    return {
        "s3": f"s3://{moto_bucket}/{tag}",
        "az": f"az://{azurite_container}/{tag}",
        "gs": f"gs://{CONTRACT_BUCKET}/{tag}",
        "v3io": f"v3io:///bigdata/{tag}",
    }
