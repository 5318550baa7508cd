"""``aws`` and ``orchestores3`` connections -> S3Credentials fields.

``aws`` follows the Amazon provider's meaning of its fields, so existing connections work
as they are: login/password or the ``aws_access_key_id``/``aws_secret_access_key`` extras,
``aws_session_token``, ``region_name``, ``endpoint_url`` (or ``service_config.s3``),
``role_arn``, ``profile_name``, ``verify``. An ``aws`` connection without keys or a profile
means "boto3's default chain" there, so here it selects ``use_ambient_identity``: the user
chose that connection, it is not a silent fallback.
"""

from __future__ import annotations

from typing import Any

from orchestore.airflow.connections.base import (
    Adapted,
    ConnectionLike,
    as_bool,
    auth_method,
    clean,
    extras_of,
)

__all__ = ["adapt_aws", "adapt_orchestore_s3"]


def adapt_aws(conn: ConnectionLike) -> Adapted:
    """The Amazon provider's ``aws`` connection."""
    extra = extras_of(conn)
    key_id = conn.login or extra.get("aws_access_key_id")
    secret = conn.password or extra.get("aws_secret_access_key")
    s3_config = (extra.get("service_config") or {}).get("s3") or {}
    fields = clean(
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=extra.get("aws_session_token"),
        region=extra.get("region_name") or extra.get("region"),
        endpoint_url=s3_config.get("endpoint_url") or extra.get("endpoint_url"),
        role_arn=extra.get("role_arn"),
        profile=extra.get("profile_name") or extra.get("profile"),
    )
    fields.update(_tls(extra.get("verify"), conn))
    if not (key_id or secret or fields.get("profile") or extra.get("vault_path")):
        fields["use_ambient_identity"] = True
    return Adapted("s3", fields, root=extra.get("root"))


def adapt_orchestore_s3(conn: ConnectionLike) -> Adapted:
    """Our ``orchestores3`` form: the auth method picks which fields count."""
    extra = extras_of(conn)
    method = auth_method(conn, extra, "profile" if extra.get("profile") else "access_key")
    fields = clean(
        endpoint_url=conn.host,
        region=extra.get("region"),
        role_arn=extra.get("role_arn"),
        ca_bundle=extra.get("ca_bundle"),
    )
    verify = as_bool(extra.get("verify_ssl"), "verify_ssl", conn)
    if verify is False:
        fields["verify_ssl"] = False
    if method == "access_key":
        fields.update(
            clean(
                access_key_id=conn.login,
                secret_access_key=conn.password,
                session_token=extra.get("session_token"),
            )
        )
    elif method == "profile":
        fields.update(clean(profile=extra.get("profile")))
    elif method == "ambient_identity":
        fields["use_ambient_identity"] = True
    else:
        fields.pop("role_arn", None)
        fields["anonymous"] = True
    return Adapted("s3", fields, root=extra.get("root") or _bucket_root(conn.schema))


def _tls(verify: Any, conn: ConnectionLike) -> dict[str, Any]:
    """The Amazon provider's ``verify``: a bool, or the path of a CA bundle."""
    if verify is None:
        return {}
    if isinstance(verify, str) and verify.strip().lower() not in ("true", "false", "1", "0"):
        return {"ca_bundle": verify}
    return {} if as_bool(verify, "verify", conn) else {"verify_ssl": False}


def _bucket_root(bucket: str | None) -> str | None:
    return f"s3://{bucket.strip('/')}/" if bucket else None
