"""``orchestorecatalog`` connections: the store:// catalog's database and artifact root.

store:// URLs take no credentials of their own: the connection supplies store options (the
catalog's SQLAlchemy URL, with the password field put into it, and where new artifacts'
bytes go). The credentials for those bytes come from ``artifact_conn_id``, another
connection, resolved by the hook.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from orchestore.airflow.connections.base import Adapted, ConnectionLike, clean, describe, extras_of
from orchestore.credentials.sinks import emit_secret
from orchestore.errors import CredentialsError

__all__ = ["adapt_catalog", "catalog_database_url"]


def adapt_catalog(conn: ConnectionLike) -> Adapted:
    """Our ``orchestorecatalog`` form."""
    extra = extras_of(conn)
    options = clean(catalog=catalog_database_url(conn), artifact_root=extra.get("artifact_root"))
    return Adapted("store", {}, root=extra.get("root"), options=options)


def catalog_database_url(conn: ConnectionLike) -> str | None:
    """The host's SQLAlchemy URL with the password field as the URL's password."""
    url = (conn.host or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or "://" not in url:
        raise CredentialsError(
            f"{describe(conn)}: the host must be a SQLAlchemy URL such as "
            "postgresql+psycopg://user@db:5432/catalog or sqlite:////data/catalog.db"
        )
    if parts.password is not None:
        raise CredentialsError(
            f"{describe(conn)}: put the database password in the password field, not the URL"
        )
    if not conn.password:
        return url
    if parts.username is None:
        raise CredentialsError(f"{describe(conn)}: a password needs a user in the database URL")
    emit_secret(conn.password)
    netloc = f"{parts.username}:{quote(conn.password, safe='')}@{parts.netloc.split('@', 1)[1]}"
    with_password = urlunsplit(parts._replace(netloc=netloc))
    emit_secret(with_password)
    return with_password
