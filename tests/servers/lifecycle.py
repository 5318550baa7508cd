"""The context-manager half every test server shares: ``with Server(...) as server:``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import Any, TypeVar

_Server = TypeVar("_Server", bound="ManagedServer")


class ManagedServer:
    """A server with ``start()`` (returning itself) and ``stop()``, usable in a ``with``."""

    def start(self: _Server) -> _Server:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def stop_process(process: subprocess.Popen[Any] | None, *, group: bool = False) -> None:
    """SIGTERM a server process (its whole session with ``group``), SIGKILL after 10 s.

    ``group`` is for servers started with ``start_new_session=True`` whose launcher spawns
    children (node for Azurite, a Python wrapper for the GCS emulator).
    """
    if process is None or process.poll() is not None:
        return

    def send(signal_number: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, signal_number)
            else:
                process.send_signal(signal_number)

    send(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait(timeout=10)
