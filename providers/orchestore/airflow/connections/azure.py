"""``wasb`` and ``orchestoreazure`` connections -> AzureCredentials fields.

``wasb`` keeps the Microsoft Azure provider's meaning, so existing connections work as they
are (extras with or without the ``extra__wasb__`` prefix), in the provider's order:

1. ``connection_string``;
2. ``tenant_id``: a service principal, login = client id, password = client secret;
3. ``sas_token`` (a token, or a full ``https://account.blob.../?sv=...`` URL);
4. ``shared_access_key`` / ``account_key`` extra, else the password: the account key;
5. nothing: the platform's identity (the provider's DefaultAzureCredential).

The account comes from ``host`` (an account name or the account URL), else ``login``. A host
that is not ``*.blob.core.windows.net`` (Azurite, Azure Stack) becomes ``blob_endpoint``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from orchestore.airflow.connections.base import (
    Adapted,
    ConnectionLike,
    auth_method,
    clean,
    extras_of,
)

__all__ = ["adapt_orchestore_azure", "adapt_wasb"]

_PUBLIC_SUFFIX = ".blob.core.windows.net"


def adapt_wasb(conn: ConnectionLike) -> Adapted:
    """The Azure provider's ``wasb`` connection."""
    extra = extras_of(conn)
    root = extra.get("root")
    if extra.get("connection_string"):
        return Adapted("azure", {"connection_string": extra["connection_string"]}, root=root)
    sas = extra.get("sas_token")
    host = conn.host or ""
    if isinstance(sas, str) and sas.startswith(("http://", "https://")):
        host, _, sas = sas.partition("?")
    tenant = extra.get("tenant_id")
    account, endpoint = _account(host, None if tenant else conn.login)
    fields = clean(account_name=account, blob_endpoint=endpoint)
    if tenant:
        fields.update(clean(tenant_id=tenant, client_id=conn.login, client_secret=conn.password))
    elif sas:
        fields["sas_token"] = sas
    elif extra.get("shared_access_key") or extra.get("account_key") or conn.password:
        key = extra.get("shared_access_key") or extra.get("account_key") or conn.password
        fields["account_key"] = key
    elif not extra.get("vault_path"):
        fields["use_ambient_identity"] = True
    return Adapted("azure", fields, root=root)


def adapt_orchestore_azure(conn: ConnectionLike) -> Adapted:
    """Our ``orchestoreazure`` form: the auth method picks the one secret that counts."""
    extra = extras_of(conn)
    method = auth_method(conn, extra, "account_key")
    root = extra.get("root") or (f"az://{conn.schema.strip('/')}/" if conn.schema else None)
    if method == "connection_string":
        return Adapted("azure", clean(connection_string=extra.get("connection_string")), root=root)
    account, endpoint = _account(conn.host or "", conn.login)
    fields = clean(account_name=account, blob_endpoint=endpoint)
    if method == "account_key":
        fields.update(clean(account_key=conn.password))
    elif method == "sas_token":
        fields.update(clean(sas_token=extra.get("sas_token")))
    elif method == "service_principal":
        fields.update(
            clean(
                tenant_id=extra.get("tenant_id"),
                client_id=extra.get("client_id"),
                client_secret=extra.get("client_secret"),
            )
        )
    else:
        fields["use_ambient_identity"] = True
    return Adapted("azure", fields, root=root)


def _account(host: str, login: str | None) -> tuple[str | None, str | None]:
    """(account name, blob endpoint) from a host that is a name or a URL, and the login."""
    host = host.strip().rstrip("/")
    if not host:
        return login, None
    if "://" not in host:
        if host.endswith(_PUBLIC_SUFFIX):
            return host.removesuffix(_PUBLIC_SUFFIX), None
        return host, None
    parts = urlsplit(host)
    hostname = parts.hostname or ""
    if hostname.endswith(_PUBLIC_SUFFIX) and parts.scheme == "https":
        return hostname.removesuffix(_PUBLIC_SUFFIX), None
    # Azurite and path-style endpoints put the account in the path: http://host:10000/account
    path_account = parts.path.strip("/").split("/")[0] or None
    return login or path_account, host
