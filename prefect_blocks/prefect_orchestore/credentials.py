"""Credential blocks: one thin Prefect block per store family, plus Vault connection blocks.

Each block's fields are built from the core model's ``model_fields`` (same names, types,
defaults and constraints; descriptions from the model's attribute docstrings), so the forms in
the Prefect UI never drift from the models the stores consume. Validation is the model's own:
a block validates by building its model, and ``to_credentials()`` returns that model.

A credential block may hold ``vault`` (a ``VaultSecretRef`` block) instead of secrets; the
secret is then read on first use through ``orchestore.credentials.resolve_credentials`` (and
cached by the core), never when the block is built or loaded.
"""

from __future__ import annotations

import ast
import copy
import inspect
import itertools
import textwrap
from abc import ABC
from functools import cache
from typing import Any, ClassVar

from prefect.blocks.core import Block
from prefect.types import SecretDict
from pydantic import ConfigDict, Field, SecretStr, model_validator
from pydantic.fields import FieldInfo

from orchestore.credentials import (
    AzureCredentials,
    CredentialsModel,
    GCSCredentials,
    HttpCredentials,
    S3Credentials,
    V3ioCredentials,
    resolve_credentials,
)
from orchestore.credentials import vault as core_vault
from orchestore.errors import CredentialsError
from orchestore.urls import StoreURL

__all__ = [
    "CREDENTIAL_BLOCKS",
    "AzureStoreCredentials",
    "GCSStoreCredentials",
    "HttpStoreCredentials",
    "S3StoreCredentials",
    "StoreCredentialsBlock",
    "V3ioStoreCredentials",
    "VaultConnection",
    "VaultSecretRef",
]

#: the README's Prefect section (GitHub's anchor for the heading "Quickstart: Prefect")
DOCS_URL = "https://github.com/orchestore/orchestore#quickstart-prefect"
#: a square SVG (a database with a key) from the MIT-licensed flat-color-icons npm package,
#: pinned to one version on jsDelivr so it never changes. Prefect validates logo URLs as
#: http(s) when it registers a block type, so a data: URL is refused.
LOGO_URL = "https://cdn.jsdelivr.net/npm/flat-color-icons@1.1.0/svg/data_encryption.svg"

# Prefect's Block allows extra fields (a misspelled keyword is silently kept): ours refuse them.
# Inputs are never echoed in validation errors: they may be secrets.
_STRICT = ConfigDict(extra="forbid", hide_input_in_errors=True)


# -- deriving block fields from a core model ------------------------------------------------------
@cache
def _attribute_docs(model: type[CredentialsModel]) -> dict[str, str]:
    """The attribute docstrings of ``model`` (its field documentation), by field name."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(model)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, following in itertools.pairwise(body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
            docs[node.target.id] = str(following.value.value)
    return docs


def _description(text: str) -> str:
    """One line for a form: the docstring's first paragraph, rST quoting dropped, with a period."""
    first = " ".join(text.strip().split("\n\n")[0].split()).replace("``", "`")
    return first if first.endswith(".") else first + "."


def derived_fields(
    model: type[CredentialsModel], *, replace: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, FieldInfo]]:
    """``(annotations, fields)`` for a block class body mirroring ``model``'s fields.

    ``replace`` swaps a field's annotation (a nested core model becomes its block). Mappings of
    secrets become ``SecretDict``, which Prefect stores and masks as a whole.
    """
    docs = _attribute_docs(model)
    annotations: dict[str, Any] = {}
    fields: dict[str, FieldInfo] = {}
    for name, info in model.model_fields.items():
        field = copy.copy(info)
        field.description = _description(docs.get(name) or info.description or name)
        annotation = (replace or {}).get(name, info.annotation)
        if annotation == dict[str, SecretStr]:
            # Prefect masks a SecretDict as a whole (``headers.*``) and stores it on save; a
            # dict of SecretStr would be saved masked. None stands for the model's empty dict.
            annotation = SecretDict | None
            field.default_factory = None
            field.default = None
        annotations[name] = annotation
        fields[name] = field
    return annotations, fields


