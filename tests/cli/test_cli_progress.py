"""The progress bar on a terminal (driven through a pty), plain lines elsewhere; log-artifact."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import time
from pathlib import Path

from tests.cli.conftest import ORCHESTORE, Run, cli_env, run_cli
from tests.servers.moto_server import MotoServer


def _run_on_terminal(*args: str) -> tuple[int, str]:
    """Run the command with stdout on a pseudo-terminal; returns (exit code, what it drew)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [str(ORCHESTORE), *args], stdout=slave, stderr=subprocess.PIPE, env=cli_env()
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert process.stderr is not None
    errors = process.stderr.read().decode()
    process.stderr.close()
    code = process.wait(timeout=180)
    assert code == 0, errors
    return code, b"".join(chunks).decode()


def test_cp_of_256_mib_between_two_servers_draws_a_progress_bar(
    credentials_file: str, folders: dict[str, str], moto_server: MotoServer
) -> None:
    """The issue's "must show": s3 (moto) -> az (Azurite), streamed and MD5-verified, on a
    pseudo-terminal: the bar is redrawn in place and reaches 100%, then one result line."""
    size = 256 * 1024 * 1024
    bucket, _, prefix = folders["s3"].removeprefix("s3://").partition("/")
    block = os.urandom(1024 * 1024)
    moto_server.client().upload_fileobj(io.BytesIO(block * 256), bucket, prefix + "big.bin")
    creds = ("--credentials-json", credentials_file)
    started = time.monotonic()
    code, drawn = _run_on_terminal("cp", folders["s3"] + "big.bin", folders["az"], *creds)
    seconds = time.monotonic() - started
    assert code == 0
    frames = drawn.replace("\r\n", "\n").split("\r")  # the terminal sends \n as \r\n
    assert len(frames) >= 3, f"the bar was drawn {len(frames) - 1} times in {seconds:.1f}s"
    assert all(frame.startswith("[") for frame in frames[1:]), frames[:3]
    assert "100%" in frames[-1] and "256.0 MiB/256.0 MiB" in frames[-1]
    assert "1/1 objects" in frames[-1] and "MiB/s" in frames[-1] and "ETA 0s" in frames[-1]
    assert any("ETA" in frame and " 0%" not in frame for frame in frames[1:-1])
    assert (
        frames[-1]
        .rstrip()
        .endswith(f"copied {folders['s3']}big.bin -> {folders['az']}big.bin (256.0 MiB)")
    )
    stat = run_cli("stat", folders["az"] + "big.bin", "--json", *creds)
    assert json.loads(stat.stdout)["size"] == size


def test_plain_lines_and_json_when_not_a_terminal(
    run: Run, tmp_path: Path, credentials_file: str, folders: dict[str, str]
) -> None:
    (tmp_path / "small.txt").write_bytes(b"small")
    plain = run(
        "cp", str(tmp_path / "small.txt"), folders["v3io"], "--credentials-json", credentials_file
    )
    assert plain.returncode == 0, plain.stderr
    assert "\r" not in plain.stdout and "\x1b" not in plain.stdout
    assert plain.stdout == f"copied {tmp_path}/small.txt -> {folders['v3io']}small.txt (5 B)\n"
    quiet = run(
        "cp",
        str(tmp_path / "small.txt"),
        folders["v3io"] + "q.txt",
        "-q",
        "--credentials-json",
        credentials_file,
    )
    assert quiet.returncode == 0 and quiet.stdout == ""


def test_log_artifact_into_a_sqlite_catalog(
    run: Run, tmp_path: Path, credentials_file: str, folders: dict[str, str]
) -> None:
    """A local file goes to a v3io artifact root; store:// stat finds it with the target's
    credentials (the catalog records none); a second log on a terminal shows the bar."""
    catalog = f"sqlite:///{tmp_path / 'catalog.db'}"
    data = os.urandom(100_000)
    (tmp_path / "model.bin").write_bytes(data)
    creds = ("--credentials-json", credentials_file)
    logged = run(
        "log-artifact",
        str(tmp_path / "model.bin"),
        "--project",
        "cli",
        "--key",
        "model",
        "--tag",
        "v1",
        "--catalog",
        catalog,
        "--artifact-root",
        folders["v3io"] + "artifacts",
        *creds,
        "--json",
    )
    assert logged.returncode == 0, logged.stderr
    url = json.loads(logged.stdout)["url"]
    assert url.startswith("store://artifacts/cli/model:v1^")
    env = cli_env(ORCHESTORE_CATALOG_URL=catalog)
    stat = run("stat", "store://artifacts/cli/model:v1", "--json", *creds, env=env)
    assert stat.returncode == 0, stat.stderr
    assert json.loads(stat.stdout)["size"] == len(data)
    listed = run("ls", folders["v3io"] + "artifacts/cli/model/", *creds)
    assert listed.stdout.strip().endswith(".bin")

    _, drawn = _run_on_terminal(
        "log-artifact",
        str(tmp_path / "model.bin"),
        "--project",
        "cli",
        "--key",
        "model2",
        "--catalog",
        catalog,
        "--artifact-root",
        str(tmp_path / "root"),
    )
    assert "100%" in drawn and "store://artifacts/cli/model2:latest^" in drawn
