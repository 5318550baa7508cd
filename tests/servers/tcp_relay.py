"""The listening half shared by our in-test TCP proxies (the fault proxy, the GCS recorder).

A listener on 127.0.0.1 with a free port and an accept loop in a daemon thread that hands each
client to the subclass's ``_handle`` (which starts its own thread). Closing a socket does not
wake ``accept()``, so the loop polls a stop flag every 50 ms.
"""

from __future__ import annotations

import socket
import threading
from typing import Self

from tests.servers.lifecycle import ManagedServer

HOST = "127.0.0.1"


class TcpRelay(ManagedServer):
    """Listens on 127.0.0.1:<port> for clients of ``upstream``; the subclass relays them."""

    thread_name = "tcp-relay"

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server((HOST, 0))
        self.port = int(self._listener.getsockname()[1])
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=self.thread_name, daemon=True)

    def _handle(self, client: socket.socket) -> None:
        """Serve one accepted client (without blocking the accept loop)."""
        raise NotImplementedError

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._handle(client)
