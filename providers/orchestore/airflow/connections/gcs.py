"""``google_cloud_platform`` and ``orchestoregcs`` connections -> GCSCredentials fields.

``google_cloud_platform`` keeps the Google provider's extras (with or without the
``extra__google_cloud_platform__`` prefix): ``keyfile_dict`` (the key's JSON, as text or an
object), ``key_path`` (a key file on the worker), ``project``. Without a key it means
Application Default Credentials there, so here it selects ``use_ambient_identity``. A key
kept in Google Secret Manager (``key_secret_name``) is not supported: use Vault instead.
``endpoint_url`` (an orchestore addition) points at an emulator.
"""

from __future__ import annotations

import json

from orchestore.airflow.connections.base import (
    Adapted,
    ConnectionLike,
    as_bool,
    auth_method,
    clean,
    describe,
    extras_of,
)
from orchestore.errors import CredentialsError

__all__ = ["adapt_google_cloud_platform", "adapt_orchestore_gcs"]


def adapt_google_cloud_platform(conn: ConnectionLike) -> Adapted:
    """The Google provider's ``google_cloud_platform`` connection."""
    extra = extras_of(conn)
    if extra.get("key_secret_name"):
        raise CredentialsError(
            f"{describe(conn)}: key_secret_name (a key in Google Secret Manager) is not "
            "supported; put the key in keyfile_dict, key_path or a Vault secret"
        )
    fields = clean(
        credentials_json=_json_text(extra.get("keyfile_dict")),
        credentials_file=extra.get("key_path"),
        project=extra.get("project") or extra.get("project_id"),
        endpoint_url=extra.get("endpoint_url"),
    )
    if as_bool(extra.get("anonymous"), "anonymous", conn):
        fields["anonymous"] = True
    elif not ({"credentials_json", "credentials_file"} & fields.keys() or extra.get("vault_path")):
        fields["use_ambient_identity"] = True
    return Adapted("gcs", fields, root=extra.get("root"))


def adapt_orchestore_gcs(conn: ConnectionLike) -> Adapted:
    """Our ``orchestoregcs`` form: the auth method picks which fields count."""
    extra = extras_of(conn)
    method = auth_method(conn, extra, "key_file" if extra.get("credentials_file") else "key_json")
    fields = clean(endpoint_url=conn.host, project=extra.get("project"))
    if method == "key_json":
        fields.update(clean(credentials_json=_json_text(extra.get("credentials_json"))))
    elif method == "key_file":
        fields.update(clean(credentials_file=extra.get("credentials_file")))
    elif method == "ambient_identity":
        fields["use_ambient_identity"] = True
    else:
        fields["anonymous"] = True
    root = extra.get("root") or (f"gs://{conn.schema.strip('/')}/" if conn.schema else None)
    return Adapted("gcs", fields, root=root)


def _json_text(value: object) -> str | None:
    """A key given as a JSON object (a JSON connection's extra) or as its text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)
