"""Credentials for http(s):// URLs: basic or bearer auth, extra headers, TLS settings."""

from __future__ import annotations

import ipaddress

from pydantic import Field, SecretStr, field_validator, model_validator

from orchestore.credentials.base import CredentialsModel

__all__ = ["HttpCredentials"]


class HttpCredentials(CredentialsModel):
    """How to authenticate to an HTTP(S) server. Basic and bearer auth are exclusive.

    Header values are secrets too (API keys travel in headers), so they are SecretStr.
    """

    family = "http"

    username: str | None = None
    """Basic-auth user name (with ``password``)."""
    password: SecretStr | None = None
    """Basic-auth password."""
    token: SecretStr | None = None
    """Bearer token, sent as ``Authorization: Bearer <token>``."""
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    """Extra request headers, e.g. ``{"X-API-Key": "..."}``."""
    verify_ssl: bool = True
    """Verify the server's TLS certificate (turn off only for self-signed test servers)."""
    ca_bundle: str | None = None
    """Path to a PEM file of CA certificates to trust instead of the system's."""
    timeout: float = Field(default=30.0, gt=0)
    """Seconds to wait for a connection or a read before StoreUnavailableError."""
    allowed_hosts: tuple[str, ...] = ()
    """Internal hosts this connection may reach: names, IP addresses or CIDR networks.

    The http store refuses loopback, private, link-local and other internal addresses (the
    cloud metadata service, a private Vault) unless listed here, e.g. ``["127.0.0.1"]`` for a
    local test server or ``["10.0.0.0/8"]`` for an intranet.
    """
    allow_private_networks: bool = False
    """Allow every internal address (turns the address check off; prefer ``allowed_hosts``)."""
    max_response_bytes: int | None = Field(default=None, gt=0)
    """Refuse (and cut off) responses larger than this many bytes; None: no limit."""

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        # Connection extras and environment values often carry "a, b" rather than a list.
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_are_names_or_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = []
        for entry in value:
            host = entry.strip().strip("[]").rstrip(".").lower()
            if not host or (any(char in host for char in " /@?#") and not _is_network(host)):
                raise ValueError("each entry must be a host name, an IP address or a CIDR network")
            cleaned.append(host)
        return tuple(cleaned)

    @model_validator(mode="after")
    def _one_auth_method(self) -> HttpCredentials:
        if self.token is not None and (self.username is not None or self.password is not None):
            raise ValueError("configure either basic auth (username, password) or token, not both")
        if (self.username is None) != (self.password is None):
            missing = "password" if self.password is None else "username"
            raise ValueError(f"basic auth needs both username and password; missing {missing}")
        lowered = {name.lower() for name in self.headers}
        if "authorization" in lowered and (self.token is not None or self.username is not None):
            raise ValueError("an Authorization header conflicts with username/password or token")
        return self


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
