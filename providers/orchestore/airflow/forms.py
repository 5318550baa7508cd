"""The declarative connection forms of orchestore's connection types (Airflow 3.2+ UI).

Airflow's React UI builds a connection form only from these keys of ``get_provider_info()``:
``ui-field-behaviour`` (hide, relabel and give placeholders to the standard fields) and
``conn-fields`` (extra fields, stored in ``extra`` under their plain names). Secrets carry
``format: password`` so the UI and the masker treat them as sensitive.

Every form ends with the same "Vault" section: with ``vault_path`` set, the secret fields come
from that KV secret (read through a ``hashicorp_vault`` connection) instead of the form.
Type names have no ``_``: Airflow warns (RFC 3986) whenever it builds a URI from one that has.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["AUTH_METHODS", "CONNECTION_TYPES", "HOOK_CLASSES", "VAULT_FIELDS"]

_HOOKS = "orchestore.airflow.hooks"

#: connection type -> (hook class, display name)
HOOK_CLASSES: Final[dict[str, tuple[str, str]]] = {
    "v3io": (f"{_HOOKS}.V3ioHook", "orchestore: V3IO (Iguazio)"),
    "orchestorecatalog": (f"{_HOOKS}.CatalogHook", "orchestore: artifact catalog (store://)"),
    "orchestores3": (f"{_HOOKS}.S3StoreHook", "orchestore: S3-compatible storage"),
    "orchestoreazure": (f"{_HOOKS}.AzureStoreHook", "orchestore: Azure Blob Storage"),
    "orchestoregcs": (f"{_HOOKS}.GCSStoreHook", "orchestore: Google Cloud Storage"),
}


#: connection type -> its auth methods, the form's enum (the adapters accept exactly these)
AUTH_METHODS: Final[dict[str, tuple[str, ...]]] = {
    "v3io": ("access_key", "basic"),
    "orchestores3": ("access_key", "profile", "ambient_identity", "anonymous"),
    "orchestoreazure": (
        "account_key",
        "connection_string",
        "sas_token",
        "service_principal",
        "ambient_identity",
    ),
    "orchestoregcs": ("key_json", "key_file", "ambient_identity", "anonymous"),
}


def _auth_method(conn_type: str, description: str) -> dict[str, Any]:
    """The auth-method enum field; the first method is the default."""
    methods = AUTH_METHODS[conn_type]
    return _field("Auth method", description, enum=list(methods), default=methods[0])


def _field(
    label: str,
    description: str,
    *,
    kind: str = "string",
    secret: bool = False,
    enum: list[str] | None = None,
    default: Any = None,
) -> dict[str, Any]:
    """One ``conn-fields`` entry; every field is optional (``null`` allowed)."""
    schema: dict[str, Any] = {"type": [kind, "null"]}
    if secret:
        schema["format"] = "password"
    if enum is not None:
        schema["enum"] = enum
    if default is not None:
        schema["default"] = default
    return {"label": label, "description": description, "schema": schema}


_ROOT = _field(
    "Root URL (for ds:// URLs)",
    "Where ds://<this connection id>/<path> points: a folder URL such as s3://bucket/prefix. "
    "Empty: the bucket or container field above.",
)

VAULT_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "vault_conn_id": _field(
        "Vault: connection id",
        "A hashicorp_vault connection. With 'Vault: secret path' set, the secrets come from "
        "that Vault secret instead of the fields above.",
    ),
    "vault_mount": _field(
        "Vault: KV mount",
        "The KV secrets engine's mount point; default: the Vault connection's schema, else "
        "'secret'.",
    ),
    "vault_path": _field(
        "Vault: secret path",
        "The KV secret holding this store's credentials (keys: the credential field names "
        "or their MLRun variable names), e.g. orchestore/raw-zone.",
    ),
    "vault_version": _field(
        "Vault: secret version",
        "KV v2 only: pin a version of the secret. Empty: the latest.",
        kind="integer",
    ),
}


def _entry(
    conn_type: str,
    *,
    hidden: list[str],
    relabeling: dict[str, str],
    placeholders: dict[str, str],
    fields: dict[str, dict[str, Any]],
    vault: bool = True,
) -> dict[str, Any]:
    hook_class, hook_name = HOOK_CLASSES[conn_type]
    conn_fields = {**fields, "root": _ROOT, **(VAULT_FIELDS if vault else {})}
    return {
        "connection-type": conn_type,
        "hook-class-name": hook_class,
        "hook-name": hook_name,
        "ui-field-behaviour": {
            "hidden-fields": hidden,
            "relabeling": relabeling,
            "placeholders": placeholders,
        },
        "conn-fields": conn_fields,
    }


_TLS = {
    "verify_ssl": _field(
        "Verify TLS certificate",
        "Turn off only for self-signed test endpoints.",
        kind="boolean",
        default=True,
    ),
    "ca_bundle": _field("CA bundle path", "A PEM file of CA certificates to trust."),
}

_V3IO = _entry(
    "v3io",
    hidden=["port"],
    relabeling={
        "host": "Web API URL",
        "schema": "Container",
        "login": "Username (basic auth only)",
        "password": "Access key (or basic-auth password)",
    },
    placeholders={
        "host": "https://webapi.default-tenant.app.example.com",
        "schema": "bigdata",
        "password": "the V3IO_ACCESS_KEY session key",
        "root": "v3io:///bigdata/raw",
    },
    fields={
        "auth_method": _auth_method(
            "v3io",
            "access_key: the password field is the session key (X-v3io-session-key); "
            "basic: username and password.",
        ),
        **_TLS,
    },
)

_S3 = _entry(
    "orchestores3",
    hidden=["port"],
    relabeling={
        "host": "Endpoint URL",
        "schema": "Bucket",
        "login": "Access key id",
        "password": "Secret access key",
    },
    placeholders={
        "host": "http://minio:9000 (empty for AWS)",
        "schema": "raw-zone",
        "root": "s3://raw-zone/2026",
        "region": "eu-west-1",
        "role_arn": "arn:aws:iam::123456789012:role/etl",
    },
    fields={
        "auth_method": _auth_method(
            "orchestores3",
            "access_key: the key fields; profile: a named profile; ambient_identity: the "
            "platform's identity (instance profile, IRSA); anonymous: public buckets.",
        ),
        "session_token": _field(
            "Session token", "For temporary keys (AWS_SESSION_TOKEN).", secret=True
        ),
        "region": _field("Region", "The region requests are signed for."),
        "role_arn": _field("Role ARN", "A role to assume through STS on top of the credentials."),
        "profile": _field("Profile", "auth_method=profile: the AWS credentials-file profile."),
        **_TLS,
    },
)

_AZURE = _entry(
    "orchestoreazure",
    hidden=["port"],
    relabeling={
        "host": "Blob endpoint URL",
        "schema": "Container",
        "login": "Storage account name",
        "password": "Account key",
    },
    placeholders={
        "host": "empty for https://<account>.blob.core.windows.net",
        "schema": "raw",
        "login": "mystorageaccount",
        "root": "az://raw/2026",
    },
    fields={
        "auth_method": _auth_method(
            "orchestoreazure",
            "Which one of the secrets below authenticates: exactly one is used.",
        ),
        "connection_string": _field(
            "Connection string",
            "AccountName=...;AccountKey=... or ...;SharedAccessSignature=...",
            secret=True,
        ),
        "sas_token": _field(
            "SAS token", "An account or container SAS (sv=...&sig=...).", secret=True
        ),
        "tenant_id": _field("Tenant id", "Service principal: the Entra ID tenant."),
        "client_id": _field("Client id", "Service principal: the application (client) id."),
        "client_secret": _field("Client secret", "Service principal: the secret.", secret=True),
    },
)

_GCS = _entry(
    "orchestoregcs",
    hidden=["port", "login", "password"],
    relabeling={"host": "Endpoint URL (emulators)", "schema": "Bucket"},
    placeholders={
        "host": "empty for storage.googleapis.com",
        "schema": "raw-zone",
        "root": "gs://raw-zone/2026",
        "credentials_file": "/secrets/key.json",
    },
    fields={
        "auth_method": _auth_method(
            "orchestoregcs",
            "key_json: the key file's contents below; key_file: a path on the workers; "
            "ambient_identity: Application Default Credentials; anonymous: public buckets.",
        ),
        "credentials_json": _field(
            "Service-account key (JSON)", "The key file's contents (GCP_CREDENTIALS).", secret=True
        ),
        "credentials_file": _field("Key file path", "A key file on the workers."),
        "project": _field("Project id", "Default: the key file's project_id."),
    },
)

_CATALOG = _entry(
    "orchestorecatalog",
    hidden=["port", "login", "schema"],
    relabeling={"host": "Catalog database URL", "password": "Database password"},
    placeholders={
        "host": "postgresql+psycopg://etl@db:5432/catalog or sqlite:////data/catalog.db",
        "artifact_root": "s3://artifacts/orchestore",
        "root": "store://artifacts/my-project",
    },
    fields={
        "artifact_root": _field(
            "Artifact root URL", "Where logged artifacts' bytes are written (a folder URL)."
        ),
        "artifact_conn_id": _field(
            "Artifact store connection id",
            "The connection whose credentials read and write the artifacts' bytes.",
        ),
    },
    vault=False,
)

#: the ``connection-types`` of get_provider_info(), one entry per type we own
CONNECTION_TYPES: Final[list[dict[str, Any]]] = [_V3IO, _CATALOG, _S3, _AZURE, _GCS]
