"""``v3io`` connections -> V3ioCredentials fields.

The host is the web API (MLRun's V3IO_API), the schema the container that ds:// URLs start
in, the password the access key (``auth_method=access_key``, the default) or, with
``auth_method=basic``, the password of ``login``.
"""

from __future__ import annotations

from orchestore.airflow.connections.base import (
    Adapted,
    ConnectionLike,
    as_bool,
    auth_method,
    clean,
    extras_of,
)

__all__ = ["adapt_v3io"]


def adapt_v3io(conn: ConnectionLike) -> Adapted:
    """Our ``v3io`` form."""
    extra = extras_of(conn)
    method = auth_method(conn, extra, "access_key")
    fields = clean(api_url=_api_url(conn), ca_bundle=extra.get("ca_bundle"))
    if as_bool(extra.get("verify_ssl"), "verify_ssl", conn) is False:
        fields["verify_ssl"] = False
    if method == "access_key":
        fields.update(clean(access_key=conn.password or extra.get("access_key")))
    else:
        fields.update(clean(username=conn.login, password=conn.password))
    root = extra.get("root") or (f"v3io:///{conn.schema.strip('/')}/" if conn.schema else None)
    return Adapted("v3io", fields, root=root)


def _api_url(conn: ConnectionLike) -> str | None:
    """``http(s)://host[:port]``: a host without a scheme is https, as Iguazio serves it."""
    host = (conn.host or "").strip().rstrip("/")
    if not host:
        return None
    if "://" not in host:
        host = f"https://{host}"
    return f"{host}:{conn.port}" if conn.port and host.count(":") < 2 else host
