"""An Airflow connection as the credential resolver's ``CredentialSource``.

``ConnectionSource`` turns one connection into the credentials for a URL: its type's adapter
gives the model's fields; when the connection's extra has a Vault section (``vault_path``)
the KV secret's keys are laid over those fields (the secret wins), so a form can keep the
endpoint and the account while Vault keeps the secrets. Connections are looked up through
Airflow's own API (``BaseHook.get_connection``: secrets backends, ``AIRFLOW_CONN_*``, then the
API server), so connections kept in Airflow's VaultBackend work unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Final

from orchestore.airflow.connections.base import (
    Adapted,
    ConnectionLike,
    canonical_type,
    describe,
    extras_of,
)
from orchestore.airflow.connections.vault import vault_secret_ref
from orchestore.credentials.base import CredentialsModel
from orchestore.credentials.vault import read_secret
from orchestore.errors import CredentialsError
from orchestore.urls import StoreURL

__all__ = ["ADAPTERS", "ConnectionSource", "adapt", "canonical_type"]

_PKG = "orchestore.airflow.connections"
#: connection type -> (module, function) of its adapter: one adapter per type
ADAPTERS: Final[dict[str, tuple[str, str]]] = {
    "aws": (f"{_PKG}.s3", "adapt_aws"),
    "fs": (f"{_PKG}.http", "adapt_fs"),
    "google_cloud_platform": (f"{_PKG}.gcs", "adapt_google_cloud_platform"),
    "gcpcloudsql": (f"{_PKG}.gcs", "adapt_google_cloud_platform"),
    "http": (f"{_PKG}.http", "adapt_http"),
    "https": (f"{_PKG}.http", "adapt_http"),
    "orchestoreazure": (f"{_PKG}.azure", "adapt_orchestore_azure"),
    "orchestorecatalog": (f"{_PKG}.catalog", "adapt_catalog"),
    "orchestoregcs": (f"{_PKG}.gcs", "adapt_orchestore_gcs"),
    "orchestores3": (f"{_PKG}.s3", "adapt_orchestore_s3"),
    "s3": (f"{_PKG}.s3", "adapt_aws"),
    "v3io": (f"{_PKG}.v3io", "adapt_v3io"),
    "wasb": (f"{_PKG}.azure", "adapt_wasb"),
}

GetConnection = Callable[[str], ConnectionLike]


def adapt(conn: ConnectionLike) -> Adapted:
    """The connection, translated by its type's adapter; an unknown type is a clear error."""
    row = ADAPTERS.get(canonical_type(conn.conn_type))
    if row is None:
        raise CredentialsError(
            f"{describe(conn)}: orchestore cannot use connections of this type; use one of "
            f"{', '.join(sorted(ADAPTERS))}"
        )
    module, function = row
    adapter: Callable[[ConnectionLike], Adapted] = getattr(
        importlib.import_module(module), function
    )
    return adapter(conn)


class ConnectionSource:
    """One Airflow connection as a CredentialSource (``resolve_credentials(source=...)``)."""

    def __init__(self, conn: ConnectionLike, get_connection: GetConnection) -> None:
        self.conn = conn
        self.adapted = adapt(conn)
        self._get_connection = get_connection

    def __repr__(self) -> str:
        return f"ConnectionSource({self.name})"

    @property
    def name(self) -> str:
        return describe(self.conn)

    def credentials_for(self, url: StoreURL, model: type[CredentialsModel]) -> Any:
        """The model for ``url``: the form's fields, with a Vault secret laid over them."""
        if self.adapted.family != model.family:
            raise CredentialsError(
                f"{self.name} holds {self.adapted.family} credentials; {url.scheme}:// URLs "
                f"need {model.__name__}: use a connection of a matching type",
                url=url.display(),
            )
        fields = dict(self.adapted.fields)
        extra = extras_of(self.conn)
        if not extra.get("vault_path"):
            return model.from_mapping(fields, source=self.name)
        return self._with_vault_secret(model, fields, extra, url)

    def _with_vault_secret(
        self,
        model: type[CredentialsModel],
        fields: dict[str, Any],
        extra: dict[str, Any],
        url: StoreURL,
    ) -> CredentialsModel:
        vault_conn_id = extra.get("vault_conn_id")
        if not vault_conn_id:
            raise CredentialsError(
                f"{self.name}: vault_path is set but vault_conn_id (a hashicorp_vault "
                "connection) is not",
                url=url.display(),
            )
        ref = vault_secret_ref(extra, self._get_connection(vault_conn_id), self.name)
        secret = read_secret(ref)
        source = f"{self.name} via {ref.describe()}"
        if not secret:
            raise CredentialsError(
                f"{source} is empty; it needs {model.__name__} fields", url=url.display()
            )
        from_vault = {model.aliases.get(key, key): value for key, value in secret.items()}
        # Form-level choices that conflict with the secret's method give way to it.
        for key in ("use_ambient_identity", "anonymous"):
            fields.pop(key, None)
        return model.from_mapping({**fields, **from_vault}, source=source)
