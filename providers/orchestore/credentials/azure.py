"""Credentials for az://, abfs(s):// and wasb(s):// URLs (Azure Blob Storage, Data Lake Gen2).

Exactly one way to authenticate may be configured:

- ``connection_string`` (it names the account and endpoint itself);
- ``account_name`` + ``account_key`` (shared key);
- ``account_name`` + ``sas_token``;
- ``account_name`` + ``tenant_id`` + ``client_id`` + ``client_secret`` (service principal);
- ``account_name`` + ``use_ambient_identity=True`` (DefaultAzureCredential: managed identity,
  workload identity, az login), chosen explicitly, never as a fallback.

This module imports pydantic only; the store turns the model into SDK objects.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import SecretStr, field_validator, model_validator

from orchestore.credentials.base import CredentialsModel
from orchestore.errors import CredentialsError

__all__ = ["AzureCredentials", "parse_connection_string"]

_ACCOUNT_RE = re.compile(r"^[a-z0-9]{3,24}$")
_SERVICE_PRINCIPAL = ("tenant_id", "client_id", "client_secret")
_NEEDS_ACCOUNT = "account_name (AZURE_STORAGE_ACCOUNT_NAME)"
_WAYS = (
    "connection_string; account_name + account_key; account_name + sas_token; "
    "account_name + tenant_id + client_id + client_secret"
)


_CONNECTION_KEYS = frozenset(
    {
        "ACCOUNTKEY",
        "ACCOUNTNAME",
        "BLOBENDPOINT",
        "BLOBSECONDARYENDPOINT",
        "DEFAULTENDPOINTSPROTOCOL",
        "DEVELOPMENTSTORAGEPROXYURI",
        "DFSENDPOINT",
        "ENDPOINTSUFFIX",
        "FILEENDPOINT",
        "QUEUEENDPOINT",
        "SHAREDACCESSSIGNATURE",
        "TABLEENDPOINT",
        "USEDEVELOPMENTSTORAGE",
    }
)


def parse_connection_string(text: str) -> dict[str, str]:
    """``Key=Value;...`` pairs with upper-cased keys; values keep their ``=`` (base64 keys).

    Errors never quote the text: a mangled string may be mostly secret.
    """
    pairs: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, equals, value = part.partition("=")
        if not equals or key.strip().upper() not in _CONNECTION_KEYS:
            raise ValueError(
                "connection_string must be Key=Value pairs separated by ';' with Azure's keys "
                "(AccountName, AccountKey, SharedAccessSignature, BlobEndpoint, ...)"
            )
        pairs[key.strip().upper()] = value.strip()
    if not pairs.keys() & {"ACCOUNTNAME", "BLOBENDPOINT", "USEDEVELOPMENTSTORAGE"}:
        raise ValueError("connection_string names no account: it needs AccountName or BlobEndpoint")
    return pairs


class AzureCredentials(CredentialsModel):
    """How to authenticate to one Azure storage account; exactly one method.

    ``blob_endpoint`` overrides ``https://<account_name>.blob.core.windows.net`` for Azurite,
    Azure Stack or sovereign clouds (a connection string carries its own ``BlobEndpoint``).
    """

    family = "azure"
    aliases: ClassVar[dict[str, str]] = {
        "AZURE_STORAGE_CONNECTION_STRING": "connection_string",
        "AZURE_STORAGE_ACCOUNT_NAME": "account_name",
        "AZURE_STORAGE_ACCOUNT_KEY": "account_key",
        "AZURE_STORAGE_SAS_TOKEN": "sas_token",
        "AZURE_STORAGE_TENANT_ID": "tenant_id",
        "AZURE_STORAGE_CLIENT_ID": "client_id",
        "AZURE_STORAGE_CLIENT_SECRET": "client_secret",
    }

    connection_string: SecretStr | None = None
    """A connection string: ``AccountName=..;AccountKey=..`` or ``..;SharedAccessSignature=..``."""
    account_name: str | None = None
    """The storage account name; needed by every method but the connection string."""
    account_key: SecretStr | None = None
    """The account's shared key (base64)."""
    sas_token: SecretStr | None = None
    """A shared access signature (account or container SAS), with or without the leading ``?``."""
    tenant_id: str | None = None
    """Service principal: the Azure AD (Entra ID) tenant."""
    client_id: str | None = None
    """Service principal: the application (client) id."""
    client_secret: SecretStr | None = None
    """Service principal: the client secret."""
    blob_endpoint: str | None = None
    """The account's blob endpoint URL, e.g. ``http://127.0.0.1:10000/devstoreaccount1``."""
    authority_host: str = "login.microsoftonline.com"
    """Service principal: the Azure AD authority (sovereign clouds); never read from AZURE_*."""
    use_ambient_identity: bool = False
    """Use the platform's identity (DefaultAzureCredential) with ``account_name``."""

    @field_validator("account_name")
    @classmethod
    def _valid_account(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT_RE.match(value):
            raise ValueError("must be 3-24 lower-case letters and digits")
        return value

    @field_validator("blob_endpoint")
    @classmethod
    def _valid_endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/?#@]+(/[^?#]*)?$", value):
            raise ValueError("must be an http(s) URL without query, fragment or user info")
        return value.rstrip("/") if value is not None else None

    @field_validator("sas_token")
    @classmethod
    def _strip_question_mark(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        return SecretStr(value.get_secret_value().lstrip("?"))

    @model_validator(mode="after")
    def _one_method(self) -> AzureCredentials:
        methods = self.configured_methods()
        if len(methods) > 1:
            raise ValueError(f"configure exactly one method, not both {' and '.join(methods)}")
        given = [name for name in _SERVICE_PRINCIPAL if getattr(self, name) is not None]
        if given and len(given) < len(_SERVICE_PRINCIPAL):
            missing = [name for name in _SERVICE_PRINCIPAL if name not in given]
            raise ValueError(
                f"a service principal needs tenant_id, client_id and client_secret; "
                f"missing {', '.join(missing)}"
            )
        if self.connection_string is not None:
            self._check_connection_string(self.connection_string.get_secret_value())
        elif methods and self.account_name is None:
            raise ValueError(f"{methods[0]} needs {_NEEDS_ACCOUNT}; missing account_name")
        token = given or self.use_ambient_identity
        if token and (self.blob_endpoint or "https:").startswith("http:"):
            raise ValueError(f"{methods[0]} sends tokens over https only; blob_endpoint is http")
        return self

    def _check_connection_string(self, text: str) -> None:
        pairs = parse_connection_string(text)
        if self.blob_endpoint is not None:
            raise ValueError(
                "blob_endpoint conflicts with connection_string; put BlobEndpoint= in the "
                "connection string instead"
            )
        named = pairs.get("ACCOUNTNAME")
        if self.account_name is not None and named is not None and named != self.account_name:
            raise ValueError(
                f"account_name '{self.account_name}' differs from the connection string's "
                f"AccountName '{named}'"
            )

    def configured_methods(self) -> list[str]:
        """The authentication methods these credentials configure (at most one is valid)."""
        methods = []
        if self.connection_string is not None:
            methods.append("connection_string")
        if self.account_key is not None:
            methods.append("account_key")
        if self.sas_token is not None:
            methods.append("sas_token")
        if any(getattr(self, name) is not None for name in _SERVICE_PRINCIPAL):
            methods.append("service principal (tenant_id, client_id, client_secret)")
        if self.use_ambient_identity:
            methods.append("use_ambient_identity")
        return methods

    @property
    def method(self) -> str | None:
        """The one configured method, or None."""
        methods = self.configured_methods()
        return methods[0] if methods else None

    def check_usable(self) -> None:
        """Fail closed: no method configured is an error, never the SDK's environment lookup."""
        if self.method is not None:
            return
        if self.account_name is None:
            missing = "connection_string, or account_name with a secret"
        else:
            missing = "account_key, sas_token or tenant_id + client_id + client_secret"
        raise CredentialsError(
            f"AzureCredentials from {self.source}: no credentials configured (missing "
            f"{missing}; the methods are: {_WAYS}). use_ambient_identity=True (with "
            "account_name) selects the platform's identity (DefaultAzureCredential) explicitly; "
            "AZURE_* environment variables are never read implicitly"
        )
