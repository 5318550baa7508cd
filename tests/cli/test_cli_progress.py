"""The progress bar on a terminal (driven through a pty), plain lines elsewhere; log-artifact."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

from tests.cli.conftest import ORCHESTORE, Run, cli_env


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
    code = process.wait(timeout=60)
    assert code == 0, errors
    return code, b"".join(chunks).decode()


def test_cp_draws_a_progress_bar_on_a_terminal(
    tmp_path: Path, credentials_file: str, folders: dict[str, str]
) -> None:
    size = 24 * 1024 * 1024
    (tmp_path / "big.bin").write_bytes(os.urandom(size))
    code, drawn = _run_on_terminal(
        "cp",
        str(tmp_path / "big.bin"),
        folders["s3"] + "big.bin",
        "--credentials-json",
        credentials_file,
    )
    assert code == 0
    assert "\r[" in drawn and "100%" in drawn
    assert "24.0 MiB/24.0 MiB" in drawn and "1/1 objects" in drawn and "/s" in drawn
    assert "ETA" in drawn
    # the bar is redrawn in place: no plain "copied ..." line on a terminal
    assert "copied " not in drawn


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
