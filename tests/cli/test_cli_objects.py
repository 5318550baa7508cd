"""cp, ls, cat, stat, rm and exit codes, through the real command against the real servers."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.conftest import ORCHESTORE, Run, cli_env, run_many
from tests.servers.http_server import HttpFileServer

#: more than one 8 MiB chunk, so streamed copies loop
PAYLOAD_SIZE = 9 * 1024 * 1024 + 123


def test_help_lists_every_command_fast_and_imports_no_sdk(run: Run) -> None:
    """--help names every command; building it imports no store SDK, pandas or the catalog."""
    started = time.monotonic()
    result = run("--help")
    elapsed = time.monotonic() - started
    assert result.returncode == 0
    for command in ("cp", "ls", "cat", "stat", "rm", "check", "log-artifact"):
        assert f"    {command}" in result.stdout
    assert elapsed < 5, f"orchestore --help took {elapsed:.2f}s"
    probe = (
        "import sys\nfrom orchestore.cli import main\n"
        "try:\n    main(['cp', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('pandas', 'boto3', 'botocore', 's3fs', 'adlfs', 'azure', 'gcsfs', 'google',"
        " 'hvac', 'sqlalchemy', 'aiohttp', 'requests', 'airflow', 'prefect')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy), file=sys.stderr)\n"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=cli_env(), check=True
    )
    assert imported.stderr.strip() == "[]"


def test_cp_chain_across_schemes_keeps_the_bytes(
    run: Run, tmp_path: Path, credentials_file: str, folders: dict[str, str]
) -> None:
    """file -> s3 -> az -> gs -> v3io -> file: each hop a different pair of stores."""
    payload = os.urandom(PAYLOAD_SIZE)
    (tmp_path / "source.bin").write_bytes(payload)
    hops = [
        str(tmp_path / "source.bin"),
        folders["s3"] + "data.bin",
        folders["az"] + "data.bin",
        folders["gs"] + "data.bin",
        folders["v3io"] + "data.bin",
        str(tmp_path / "back.bin"),
    ]
    for src, dst in itertools.pairwise(hops):
        result = run("cp", src, dst, "--credentials-json", credentials_file, "--json")
        assert result.returncode == 0, (src, dst, result.stderr)
        report = json.loads(result.stdout)
        assert report["bytes"] == PAYLOAD_SIZE and report["objects"] == 1
        # GCS's CRC32C, an MD5 where the destination reports one (s3, az), else a CRC-32 of a
        # read-back
        algorithm = "crc32c" if dst.startswith("gs://") else "crc32"
        algorithm = "md5" if dst.startswith(("s3://", "az://")) else algorithm
        # (+md5/+crc32c: the bytes read were also checked against the source's own digest)
        checked = (algorithm, f"{algorithm}+md5", f"{algorithm}+crc32c")
        assert report["checksum"] in checked, report["checksum"]
        assert report["checksums_verified"] == 1
    assert (tmp_path / "back.bin").read_bytes() == payload


def test_cp_within_one_store_into_a_folder_then_cat_a_range(
    run: Run, tmp_path: Path, credentials_file: str, folders: dict[str, str]
) -> None:
    """s3 -> s3 (server-side copy); a destination ending in / takes the source's name."""
    (tmp_path / "a.txt").write_bytes(b"abcdefghij")
    creds = ("--credentials-json", credentials_file)
    assert run("cp", str(tmp_path / "a.txt"), folders["s3"], *creds).returncode == 0
    result = run("cp", folders["s3"] + "a.txt", folders["s3"] + "copy/b.txt", *creds)
    assert result.returncode == 0, result.stderr
    # not a terminal: a plain line per object
    assert result.stdout.startswith(f"copied {folders['s3']}a.txt -> {folders['s3']}copy/b.txt")
    ranged = run("cat", folders["s3"] + "copy/b.txt", "--offset", "2", "--size", "3", *creds)
    assert ranged.stdout == "cde"


def test_cp_from_http(
    run: Run, tmp_path: Path, http_server: HttpFileServer, http_root: Path
) -> None:
    (http_root / "cli-http.txt").write_bytes(b"served over http")
    target = tmp_path / "got.txt"
    source = f"{http_server.base_url}/cli-http.txt"
    refused = run("cp", source, str(target))  # 127.0.0.1 is internal: refused unless allowed
    assert refused.returncode != 0 and "allowed_hosts" in refused.stderr
    allow = tmp_path / "allow-local.json"
    allow.write_text(json.dumps({"allowed_hosts": ["127.0.0.1"]}))
    result = run("cp", source, str(target), "--credentials-json", str(allow))
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == b"served over http"


