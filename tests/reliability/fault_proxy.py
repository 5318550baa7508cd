"""A fault-injecting TCP proxy of our own, between a store's client and a real test server.

No toxiproxy server installs here, so this is the small part of it the reliability suite needs:
relay 127.0.0.1:<port> to an upstream server, and apply faults from a schedule:

- ``Reset(after)``: after ``after`` bytes in one direction, reset both sides (RST, not FIN);
- ``Cut(after)``: after ``after`` bytes, close cleanly (FIN): the peer sees a short stream;
- ``Flip(at)``: XOR one byte at stream offset ``at`` (corruption the TCP checksum missed);
- ``Stall(after, seconds)``: stop relaying for ``seconds`` (a hung server or network);
- ``Trickle(after, interval)``: from ``after`` on, relay one byte every ``interval`` seconds.

Faults are queued with ``inject()``. The first one waiting is taken by the first connection
whose stream is about to cross its ``after`` in its direction, so "reset the next two uploads
of more than 256 KiB" ignores the small requests (HEAD, listing) and idle pooled connections
around them. ``always()`` applies one fault to every connection. The proxy counts
connections, bytes, faults fired, and every HTTP request line it relays upstream
(``requests``), so a test sees how many attempts a client made.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from tests.servers.tcp_relay import TcpRelay

__all__ = ["Cut", "Fault", "FaultProxy", "Flip", "Reset", "Stall", "Trickle"]

HOST = "127.0.0.1"
Direction = Literal["up", "down"]  # up: client -> server (request); down: server -> client
_REQUEST_LINE = re.compile(rb"(GET|PUT|POST|HEAD|DELETE|PATCH|OPTIONS) (\S+) HTTP/1\.[01]\r\n")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Fault:
    """Base of the faults: fires once ``after`` bytes went through in ``direction``."""

    after: int = 0
    direction: Direction = "down"


@dataclass(frozen=True)
class Reset(Fault):
    """Reset both connections (SO_LINGER 0: the peers see ECONNRESET)."""


@dataclass(frozen=True)
class Cut(Fault):
    """Close both connections cleanly after ``after`` bytes: a truncated stream."""


@dataclass(frozen=True)
class Flip(Fault):
    """XOR the byte at stream offset ``after`` with ``mask``; the stream goes on."""

    mask: int = 0x01


@dataclass(frozen=True)
class Stall(Fault):
    """Stop relaying for ``seconds`` (or until the proxy stops)."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Trickle(Fault):
    """From ``after`` on, relay one byte every ``interval`` seconds."""

    interval: float = 0.5


@dataclass
class _Link:
    """One proxied connection: its fault and how far each direction got."""

    index: int
    fault: Fault | None
    counts: dict[str, int] = field(default_factory=lambda: {"up": 0, "down": 0})
    fired: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    sockets: tuple[socket.socket, ...] = ()
    trickle: float | None = None  # once a Trickle fired: seconds per relayed byte


