"""``cp`` on the transfer engine: ``--sync`` proven by the server's request log, ``--no-checksum``
proven by the re-read it saves, ``--json`` printing the engine's summary."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.cli.conftest import ORCHESTORE, Run, cli_env, run_many
from tests.servers.moto_server import MotoServer
from tests.servers.v3io_server import V3ioServer


def _tree(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a" * 1000)
    (root / "b.txt").write_bytes(b"b" * 2000)
    (root / "sub" / "c.txt").write_bytes(b"c" * 3000)


def test_sync_second_run_puts_nothing_and_a_change_puts_one_object(
    run: Run,
    tmp_path: Path,
    credentials_file: str,
    folders: dict[str, str],
    moto_server: MotoServer,
) -> None:
    _tree(tmp_path / "tree")
    dst = folders["s3"] + "tree/"
    args = ("cp", "-r", "--sync", str(tmp_path / "tree"), dst, "--credentials-json")
    first = run(*args, credentials_file, "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) | {"seconds": 0, "mb_per_s": 0} == {
        "source": str(tmp_path / "tree"),
        "destination": dst,
        "objects": 3,
        "skipped": 0,
        "bytes": 6000,
        "seconds": 0,
        "mb_per_s": 0,
        "checksums_verified": 3,
        "checksum": "md5",
    }

    with moto_server.recording() as unchanged_requests:
        again = run(*args, credentials_file)
    assert again.returncode == 0, again.stderr
    assert "copied 0 objects (0 B)" in again.stdout and "3 unchanged skipped" in again.stdout
    puts = [r for r in unchanged_requests if r.method in ("PUT", "POST")]
    assert puts == [], [(r.method, r.path) for r in puts]

    (tmp_path / "tree" / "b.txt").write_bytes(b"B" * 2000)  # same size, other bytes
    with moto_server.recording() as changed_requests:
        changed = run(*args, credentials_file, "--json")
    assert changed.returncode == 0, changed.stderr
    summary = json.loads(changed.stdout)
    assert (summary["objects"], summary["skipped"], summary["bytes"]) == (1, 2, 2000)
    puts = [r.path for r in changed_requests if r.method == "PUT"]
    assert len(puts) == 1 and puts[0].endswith("/tree/b.txt"), puts


def test_no_checksum_skips_the_verifying_read(
    run: Run,
    tmp_path: Path,
    credentials_file: str,
    folders: dict[str, str],
    v3io_server: V3ioServer,
) -> None:
    """v3io reports no digest, so a verified copy re-reads the destination; --no-checksum
    does not (and the summary says nothing was verified)."""
    payload = os.urandom(200_000)
    (tmp_path / "p.bin").write_bytes(payload)
    creds = ("--credentials-json", credentials_file)
    folder = folders["v3io"].removeprefix("v3io://")

    def gets_of(name: str) -> int:
        return sum(
            1
            for r in v3io_server.requests
            if r.method == "GET" and r.path.split("?")[0].endswith(folder + name)
        )

    verified = run("cp", str(tmp_path / "p.bin"), folders["v3io"] + "v.bin", *creds, "--json")
    unverified = run(
        "cp", str(tmp_path / "p.bin"), folders["v3io"] + "n.bin", *creds, "--json", "--no-checksum"
    )
    assert verified.returncode == 0, verified.stderr
    assert unverified.returncode == 0, unverified.stderr
    with_sum, without = json.loads(verified.stdout), json.loads(unverified.stdout)
    assert (with_sum["checksums_verified"], with_sum["checksum"]) == (1, "crc32")  # read back
    assert (without["checksums_verified"], without["checksum"]) == (0, None)
    assert gets_of("v.bin") >= 1 and gets_of("n.bin") == 0
    copied = run("cp", folders["v3io"] + "n.bin", str(tmp_path / "n.bin"), *creds, "-q")
    assert copied.returncode == 0 and copied.stdout == ""
    assert (tmp_path / "n.bin").read_bytes() == payload


def test_cp_of_a_folder_without_r_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "tree")
    result = run("cp", str(tmp_path / "tree"), str(tmp_path / "elsewhere"))
    assert result.returncode == 2, result.stderr
    assert "is a folder; use cp -r" in result.stderr


def test_json_mode_reports_errors_as_one_json_line(tmp_path: Path) -> None:
    """With --json, stdout stays empty on failure and stderr holds one parseable object."""
    _tree(tmp_path / "tree")
    missing, folder, no_credentials = run_many(
        ("stat", str(tmp_path / "absent"), "--json"),
        ("cp", str(tmp_path / "tree"), str(tmp_path / "x"), "--json"),
        ("ls", "s3://some-bucket/", "--json"),
    )
    expected = [(missing, "NotFoundError", 1), (folder, "UsageError", 2)]
    expected.append((no_credentials, "CredentialsError", 3))
    for result, kind, code in expected:
        assert result.returncode == code and result.stdout == ""
        (line,) = result.stderr.splitlines()
        error = json.loads(line)
        assert (error["error"], error["exit_code"]) == (kind, code), error
    assert "--airflow-conn ID" in json.loads(no_credentials.stderr)["message"]


def test_ctrl_c_stops_a_recursive_copy_between_objects(
    tmp_path: Path, credentials_file: str, folders: dict[str, str], v3io_server: V3ioServer
) -> None:
    """SIGINT ends `cp -r` at once with exit 130: objects not yet started are dropped, not
    copied first (the engine's queue used to drain before the interrupt surfaced)."""
    source = tmp_path / "many"
    source.mkdir()
    count = 4000
    for index in range(count):
        (source / f"f{index:04}.bin").write_bytes(b"x" * 1024)
    command = [str(ORCHESTORE), "cp", "-r", str(source), folders["v3io"]]
    command += ["--credentials-json", credentials_file, "--concurrency", "2"]
    process = subprocess.Popen(
        command, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.5)
    assert process.poll() is None, "the copy finished before the interrupt: make it longer"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    landed = v3io_server.container_path("bigdata") / folders["v3io"].split("/bigdata/", 1)[1]
    assert len(list(landed.glob("*.bin"))) < count