def test_cp_recursive_copies_a_folder(
    run: Run, tmp_path: Path, credentials_file: str, folders: dict[str, str]
) -> None:
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "one.txt").write_bytes(b"1")
    (tmp_path / "tree" / "sub" / "two.txt").write_bytes(b"22")
    creds = ("--credentials-json", credentials_file)
    result = run("cp", "-r", str(tmp_path / "tree"), folders["v3io"] + "tree", *creds, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["bytes"] == 3
    listed = run("ls", "-r", folders["v3io"] + "tree/", *creds)
    folder = folders["v3io"] + "tree/"
    assert set(listed.stdout.split()) == {folder + "one.txt", folder + "sub/two.txt"}


def test_ls_stat_cat_rm(
    run: Run, tmp_path: Path, credentials_file: str, folders: dict[str, str]
) -> None:
    """On v3io (no SDK to import, so each command starts fast); gs/az/s3 ran in the cp chain."""
    creds = ("--credentials-json", credentials_file)
    (tmp_path / "digits.txt").write_bytes(b"0123456789")
    folder = folders["v3io"]
    assert run("cp", str(tmp_path / "digits.txt"), folder, *creds).returncode == 0
    assert run("cp", str(tmp_path / "digits.txt"), folder + "sub/x.txt", *creds).returncode == 0

    obj = folder + "digits.txt"
    listed, long, stat, whole, ranged, tail = run_many(
        ("ls", folder, *creds, "--json"),
        ("ls", "-l", folder, *creds),
        ("stat", obj, *creds, "--json"),
        ("cat", obj, *creds),
        ("cat", obj, "--offset", "3", "--size", "4", *creds),
        ("cat", obj, "--offset", "7", *creds),
    )
    assert listed.returncode == 0, listed.stderr
    entries = {entry["url"]: entry for entry in json.loads(listed.stdout)}
    assert entries[obj]["size"] == 10
    assert any(entry["is_dir"] for entry in entries.values())
    assert "10  " in long.stdout and "DIR" in long.stdout
    info = json.loads(stat.stdout)
    assert info["size"] == 10 and info["is_dir"] is False
    assert (whole.stdout, ranged.stdout, tail.stdout) == ("0123456789", "3456", "789")

    removed = run("rm", folder + "digits.txt", *creds)
    assert removed.returncode == 0 and removed.stdout.strip() == f"removed {folder}digits.txt"
    gone = run("stat", folder + "digits.txt", *creds)
    assert gone.returncode == 1 and "NotFoundError" in gone.stderr
    assert len(gone.stderr.strip().splitlines()) == 1
    assert run("rm", "-r", folder + "sub/", *creds).returncode == 0
    assert run("ls", folder + "sub/", *creds).returncode == 1


EXIT_CASES = [
    (["cp", "a", "b", "--concurrency", "0"], 2, "must be >= 1"),
    (["ls", "s3://b/", "--airflow-conn", "aws_default"], 2, "orchestore[airflow]"),
    (["ls", "ds://aws_default/x"], 2, "orchestore[airflow]"),
    (["ls", "s3://b/", "--prefect-block", "s3/prod"], 2, "orchestore[prefect]"),
    (["ls", "s3://b/", "--vault-path", "secret/x"], 2, "--vault ADDR"),
    (["cat"], 2, "URL"),
    (["frobnicate"], 2, "invalid choice"),
    (["cat", "s3://"], 2, "InvalidURLError"),
    (["stat", "/nonexistent/orchestore-cli-test"], 1, "NotFoundError"),
    (["ls", "s3://some-bucket/"], 3, "--credentials-json"),
]


def test_exit_codes() -> None:
    """Each case in its own process, run side by side (they share nothing)."""
    results = run_many(*(tuple(args) for args, _, _ in EXIT_CASES))
    for (args, code, says), result in zip(EXIT_CASES, results, strict=True):
        assert result.returncode == code, (args, result.stderr)
        assert says in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_console_script_is_installed() -> None:
    assert ORCHESTORE.exists()