class FaultProxy(TcpRelay):
    """Relays 127.0.0.1:<port> to ``upstream`` and injects the queued faults."""

    thread_name = "fault-proxy"

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        super().__init__(upstream_host, upstream_port)
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        self._always: Fault | None = None
        self._sockets: set[socket.socket] = set()
        self.connections = 0
        self.faults_fired = 0
        self.bytes = {"up": 0, "down": 0}
        self.requests: list[tuple[str, str]] = []
        self._links: list[_Link] = []

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # -- the schedule ---------------------------------------------------------------------------
    def inject(self, *faults: Fault) -> None:
        """Queue faults; each new connection takes the next one."""
        with self._lock:
            self._queue.extend(faults)

    def always(self, fault: Fault | None) -> None:
        """Apply ``fault`` to every connection from now on (None: stop)."""
        with self._lock:
            self._always = fault

    def clear(self) -> None:
        """Forget queued faults and counters."""
        with self._lock:
            self._queue.clear()
            self._always = None
            self.connections = self.faults_fired = 0
            self.bytes = {"up": 0, "down": 0}
            self.requests = []
            self._links = []

    def carrying(self, at_least: int, direction: Direction = "up") -> int:
        """Connections that carried ``at_least`` bytes in ``direction``: a big transfer's
        attempts, whatever the protocol's requests look like."""
        with self._lock:
            return sum(1 for link in self._links if link.counts[direction] >= at_least)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def count(self, method: str, target_contains: str = "") -> int:
        """Requests relayed upstream with ``method`` whose target contains the text."""
        with self._lock:
            return sum(1 for m, t in self.requests if m == method and target_contains in t)

    # -- lifecycle ------------------------------------------------------------------------------
    def drop_connections(self) -> None:
        """Reset every open connection, as a killed pod's peers see it."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _reset(sock)

    def stop(self) -> None:
        super().stop()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _handle(self, client: socket.socket) -> None:
        with self._lock:
            link = _Link(self.connections, self._always)
            self._links.append(link)
            self.connections += 1
        threading.Thread(target=self._serve, args=(client, link), daemon=True).start()

    def _serve(self, client: socket.socket, link: _Link) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=60)
        except OSError:
            _reset(client)
            return
        client.settimeout(None)
        upstream.settimeout(None)
        link.sockets = (client, upstream)
        with self._lock:
            self._sockets.update(link.sockets)
        down = threading.Thread(
            target=self._pump, args=(upstream, client, link, "down"), daemon=True
        )
        down.start()
        self._pump(client, upstream, link, "up")
        down.join()
        with self._lock:
            self._sockets.difference_update((client, upstream))
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.close()

    def _claim(self, link: _Link, direction: Direction, end: int) -> Fault | None:
        """The queued fault this chunk (ending at stream offset ``end``) triggers, if any."""
        with self._lock:
            head = self._queue[0] if self._queue else None
            if head is None or head.direction != direction or end <= head.after:
                return None
            link.fault = self._queue.popleft()
            return link.fault

    def _pump(
        self, source: socket.socket, sink: socket.socket, link: _Link, direction: Direction
    ) -> None:
        tail = b""
        try:
            while not link.done.is_set():
                chunk = source.recv(_CHUNK)
                if not chunk:
                    break
                if direction == "up":
                    tail = self._note_requests(tail + chunk)
                if not self._relay(chunk, sink, link, direction):
                    return
            if not link.done.is_set():  # a clean end: pass the FIN on
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)
        except OSError:
            link.done.set()
            for sock in (source, sink):
                _reset(sock)

    def _relay(self, chunk: bytes, sink: socket.socket, link: _Link, direction: Direction) -> bool:
        """Send ``chunk`` on, applying the link's fault; False when the link was torn down."""
        fault, start = link.fault, link.counts[direction]
        if fault is None and not link.fired:
            fault = self._claim(link, direction, start + len(chunk))
        link.counts[direction] += len(chunk)
        with self._lock:
            self.bytes[direction] += len(chunk)
        if link.trickle is not None and fault is not None and fault.direction == direction:
            return self._trickle(chunk, sink, link.trickle)
        armed = (
            fault is not None
            and not link.fired
            and fault.direction == direction
            and start + len(chunk) > fault.after
        )
        if not armed:
            sink.sendall(chunk)
            return True
        assert fault is not None
        split = max(fault.after - start, 0)
        self._fired(link)
        if isinstance(fault, Flip):
            flipped = bytearray(chunk)
            flipped[split] ^= fault.mask
            sink.sendall(flipped)
            return True
        sink.sendall(chunk[:split])
        if isinstance(fault, Stall):
            self._stopping.wait(fault.seconds)
            sink.sendall(chunk[split:])
            return True
        if isinstance(fault, Trickle):
            link.trickle = fault.interval  # the rest of the stream trickles too
            return self._trickle(chunk[split:], sink, fault.interval)
        link.done.set()
        if isinstance(fault, Cut):
            for sock in link.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return False
        for sock in link.sockets:
            # Linger 0 makes the close (in _serve, once both pumps stopped) send RST; SHUT_RD
            # wakes the other pump's blocked recv without sending anything to the peers.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RD)
        return False

    def _trickle(self, data: bytes, sink: socket.socket, interval: float) -> bool:
        for index in range(len(data)):
            if self._stopping.wait(interval):
                return False
            sink.sendall(data[index : index + 1])
        return True

    def _fired(self, link: _Link) -> None:
        link.fired = True
        with self._lock:
            self.faults_fired += 1

    def _note_requests(self, data: bytes) -> bytes:
        """Record request lines in ``data``; return the tail that may hold a split line."""
        found = [(m.group(1).decode(), m.group(2).decode()) for m in _REQUEST_LINE.finditer(data)]
        if found:
            with self._lock:
                self.requests.extend(found)
        end = data.rfind(b"\r\n")
        return data[end + 2 :][-512:] if end >= 0 else data[-512:]


def _reset(sock: socket.socket) -> None:
    """Close with RST: the peer's next recv/send fails with ECONNRESET."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


def wait_until(condition: object, timeout: float = 5.0) -> bool:
    """Poll ``condition()`` until true (the proxy counts from its own threads)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return bool(condition())  # type: ignore[operator]
