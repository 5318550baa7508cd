"""The base of every credential model: strict, immutable, and safe to print.

Every credential source (explicit kwargs, an Airflow connection, a Prefect block, Vault) produces
one of these models, and every store consumes only that model. Secrets are ``SecretStr``;
validation errors never echo the input (``hide_input_in_errors``) and surface as
CredentialsError naming the fields that were wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SecretBytes, SecretStr, ValidationError

from orchestore.errors import CredentialsError

__all__ = ["CredentialsModel"]

# Fingerprints are keyed with a per-process random key: equal credentials get equal
# fingerprints within the process, and a fingerprint cannot be brute-forced back to a secret.
_FINGERPRINT_KEY = secrets.token_bytes(32)


class CredentialsModel(BaseModel):
    """Base for S3Credentials, HttpCredentials, ...: unknown keys are an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    #: the store family these credentials are for (s3, http, ...), set by each subclass
    family: ClassVar[str] = ""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise CredentialsError(_describe(type(self).__name__, exc)) from None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> CredentialsModel:
        """Build from a mapping (a Vault secret, a connection's extra)."""
        return cls(**data)

    def fingerprint(self) -> str:
        """A stable, non-reversible digest of every field, for caching clients per credentials."""
        revealed = {name: _reveal(value) for name, value in self}
        payload = json.dumps([type(self).__name__, revealed], sort_keys=True, default=str)
        return hmac.new(_FINGERPRINT_KEY, payload.encode(), hashlib.sha256).hexdigest()[:32]


def _reveal(value: object) -> object:
    if isinstance(value, SecretStr | SecretBytes):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: _reveal(item) for key, item in value.items()}
    return value


def _describe(model: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {message}" if where else message)
    return f"invalid {model}: " + "; ".join(problems)
