"""Credentials for gs:// and gcs:// URLs: a key file's contents, a key file path, or none.

Exactly one way to authenticate may be configured:

- ``credentials_json``: the service-account key file's CONTENTS (MLRun's ``GCP_CREDENTIALS``),
  a secret that is parsed in memory and never written to disk;
- ``credentials_file``: the path of a key file (MLRun's ``GOOGLE_APPLICATION_CREDENTIALS``);
- ``anonymous=True``: no credentials, for public buckets;
- ``use_ambient_identity=True``: Application Default Credentials (workload identity, the
  metadata server, ``gcloud auth application-default login``), chosen explicitly.

With none of them the store refuses to start (``check_usable``) instead of letting the SDK search
the environment. This module imports only pydantic and the standard library.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import SecretStr, field_validator, model_validator

from orchestore.credentials.base import CredentialsModel
from orchestore.errors import CredentialsError

__all__ = ["GCSCredentials"]

#: the key-file types accepted here, and the fields each needs; workload-identity federation
#: configs (external_account, ...) can run programs or read files, so they are left to
#: Application Default Credentials (use_ambient_identity) where the platform sets them up
REQUIRED_KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "service_account": ("client_email", "private_key", "token_uri"),
    "authorized_user": ("client_id", "client_secret", "refresh_token"),
}
_METHODS = ("credentials_json", "credentials_file", "anonymous", "use_ambient_identity")


class GCSCredentials(CredentialsModel):
    """How to authenticate to Google Cloud Storage (or an emulator). One method at a time."""

    family = "gcs"
    aliases: ClassVar[dict[str, str]] = {
        "GCP_CREDENTIALS": "credentials_json",
        "GOOGLE_APPLICATION_CREDENTIALS": "credentials_file",
    }

    credentials_json: SecretStr | None = None
    """The key file's JSON contents (service account, authorized user, external account)."""
    credentials_file: str | None = None
    """Path of a key file on this machine; read when the store is built."""
    project: str | None = None
    """Project id; defaults to the key file's ``project_id``. Only bucket listing needs it."""
    endpoint_url: str | None = None
    """``http(s)://host[:port]`` of an emulator or private endpoint; the public API otherwise."""
    anonymous: bool = False
    """Send no credentials at all: public buckets only."""
    use_ambient_identity: bool = False
    """Use Application Default Credentials (workload identity, metadata server, gcloud)."""

    @field_validator("credentials_json")
    @classmethod
    def _key_file_contents(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            key_file_info(value.get_secret_value(), "credentials_json")
        return value

    @field_validator("credentials_file")
    @classmethod
    def _key_file_path(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or value.lstrip().startswith("{")):
            # MLRun lets GOOGLE_APPLICATION_CREDENTIALS hold JSON; here a path is not a secret
            # and would be shown in reprs, so the contents belong in credentials_json.
            raise ValueError(
                "expected the path of a key file; put the key file's contents in "
                "credentials_json (GCP_CREDENTIALS) instead"
            )
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, sep, rest = value.partition("://")
        host = rest.split("/", 1)[0]
        if not sep or scheme.lower() not in ("http", "https") or not host or "@" in host:
            raise ValueError("expected http(s)://host[:port] without credentials")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_method(self) -> GCSCredentials:
        chosen = self.methods()
        if len(chosen) > 1:
            raise ValueError(
                f"configure one way to authenticate, not several: {' and '.join(chosen)}"
            )
        return self

    def methods(self) -> list[str]:
        """The names of the authentication methods configured (at most one when valid)."""
        return [name for name in _METHODS if getattr(self, name) not in (None, False)]

    def check_usable(self) -> None:
        """Fail closed: never let the SDK look for credentials on its own."""
        if not self.methods():
            raise CredentialsError(
                f"no GCS credentials configured ({self.source}): set credentials_json "
                "(GCP_CREDENTIALS) or credentials_file (GOOGLE_APPLICATION_CREDENTIALS); "
                "use_ambient_identity=True selects Application Default Credentials "
                "explicitly, and anonymous=True reads public buckets without credentials"
            )


def key_file_info(text: str, field: str) -> dict[str, Any]:
    """Parse a key file's JSON and check the fields its ``type`` needs; never echo the text."""
    try:
        info = json.loads(text)
    except ValueError as exc:
        line, column = getattr(exc, "lineno", "?"), getattr(exc, "colno", "?")
        raise ValueError(f"{field} is not valid JSON (line {line}, column {column})") from None
    if not isinstance(info, dict):
        raise ValueError(f"{field} must be a JSON object (a key file), not {type(info).__name__}")
    kind = info.get("type")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"{field} has no 'type' field; is it a Google key file?")
    if kind not in REQUIRED_KEY_FIELDS:
        raise ValueError(
            f"{field} has an unsupported 'type': expected a service_account or authorized_user "
            "key file (for workload identity federation use use_ambient_identity=True)"
        )
    missing = [
        name
        for name in REQUIRED_KEY_FIELDS[kind]
        if not isinstance(info.get(name), str) or not info[name]
    ]
    if missing:
        raise ValueError(f"{field} ({kind} key) is missing {', '.join(missing)}")
    return info
