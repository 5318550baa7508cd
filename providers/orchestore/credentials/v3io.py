"""Credentials for v3io:// and v3ios:// URLs: Iguazio's v3io web API.

One of two ways to authenticate, and they exclude each other:

- ``access_key``: sent as the ``X-v3io-session-key`` header (MLRun: V3IO_ACCESS_KEY);
- ``username`` + ``password``: HTTP Basic auth (older MLRun: V3IO_USERNAME, V3IO_PASSWORD).

``api_url`` is the web API (MLRun: V3IO_API) that ``v3io:///container/path`` URLs go to;
``v3ios://host[:port]/container/path`` URLs name their own host and need no ``api_url``.
Nothing is read from the environment: with no key and no user configured the store refuses
to start (fail closed) rather than pick up a V3IO_ACCESS_KEY that happens to be set.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from orchestore.credentials.base import CredentialsModel
from orchestore.errors import CredentialsError

__all__ = ["V3ioCredentials"]


class V3ioCredentials(CredentialsModel):
    """How to reach and authenticate to a v3io web API."""

    family = "v3io"
    aliases: ClassVar[dict[str, str]] = {
        "V3IO_API": "api_url",
        "V3IO_ACCESS_KEY": "access_key",
        "V3IO_USERNAME": "username",
        "V3IO_PASSWORD": "password",
    }

    api_url: str | None = None
    """The web API, ``http(s)://host[:port]`` with no path (MLRun: V3IO_API)."""
    access_key: SecretStr | None = None
    """The session key, sent as ``X-v3io-session-key`` (MLRun: V3IO_ACCESS_KEY)."""
    username: str | None = None
    """Basic-auth user (MLRun: V3IO_USERNAME), with ``password``; excludes ``access_key``."""
    password: SecretStr | None = None
    """Basic-auth password (MLRun: V3IO_PASSWORD)."""
    verify_ssl: bool = True
    """Verify the server's TLS certificate (turn off only for self-signed test servers)."""
    ca_bundle: str | None = None
    """Path to a PEM file of CA certificates to trust instead of the system's."""
    timeout: float = Field(default=60.0, gt=0)
    """Seconds to wait for a connection or a read before StoreUnavailableError."""

    @field_validator("api_url")
    @classmethod
    def _plain_origin(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be http(s)://host[:port], e.g. https://webapi.default-tenant")
        if parts.path.strip("/") or parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError("must be http(s)://host[:port] with no path, query or user")
        return f"{parts.scheme}://{parts.netloc}"

    @model_validator(mode="after")
    def _one_auth_method(self) -> V3ioCredentials:
        if self.access_key is not None and (self.username is not None or self.password is not None):
            raise ValueError(
                "configure either access_key (V3IO_ACCESS_KEY) or username and password "
                "(V3IO_USERNAME, V3IO_PASSWORD), not both"
            )
        if (self.username is None) != (self.password is None):
            missing = "password (V3IO_PASSWORD)" if self.password is None else "username"
            raise ValueError(f"basic auth needs both username and password; missing {missing}")
        return self

    def check_usable(self) -> None:
        """Fail closed: a v3io store needs an access key or a user, never the environment's."""
        if self.access_key is None and self.username is None:
            raise CredentialsError(
                "V3ioCredentials: no way to authenticate is configured: set access_key "
                "(V3IO_ACCESS_KEY) or username and password (V3IO_USERNAME, V3IO_PASSWORD); "
                f"environment variables are never read (credentials: {self.source})"
            )

    @property
    def basic_auth(self) -> bool:
        """Whether requests use Basic auth rather than the session-key header."""
        return self.username is not None
