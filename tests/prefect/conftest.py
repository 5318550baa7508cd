"""Prefect fixtures: one `prefect_test_harness` (temporary API server + SQLite DB) per session.

The harness starts a uvicorn subprocess that migrates a fresh DB: ~9-13 s on 2 cores, so it is
started once. PREFECT_HOME points at a throwaway folder, set in ``pytest_configure`` (before
the test modules import prefect, which reads its settings at import), so a run never touches
~/.prefect or a developer's profiles.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

#: The harness's default is 30 s; a cold start (no bytecode cache) on a busy 2-core box has
#: taken 13 s, so leave room.
SERVER_STARTUP_TIMEOUT = 120
_PREFECT_VARS = ("PREFECT_HOME", "PREFECT_PROFILES_PATH")
_saved: dict[str, str | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    home = tempfile.mkdtemp(prefix="orchestore-prefect-home-")
    _saved.update({name: os.environ.get(name) for name in _PREFECT_VARS})
    os.environ["PREFECT_HOME"] = home
    os.environ["PREFECT_PROFILES_PATH"] = os.path.join(home, "profiles.toml")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ["PREFECT_HOME"], ignore_errors=True)
    for name, value in _saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Flows run in this session report to a temporary Prefect API server."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=SERVER_STARTUP_TIMEOUT):
        yield
