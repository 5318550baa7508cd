"""Which addresses the http(s) store may connect to: public ones, unless the connection says more.

A URL is data a DAG author or a catalog record supplies, so without this check
``https://169.254.169.254/latest/meta-data/`` would read the cloud metadata service and
``http://10.0.0.5:8200/`` a private Vault. The guard runs when a connection is opened (the
first request and every redirect hop): it resolves the host itself, refuses if any address is
loopback, private, link-local, shared (CGNAT), multicast, reserved or unspecified (in any
spelling: ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``[::ffff:127.0.0.1]``, ``localhost.``,
or a name that resolves there), and hands back the vetted addresses so the socket connects to
exactly those (a second DNS answer cannot swap in another: no rebinding).

The allowlist (HttpCredentials ``allowed_hosts``) names hosts, IP addresses or networks in
CIDR form that may be internal; ``allow_private_networks=True`` turns the guard off.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from orchestore.errors import PermissionDeniedError, StoreUnavailableError

__all__ = ["AddressGuard", "is_public"]

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolved = tuple[int, int, int, str, tuple[object, ...]]


def _canonical(address: _Address) -> _Address:
    """An IPv4-mapped or NAT64-embedded IPv6 address judged as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in ipaddress.ip_network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return address


def is_public(address: _Address) -> bool:
    """True for a globally routable unicast address."""
    address = _canonical(address)
    return address.is_global and not address.is_multicast


def _host_name(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class AddressGuard:
    """Refuses internal addresses unless ``allowed`` lists them (see the module docstring)."""

    allowed: tuple[str, ...] = ()
    allow_private_networks: bool = False

    @classmethod
    def build(cls, allowed: Iterable[str], allow_private_networks: bool) -> AddressGuard:
        return cls(tuple(_host_name(entry) for entry in allowed), allow_private_networks)

    def resolve(self, host: str, port: int, where: str) -> list[Resolved]:
        """The addresses to connect to for ``host``; PermissionDeniedError for internal ones."""
        name = _host_name(host)
        try:
            found = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise StoreUnavailableError(
                f"cannot resolve the host {name!r} ({type(exc).__name__})", url=where
            ) from None
        if self.allow_private_networks or name in self.allowed:
            return list(found)
        for *_, sockaddr in found:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if not is_public(address) and not self._allowlisted(address):
                raise PermissionDeniedError(
                    f"refused to connect to {name!r}: it resolves to the internal address "
                    f"{address} (loopback, private, link-local or reserved). Add the host to "
                    "the connection's allowed_hosts to allow it",
                    url=where,
                )
        return list(found)

    def _allowlisted(self, address: _Address) -> bool:
        candidates = {address, _canonical(address)}
        for entry in self.allowed:
            try:
                network: _Network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue  # a host name: matched by name above
            if any(candidate in network for candidate in candidates):
                return True
        return False


def connect(
    addresses: list[Resolved], timeout: float | None, sock_type: type[socket.socket]
) -> socket.socket:
    """A socket of ``sock_type`` connected to the first address that answers."""
    failure: OSError | None = None
    for family, kind, proto, _, sockaddr in addresses:
        sock = sock_type(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            failure = exc
    raise failure or OSError("no address to connect to")
