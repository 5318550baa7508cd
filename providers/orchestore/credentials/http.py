"""Credentials for http(s):// URLs: basic or bearer auth, extra headers, TLS settings."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

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
