"""Issue 11, item 10: the http store cannot be pointed at internal addresses, swamped or stalled.

Internal addresses (loopback, private, link-local, CGNAT, unspecified; IPv4-mapped IPv6 and
every numeric spelling the resolver accepts) are refused before connecting, on the first request
and on every redirect, unless the credentials allowlist them. A listener counts connection
attempts to prove "before connecting". Responses over ``max_response_bytes`` are refused, and a
server that trickles bytes is cut off within the read timeout.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import orchestore
from orchestore import HttpCredentials, PermissionDeniedError, RetryPolicy, StoreUnavailableError
from tests.reliability.fault_proxy import FaultProxy, Trickle
from tests.servers.http_server import HttpFileServer

LOCAL = HttpCredentials(allowed_hosts=["127.0.0.1"])


class CountingListener:
    """Accepts and counts connections on 127.0.0.1 (and ::1 when available)."""

    def __init__(self) -> None:
        self.accepted = 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._socket.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


@pytest.fixture
def listener() -> Iterator[CountingListener]:
    counting = CountingListener()
    yield counting
    counting.close()


#: every spelling of an internal address we know; {port} is the counting listener's
INTERNAL = [
    "127.0.0.1:{port}",
    "127.1:{port}",
    "2130706433:{port}",
    "0177.0.0.1:{port}",
    "0x7f.0.0.1:{port}",
    "0x7f000001:{port}",
    "127.0.0.1.:{port}",
    "localhost:{port}",
    "LOCALHOST.:{port}",
    "[::1]:{port}",
    "[::ffff:127.0.0.1]:{port}",
    "[::ffff:7f00:1]:{port}",
    "[0:0:0:0:0:ffff:127.0.0.1]:{port}",
    "[64:ff9b::7f00:1]:{port}",
    "[2002:7f00:1::]:{port}",
    "0.0.0.0:{port}",
    "0:{port}",
    "[::]:{port}",
    "169.254.169.254",
    "[::ffff:169.254.169.254]",
    "[fe80::1]:{port}",
    "10.0.0.1:{port}",
    "172.16.5.4:{port}",
    "192.168.0.1:{port}",
    "100.64.0.1:{port}",
    "[fc00::1]:{port}",
    "[fd12:3456::1]:{port}",
    "224.0.0.1:{port}",
    "255.255.255.255:{port}",
]


@pytest.mark.parametrize("host", INTERNAL)
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_internal_addresses_are_refused_before_connecting(
    listener: CountingListener, host: str, scheme: str, tally: Counter
) -> None:
    url = f"{scheme}://{host.format(port=listener.port)}/latest/meta-data/"
    tally["bad inputs tried"] += 1
    item = orchestore.get_dataitem(url, HttpCredentials(timeout=2))
    for operation in (item.get, item.stat, lambda: item.open("rb").read(1)):
        with pytest.raises(PermissionDeniedError, match="allowed_hosts"):
            operation()
    assert listener.accepted == 0
    tally["bad inputs refused"] += 1


def test_the_allowlist_names_hosts_addresses_or_networks(
    http_server: HttpFileServer, http_root: Path
) -> None:
    (http_root / "guarded.txt").write_bytes(b"allowed")
    port = http_server.port
    for allowed, host in [
        (["127.0.0.1"], "127.0.0.1"),
        (["127.0.0.0/8"], "127.0.0.1"),
        (["localhost"], "localhost"),
        (["127.0.0.1"], "localhost"),  # the address is allowed, whatever name leads there
        ("127.0.0.1, 10.0.0.0/8", "2130706433"),  # the comma-separated form of connection extras
    ]:
        credentials = HttpCredentials(allowed_hosts=allowed)
        item = orchestore.get_dataitem(f"http://{host}:{port}/guarded.txt", credentials)
        assert item.get() == b"allowed", (allowed, host)
    opened = HttpCredentials(allow_private_networks=True)
    assert orchestore.get_dataitem(f"http://127.0.0.1:{port}/guarded.txt", opened).get()
    other = HttpCredentials(allowed_hosts=["10.0.0.0/8", "intranet.example"])
    with pytest.raises(PermissionDeniedError):
        orchestore.get_dataitem(f"http://127.0.0.1:{port}/guarded.txt", other).get()


@pytest.mark.parametrize("entry", ["", "a b", "http://x/", "user@host", "10.0.0.0/33"])
def test_malformed_allowlist_entries_are_refused(entry: str, tally: Counter) -> None:
    tally["bad inputs tried"] += 1
    with pytest.raises(orchestore.CredentialsError, match="allowed_hosts"):
        HttpCredentials(allowed_hosts=[entry])
    tally["bad inputs refused"] += 1


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://[::1]:{port}/guarded.txt",
        "http://10.1.2.3:{port}/",
        "http://0x7f.0.0.2:{port}/guarded.txt",
        "http://127.0.0.2:{port}/guarded.txt",
    ],
)
def test_redirects_to_internal_addresses_are_refused(
    http_server: HttpFileServer, http_root: Path, target: str, tally: Counter
) -> None:
    """127.0.0.1 is allowlisted (the server lives there); its redirects to others are not."""
    (http_root / "guarded.txt").write_bytes(b"allowed")
    location = target.format(port=http_server.port)
    url = f"{http_server.base_url}/_test/redirect?to={location}&code=302"
    tally["bad inputs tried"] += 1
    http_server.clear_requests()
    with pytest.raises(PermissionDeniedError, match="allowed_hosts"):
        orchestore.get_dataitem(url, LOCAL).get()
    assert len(http_server.requests) == 1  # the redirect was asked for; nothing was followed
    tally["bad inputs refused"] += 1


def test_responses_over_the_maximum_are_cut_off(
    http_server: HttpFileServer, http_root: Path, tmp_path: Path, tally: Counter
) -> None:
    (http_root / "big.bin").write_bytes(b"x" * 10_000)
    (http_root / "small.bin").write_bytes(b"x" * 1_000)
    capped = HttpCredentials(allowed_hosts=["127.0.0.1"], max_response_bytes=5_000)
    assert orchestore.get_dataitem(f"{http_server.base_url}/small.bin", capped).get() == b"x" * 1000
    big = orchestore.get_dataitem(f"{http_server.base_url}/big.bin", capped)
    tally["bad inputs tried"] += 3
    with pytest.raises(PermissionDeniedError, match="larger than the configured maximum"):
        big.get()
    with pytest.raises(PermissionDeniedError, match="larger than the configured maximum"):
        big.open("rb").read()
    with pytest.raises(PermissionDeniedError, match="larger than the configured maximum"):
        orchestore.copy(big, str(tmp_path / "big.bin"))
    assert list(tmp_path.iterdir()) == []
    tally["bad inputs refused"] += 3


@pytest.mark.parametrize("after", [0, 50_000], ids=["in-the-head", "in-the-body"])
def test_a_trickling_server_is_cut_off_within_the_read_timeout(
    http_server: HttpFileServer, http_root: Path, after: int, tally: Counter
) -> None:
    """One byte every 0.2 s keeps each socket read alive; the per-call deadline still ends it.

    A server trickling from the first byte on every connection fails the read in bounded
    time; one that trickles on one connection mid-body is cut off and resumed elsewhere."""
    data = b"t" * 200_000
    (http_root / "trickled.bin").write_bytes(data)
    policy = RetryPolicy(attempts=2, backoff=0.05, connect_timeout=1, read_timeout=1)
    with FaultProxy("127.0.0.1", http_server.port) as proxy:
        item = orchestore.get_dataitem(f"{proxy.url}/trickled.bin", LOCAL, retry=policy)
        started = time.monotonic()
        if after == 0:
            proxy.always(Trickle(after=0, interval=0.2))
            with pytest.raises(StoreUnavailableError, match="timed out"):
                item.get()
        else:
            proxy.inject(Trickle(after=after, interval=0.2))
            assert item.get() == data
        elapsed = time.monotonic() - started
        tally["faults injected"] += proxy.faults_fired
        tally["faults failed cleanly" if after == 0 else "faults survived"] += proxy.faults_fired
    # each attempt is given read_timeout (1 s) per MiB: two attempts and a pause, not 11 hours
    assert elapsed < policy.attempts * (policy.read_timeout + 1) + 1, elapsed
