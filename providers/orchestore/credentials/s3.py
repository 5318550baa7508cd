"""Credentials for s3:// URLs on AWS or any S3-compatible endpoint (MinIO, Wasabi, Ceph).

One of these selects how requests are signed, and they exclude each other:

- keys: ``access_key_id`` + ``secret_access_key`` (+ ``session_token`` for temporary keys);
- ``profile``: a named profile of an AWS credentials file (the key fields are then ignored, as
  MLRun ignores them when AWS_PROFILE is set);
- ``anonymous``: unsigned requests, for public buckets;
- ``use_ambient_identity``: the SDK's default chain (instance profile, IRSA / web identity,
  container credentials, AWS_* variables), chosen explicitly.

``role_arn`` adds a role assumed through STS on top of keys, a profile or the ambient identity.
With nothing configured the store refuses to start (fail closed) instead of letting the SDK
pick up whatever the environment holds.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator, model_validator

from orchestore.credentials.base import CredentialsModel
from orchestore.errors import CredentialsError

__all__ = ["S3Credentials"]

_KEY_FIELDS = ("access_key_id", "secret_access_key", "session_token")


class S3Credentials(CredentialsModel):
    """How to sign requests to S3 or an S3-compatible endpoint."""

    family = "s3"
    aliases: ClassVar[dict[str, str]] = {
        "AWS_ACCESS_KEY_ID": "access_key_id",
        "AWS_SECRET_ACCESS_KEY": "secret_access_key",
        "AWS_SESSION_TOKEN": "session_token",
        "S3_ENDPOINT_URL": "endpoint_url",
        "AWS_REGION": "region",
        "AWS_DEFAULT_REGION": "region",
        "MLRUN_AWS_ROLE_ARN": "role_arn",
        "AWS_PROFILE": "profile",
        "AWS_SHARED_CREDENTIALS_FILE": "credentials_file",
    }

    access_key_id: str | None = None
    """The access key id (MLRun: AWS_ACCESS_KEY_ID); needs ``secret_access_key``."""
    secret_access_key: SecretStr | None = None
    """The secret access key (MLRun: AWS_SECRET_ACCESS_KEY); needs ``access_key_id``."""
    session_token: SecretStr | None = None
    """The session token of temporary keys (AWS_SESSION_TOKEN); needs both key fields."""
    endpoint_url: str | None = None
    """An S3-compatible endpoint, e.g. ``http://minio:9000`` (MLRun: S3_ENDPOINT_URL).

    Unset means AWS. STS calls for ``role_arn`` go to the same endpoint.
    """
    region: str | None = None
    """The region to sign for (AWS_REGION or AWS_DEFAULT_REGION), e.g. ``eu-west-1``."""
    role_arn: str | None = None
    """A role to assume through STS (MLRun: MLRUN_AWS_ROLE_ARN), refreshed before it expires.

    The role is assumed with the keys, the profile or the ambient identity.
    """
    profile: str | None = None
    """A named profile of an AWS credentials file (MLRun: AWS_PROFILE); key fields are ignored."""
    credentials_file: str | None = None
    """The credentials file ``profile`` is read from (AWS_SHARED_CREDENTIALS_FILE).

    Defaults to ``~/.aws/credentials``; only static-key profiles are supported.
    """
    anonymous: bool = False
    """Send unsigned requests, for public buckets; excludes every other way to authenticate."""
    use_ambient_identity: bool = False
    """Use the SDK's default credential chain: instance profile, IRSA / web identity, AWS_*.

    Only the identity comes from the platform: endpoint, region and TLS still come from here.
    """
    verify_ssl: bool = True
    """Verify the endpoint's TLS certificate (turn off only for self-signed test endpoints)."""
    ca_bundle: str | None = None
    """A PEM file of CA certificates to trust for the endpoint, e.g. a private MinIO's CA."""

    @model_validator(mode="before")
    @classmethod
    def _empty_means_unset(cls, data: object) -> object:
        # Env files and secrets often carry AWS_SESSION_TOKEN="" and the like: that is "unset".
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (v == "" and k in cls.model_fields)}
        return data

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_is_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry credentials; use the key fields")
        return value.rstrip("/")

    @field_validator("role_arn")
    @classmethod
    def _role_is_an_arn(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("arn:"):
            raise ValueError("must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
        return value

    @model_validator(mode="after")
    def _methods_are_consistent(self) -> S3Credentials:
        keys = [name for name in _KEY_FIELDS if getattr(self, name) is not None]
        if self.anonymous:
            others = [*keys, *self._set_fields("profile", "role_arn", "use_ambient_identity")]
            if others:
                raise ValueError(f"anonymous excludes {', '.join(others)}")
        if self.use_ambient_identity:
            others = [*keys, *self._set_fields("profile")]
            if others:
                raise ValueError(f"use_ambient_identity excludes {', '.join(others)}")
        if self.credentials_file is not None and self.profile is None:
            raise ValueError("credentials_file needs profile (profile='default' for its default)")
        if self.profile is None:
            _check_key_pairs(keys)
        if not self.verify_ssl and self.ca_bundle is not None:
            raise ValueError("ca_bundle and verify_ssl=False exclude each other")
        return self

    def _set_fields(self, *names: str) -> list[str]:
        return [name for name in names if getattr(self, name) not in (None, False)]

    @property
    def uses_keys(self) -> bool:
        """True when requests are signed with the key fields (no profile overrides them)."""
        return self.profile is None and self.access_key_id is not None

    def check_usable(self) -> None:
        """Fail closed: with nothing configured, refuse instead of asking the environment."""
        if self.anonymous or self.use_ambient_identity or self.profile or self.uses_keys:
            return
        if self.role_arn is not None:
            raise CredentialsError(
                f"S3Credentials ({self.source}): role_arn needs credentials to assume it with: "
                "access_key_id and secret_access_key, or profile, or use_ambient_identity=True"
            )
        raise CredentialsError(
            f"S3Credentials ({self.source}): no credentials configured; missing "
            "access_key_id and secret_access_key (or profile). Set use_ambient_identity=True "
            "to use the platform's identity (instance profile, IRSA / web identity), or "
            "anonymous=True for public buckets"
        )


def _check_key_pairs(keys: list[str]) -> None:
    given = set(keys)
    if "secret_access_key" in given and "access_key_id" not in given:
        raise ValueError("secret_access_key is set but access_key_id is missing")
    if "access_key_id" in given and "secret_access_key" not in given:
        raise ValueError("access_key_id is set but secret_access_key is missing")
    if "session_token" in given and not {"access_key_id", "secret_access_key"} <= given:
        raise ValueError("session_token needs access_key_id and secret_access_key")
