"""StoreCopyOperator's progress lines: the transfer engine's callbacks (up to ~10 a second)
become one task-log line per interval, plus nothing in between.

A real copy in a child process: 384 MiB from memory:// to a local file, so the engine streams
it (a file-to-file copy would be one kernel call, reported once), with the interval shortened
to 0.15 s so that the copy spans several intervals.
"""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from tests.airflow.harness import AirflowHome

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow

_SCRIPT = """
import json, logging, sys, time
import orchestore
from orchestore.airflow.operators._common import ProgressLog

records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append((time.monotonic(), record.getMessage()))

log = logging.getLogger("progress-test")
log.addHandler(Keep())
log.setLevel(logging.INFO)
calls = []
meter = ProgressLog(log, every=float(sys.argv[3]))
def progress(snapshot):
    calls.append(snapshot.bytes_done)
    meter(snapshot)
source = orchestore.get_dataitem("memory://progress/big.bin")
with open(sys.argv[1], "rb") as handle:
    source.put(handle.read())
started = time.monotonic()
summary = orchestore.copy(source, sys.argv[2], progress=progress, checksum=True)
print(json.dumps({
    "calls": len(calls), "lines": [m for _, m in records],
    "gaps": [b[0] - a[0] for a, b in zip(records, records[1:])],
    "seconds": time.monotonic() - started, "bytes": summary.bytes,
}))
"""
SIZE = 384 * 1024 * 1024  # ~0.5 s at 700 MiB/s: several intervals even on a fast machine
EVERY = 0.15


def test_progress_is_logged_once_per_interval(airflow_home: AirflowHome, tmp_path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(SIZE))
    target = tmp_path / "out" / "big.bin"
    result = airflow_home.python("-c", _SCRIPT, str(source), str(target), str(EVERY))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["bytes"] == SIZE
    assert target.read_bytes() == source.read_bytes()
    lines = report["lines"]
    # Throttled: never two lines closer than the interval, fewer lines than callbacks...
    assert all(gap >= EVERY for gap in report["gaps"]), report["gaps"]
    assert len(lines) < report["calls"]
    # ...and each line says how far the copy is, in the format the task log shows.
    assert len(lines) >= 2, report
    assert all(line.startswith("copied ") and " of 384.0 MiB (" in line for line in lines), lines
    assert all("/1 objects" in line and "B/s, " in line for line in lines), lines