def _plain(value: Any) -> Any:
    """A field value as the core model takes it (SecretDict -> a dict of strings)."""
    if isinstance(value, SecretDict):
        return value.get_secret_value()
    if isinstance(value, Block):
        raise TypeError("nested blocks are converted by their owner")
    return value


def _block_name(block: Block) -> str:
    """``Prefect block 'slug/name'`` for messages (the document name is known once saved)."""
    slug = block.get_block_type_slug()
    name = getattr(block, "_block_document_name", None)
    return f"Prefect block '{slug}/{name}'" if name else f"Prefect block '{slug}' (unsaved)"


class StrictBlock(Block, ABC):
    """A Block that rejects unknown fields (ABC in its bases: never registered itself)."""

    model_config = _STRICT

    @model_validator(mode="before")
    @classmethod
    def _drop_block_type_slug(cls, values: Any) -> Any:
        # Prefect adds block_type_slug to a saved block's data and checks it in its own
        # before-validator; with extra="forbid" it would be refused as unknown, so check it
        # here and drop it.
        if isinstance(values, dict) and "block_type_slug" in values:
            values = dict(values)
            slug = values.pop("block_type_slug")
            if slug and slug != cls.get_block_type_slug():
                raise ValueError(
                    f"block_type_slug: expected {cls.get_block_type_slug()!r}, got {slug!r}"
                )
        return values


# -- Vault ----------------------------------------------------------------------------------------
_vault_annotations, _vault_fields = derived_fields(core_vault.VaultConnection)


class VaultConnection(StrictBlock):
    """How to reach HashiCorp Vault (or OpenBao) and log in; secrets stay write-only in the UI."""

    _block_type_name = "Orchestore Vault Connection"
    _block_type_slug = "orchestore-vault-connection"
    _description = (
        "How orchestore reaches HashiCorp Vault or OpenBao and logs in (token, AppRole, "
        "Kubernetes, userpass or JWT). Used by Orchestore Vault Secret Ref blocks."
    )
    _documentation_url = DOCS_URL
    _logo_url = LOGO_URL
    _code_example = """
```python
from prefect_orchestore import VaultConnection

VaultConnection(url="http://127.0.0.1:8200", token="dev-only-token").save(
    "BLOCK_NAME", overwrite=True
)
vault_connection_block = VaultConnection.load("BLOCK_NAME")
```
"""

    __annotations__ = _vault_annotations
    locals().update(_vault_fields)

    @model_validator(mode="after")
    def _valid_as_core_model(self) -> VaultConnection:
        self.to_connection()
        return self

    def to_connection(self) -> core_vault.VaultConnection:
        """The core model the Vault client takes; its errors name fields, never values."""
        data = {name: getattr(self, name) for name in core_vault.VaultConnection.model_fields}
        return _build(core_vault.VaultConnection, data, _block_name(self))


_ref_annotations, _ref_fields = derived_fields(
    core_vault.VaultSecretRef, replace={"connection": VaultConnection}
)


class VaultSecretRef(StrictBlock):
    """A Vault KV secret holding one store's credentials: a Vault connection, mount and path."""

    _block_type_name = "Orchestore Vault Secret Ref"
    _block_type_slug = "orchestore-vault-secret-ref"
    _description = (
        "A Vault KV secret (connection, mount, path, version) that holds one store's "
        "credentials; the secret's keys are the credential fields or their MLRun variable "
        "names. Read on first use, never when the block is loaded."
    )
    _documentation_url = DOCS_URL
    _logo_url = LOGO_URL
    _code_example = """
```python
from prefect_orchestore import VaultConnection
from prefect_orchestore import VaultSecretRef

connection = VaultConnection(url="http://127.0.0.1:8200", token="dev-only-token")
VaultSecretRef(connection=connection, path="orchestore/s3").save("BLOCK_NAME", overwrite=True)
vault_secret_ref_block = VaultSecretRef.load("BLOCK_NAME")
```
"""

    __annotations__ = _ref_annotations
    locals().update(_ref_fields)

    @model_validator(mode="after")
    def _valid_as_core_model(self) -> VaultSecretRef:
        self.to_ref()
        return self

    def to_ref(self) -> core_vault.VaultSecretRef:
        """The core reference ``resolve_credentials(url, vault=...)`` reads (no Vault call)."""
        data = {
            name: getattr(self, name)
            for name in core_vault.VaultSecretRef.model_fields
            if name != "connection"
        }
        data["connection"] = self.connection.to_connection()
        return _build(core_vault.VaultSecretRef, data, _block_name(self))


