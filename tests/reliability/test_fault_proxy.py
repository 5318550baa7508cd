"""The fault proxy itself: each fault does what it says, seen with a raw http.client."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.fault_proxy import Cut, FaultProxy, Flip, Reset, Stall, Trickle
from tests.servers.http_server import HttpFileServer

BODY = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def proxy(http_server: HttpFileServer, http_root: Path) -> Iterator[FaultProxy]:
    (http_root / "proxy-body.bin").write_bytes(BODY)
    with FaultProxy("127.0.0.1", http_server.port) as running:
        yield running


def _get(proxy: FaultProxy, timeout: float = 10) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=timeout)
    try:
        connection.request("GET", "/proxy-body.bin")
        return connection.getresponse().read()
    finally:
        connection.close()


def test_relays_unchanged_and_counts_requests(proxy: FaultProxy) -> None:
    assert _get(proxy) == BODY
    assert proxy.count("GET", "proxy-body") == 1
    assert proxy.connections == 1 and proxy.faults_fired == 0


def test_reset_breaks_the_connection(proxy: FaultProxy) -> None:
    proxy.inject(Reset(after=100_000))
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
        _get(proxy)
    assert proxy.faults_fired == 1
    assert _get(proxy) == BODY  # one fault, one connection


def test_cut_gives_a_short_stream(proxy: FaultProxy) -> None:
    proxy.inject(Cut(after=300_000))
    with pytest.raises(http.client.IncompleteRead) as raised:
        _get(proxy)
    assert len(raised.value.partial) < len(BODY)


def test_flip_changes_exactly_one_byte(proxy: FaultProxy) -> None:
    proxy.inject(Flip(after=500_000))
    got = _get(proxy)
    assert len(got) == len(BODY) and got != BODY
    assert sum(a != b for a, b in zip(got, BODY, strict=True)) == 1


def test_stall_and_trickle_delay(proxy: FaultProxy) -> None:
    proxy.inject(Stall(after=1000, seconds=0.5))
    started = time.monotonic()
    assert _get(proxy) == BODY
    assert time.monotonic() - started >= 0.5
    proxy.inject(Trickle(after=len(BODY) // 2, interval=1.0))
    with pytest.raises(TimeoutError):
        _get(proxy, timeout=0.5)  # from the middle on, one byte a second: the read times out


def test_an_untriggered_fault_waits_for_the_next_connection(
    proxy: FaultProxy, http_root: Path
) -> None:
    (http_root / "small.txt").write_bytes(b"small")
    proxy.inject(Reset(after=100_000))
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    connection.request("GET", "/small.txt")
    assert connection.getresponse().read() == b"small"
    connection.close()
    time.sleep(0.2)
    assert proxy.pending == 1  # the small exchange did not trigger it: it is queued again
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
        _get(proxy)
