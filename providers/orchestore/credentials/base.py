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
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, SecretBytes, SecretStr, ValidationError

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
    #: MLRun environment-variable names accepted by from_mapping -> the field each one sets
    aliases: ClassVar[dict[str, str]] = {}

    # Where these credentials came from ("explicit credentials", "Vault secret kv/data/s3",
    # "Airflow connection 'aws_default'"): named in errors so a refusal points at its source.
    _source: str = PrivateAttr(default="explicit credentials")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise CredentialsError(_describe(type(self).__name__, exc)) from None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str | None = None) -> Any:
        """Build from a mapping keyed by field names or MLRun variable names (``aliases``).

        This is how a Vault secret, a connection's extra or a block's fields become a model;
        an unknown key is a CredentialsError naming it, and so is a field given twice.
        """
        fields: dict[str, Any] = {}
        given_as: dict[str, str] = {}
        for key, value in data.items():
            name = cls.aliases.get(key, key)
            if name in fields:
                raise CredentialsError(
                    f"{cls.__name__}: '{given_as[name]}' and '{key}' both set the field '{name}'"
                )
            fields[name], given_as[name] = value, key
        model = cls(**fields)
        if source is not None:
            model._source = source
        return model

    @property
    def source(self) -> str:
        """Where these credentials came from, for error messages (never their values)."""
        return self._source

    def with_source(self, source: str) -> Any:
        """A copy that names ``source`` in errors."""
        copy = self.model_copy()
        copy._source = source
        return copy

    def check_usable(self) -> None:
        """Raise CredentialsError when no way to authenticate is configured (fail closed).

        Cloud models override this: with nothing configured they must not fall back to the
        SDK's environment lookup unless ``use_ambient_identity`` says so.
        """

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