# -- store credentials ----------------------------------------------------------------------------
def _build(model: type[Any], data: dict[str, Any], source: str) -> Any:
    """``model.from_mapping`` with unset fields left out; a CredentialsError becomes ValueError.

    Pydantic turns the ValueError into the block's ValidationError (input hidden), so a wrong
    block fails at construction like the core model would.
    """
    given = {name: _plain(value) for name, value in data.items() if value is not None}
    try:
        return model.from_mapping(given, source=source)
    except CredentialsError as exc:
        raise ValueError(exc.message) from None


class StoreCredentialsBlock(StrictBlock, ABC):
    """Base of the per-store credential blocks (ABC in its bases: never registered itself).

    Implements orchestore's ``CredentialSource``: ``resolve_credentials(url, source=block)``
    asks it for the URL's credentials and reads Vault when the block points there.
    """

    #: the core model this block mirrors
    core_model: ClassVar[type[CredentialsModel]]
    _documentation_url = DOCS_URL
    _logo_url = LOGO_URL

    @model_validator(mode="after")
    def _valid_as_core_model(self) -> StoreCredentialsBlock:
        # Built from the fields alone: cheap, no network (Vault is read on first use only).
        vault = getattr(self, "vault", None)
        if vault is None:
            self._model_from_fields()
            return self
        fields = type(self).model_fields
        others = [
            name
            for name in self.core_model.model_fields
            if getattr(self, name) != fields[name].get_default(call_default_factory=True)
        ]
        if others:
            raise ValueError(
                f"vault excludes {', '.join(others)}: put them in the Vault secret instead"
            )
        return self

    def _model_from_fields(self) -> CredentialsModel:
        data = {name: getattr(self, name) for name in self.core_model.model_fields}
        return _build(self.core_model, data, self.name)

    @property
    def name(self) -> str:
        """Where credentials came from, for messages: ``Prefect block 'slug/name'``."""
        return _block_name(self)

    def credentials_for(self, url: StoreURL, model: type[CredentialsModel]) -> Any:
        """The ``CredentialSource`` answer: a Vault reference, or this block's model."""
        if model is not self.core_model:
            raise CredentialsError(
                f"{self.name} holds {self.core_model.__name__}, but {url.scheme}:// takes "
                f"{model.__name__}",
                url=url.display(),
            )
        vault: VaultSecretRef | None = getattr(self, "vault", None)
        return vault.to_ref() if vault is not None else self._model_from_fields()

    def to_credentials(self, url: str | StoreURL | None = None) -> CredentialsModel:
        """The core credential model (from Vault when ``vault`` is set: read here, cached).

        ``url`` is the URL the credentials serve; it defaults to a URL of the block's scheme.
        """
        found = resolve_credentials(url or _EXAMPLE_URLS[self.core_model.family], source=self)
        if found is None:  # http(s) with nothing configured: anonymous
            return self.core_model()
        return found


#: a URL per family, for to_credentials() without one (the resolver works per URL)
_EXAMPLE_URLS = {
    "s3": "s3://bucket/",
    "azure": "az://container/",
    "gcs": "gs://bucket/",
    "v3io": "v3io:///container/",
    "http": "https://example.invalid/",
}

_VAULT_FIELD = Field(
    default=None,
    description="A Vault secret holding these credentials instead of the fields above.",
)


def _credentials_namespace(model: type[CredentialsModel]) -> dict[str, Any]:
    annotations, fields = derived_fields(model)
    annotations["vault"] = VaultSecretRef | None
    return {"__annotations__": annotations, **fields, "vault": _VAULT_FIELD}


