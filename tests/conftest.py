"""Fixtures shared by every suite: real servers on 127.0.0.1, and CI's no-skip rule.

With ORCHESTORE_REQUIRE_ALL=1 (set by .ci/run) a skipped test fails instead: every skip must
name a missing prerequisite, and CI must have them all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.http_server import HttpFileServer, make_self_signed_cert

# Each cloud emulator's fixtures live beside its server module.
pytest_plugins: list[str] = [
    "tests.servers.azurite",
    "tests.servers.gcs_emulator",
    "tests.servers.moto_server",
    "tests.servers.openbao",
    "tests.servers.v3io_server",
]

HTTP_USER = "reader"
HTTP_PASSWORD = "s3cr3t-http-password-7731"
HTTP_TOKEN = "s3cr3t-bearer-token-5512"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get("ORCHESTORE_REQUIRE_ALL") == "1"
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped, but ORCHESTORE_REQUIRE_ALL=1 forbids skips: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """A whole module skipped at import (``pytest.importorskip`` at module level) is a skip
    too: under ORCHESTORE_REQUIRE_ALL=1 it fails the collection instead of hiding its tests."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("ORCHESTORE_REQUIRE_ALL") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped, but ORCHESTORE_REQUIRE_ALL=1 forbids skips: {report.longrepr}"


@pytest.fixture(scope="session")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the plain HTTP server serves."""
    return tmp_path_factory.mktemp("http-root")


@pytest.fixture(scope="session")
def http_server(http_root: Path) -> Iterator[HttpFileServer]:
    """An HTTP file server without auth."""
    with HttpFileServer(http_root) as server:
        yield server


@pytest.fixture(scope="session")
def auth_http_server(http_root: Path) -> Iterator[HttpFileServer]:
    """The same files behind basic auth or a bearer token."""
    with HttpFileServer(
        http_root, username=HTTP_USER, password=HTTP_PASSWORD, token=HTTP_TOKEN
    ) as server:
        yield server


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl CLI)."""
    return make_self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def https_server(http_root: Path, tls_cert: tuple[Path, Path]) -> Iterator[HttpFileServer]:
    """The same files over HTTPS with a self-signed certificate."""
    with HttpFileServer(http_root, tls=tls_cert) as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def _close_shared_stores() -> Iterator[None]:
    """Close the pooled connections of every store the tests used, before servers stop."""
    yield
    import orchestore

    orchestore.default_manager().close()