def _code_example(cls_name: str, arguments: str) -> str:
    variable = "".join(f"_{c.lower()}" if c.isupper() else c for c in cls_name).lstrip("_")
    return f"""
```python
from prefect_orchestore import {cls_name}

{cls_name}({arguments}).save("BLOCK_NAME", overwrite=True)
{variable}_block = {cls_name}.load("BLOCK_NAME")
credentials = {variable}_block.to_credentials()
```
"""


class S3StoreCredentials(StoreCredentialsBlock):
    """Credentials for s3:// URLs (AWS or S3-compatible: MinIO, Wasabi, Ceph)."""

    core_model = S3Credentials
    _block_type_name = "Orchestore S3 Credentials"
    _block_type_slug = "orchestore-s3-credentials"
    _description = (
        "Credentials for orchestore s3:// URLs (AWS or any S3-compatible endpoint): keys, "
        "profile, role, anonymous or ambient identity, or a Vault secret."
    )
    _code_example = _code_example(
        "S3StoreCredentials",
        'access_key_id="AKIAEXAMPLE", secret_access_key="example-secret", region="us-east-1"',
    )
    locals().update(_credentials_namespace(S3Credentials))


class AzureStoreCredentials(StoreCredentialsBlock):
    """Credentials for az://, abfs(s):// and wasb(s):// URLs (Azure Blob, Data Lake Gen2)."""

    core_model = AzureCredentials
    _block_type_name = "Orchestore Azure Credentials"
    _block_type_slug = "orchestore-azure-credentials"
    _description = (
        "Credentials for orchestore az:// URLs (Azure Blob Storage, Data Lake Gen2): "
        "connection string, account key, SAS, service principal or ambient identity, or a "
        "Vault secret."
    )
    _code_example = _code_example(
        "AzureStoreCredentials",
        'account_name="myaccount", sas_token="sv=2024-01-01&sig=example"',
    )
    locals().update(_credentials_namespace(AzureCredentials))


class GCSStoreCredentials(StoreCredentialsBlock):
    """Credentials for gs:// and gcs:// URLs (Google Cloud Storage or an emulator)."""

    core_model = GCSCredentials
    _block_type_name = "Orchestore GCS Credentials"
    _block_type_slug = "orchestore-gcs-credentials"
    _description = (
        "Credentials for orchestore gs:// URLs (Google Cloud Storage): a key file's contents "
        "or path, anonymous or Application Default Credentials, or a Vault secret."
    )
    _code_example = _code_example("GCSStoreCredentials", 'anonymous=True, project="my-project"')
    locals().update(_credentials_namespace(GCSCredentials))


class V3ioStoreCredentials(StoreCredentialsBlock):
    """Credentials for v3io:// URLs (Iguazio's v3io web API)."""

    core_model = V3ioCredentials
    _block_type_name = "Orchestore V3IO Credentials"
    _block_type_slug = "orchestore-v3io-credentials"
    _description = (
        "Credentials for orchestore v3io:// URLs (Iguazio web API): an access key or a user "
        "and password, or a Vault secret."
    )
    _code_example = _code_example(
        "V3ioStoreCredentials",
        'api_url="https://webapi.default-tenant.example.com", access_key="example-key"',
    )
    locals().update(_credentials_namespace(V3ioCredentials))


class HttpStoreCredentials(StoreCredentialsBlock):
    """Credentials for http(s):// URLs: basic or bearer auth, secret headers, TLS settings."""

    core_model = HttpCredentials
    _block_type_name = "Orchestore HTTP Credentials"
    _block_type_slug = "orchestore-http-credentials"
    _description = (
        "Credentials for orchestore http(s):// URLs: basic or bearer auth, secret headers "
        "and TLS settings, or a Vault secret."
    )
    _code_example = _code_example("HttpStoreCredentials", 'token="example-bearer-token"')
    locals().update(_credentials_namespace(HttpCredentials))


#: store family -> its credential block
CREDENTIAL_BLOCKS: dict[str, type[StoreCredentialsBlock]] = {
    block.core_model.family: block
    for block in (
        S3StoreCredentials,
        AzureStoreCredentials,
        GCSStoreCredentials,
        V3ioStoreCredentials,
        HttpStoreCredentials,
    )
}
