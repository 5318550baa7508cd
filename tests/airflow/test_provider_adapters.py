"""The connection adapters' edge cases and refusals, in-process and fast.

The adapters are pure functions of a connection's fields (orchestore.airflow.connections.
base.ConnectionLike), so these tests hand them plain connection records without importing
Airflow; the real Airflow lookup of each type runs in test_provider_connections.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from orchestore.airflow.connections.base import canonical_type, extras_of
from orchestore.airflow.connections.source import adapt
from orchestore.airflow.connections.vault import vault_connection, vault_secret_ref
from orchestore.errors import CredentialsError

SECRET = "a-secret-value-73c1d0"


@dataclass
class Conn:
    """A connection record with Airflow's field names (what the adapters read)."""

    conn_type: str
    conn_id: str = "c1"
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    extra: str | None = None


def conn(conn_type: str, extra: dict[str, Any] | None = None, **fields: Any) -> Conn:
    return Conn(conn_type, extra=json.dumps(extra) if extra is not None else None, **fields)


def refused(connection: Conn, *needles: str) -> str:
    with pytest.raises(CredentialsError) as raised:
        adapt(connection)
    message = str(raised.value)
    assert SECRET not in message and "c1" in message
    for needle in needles:
        assert needle in message, message
    return message


def test_prefixed_and_plain_extras_and_empty_values() -> None:
    extra = {"extra__wasb__tenant_id": "old", "tenant_id": "new", "sas_token": "", "x": None}
    assert extras_of(conn("wasb", extra)) == {"tenant_id": "new"}


def test_airflow_underscore_spelling_of_our_types() -> None:
    # Separated spellings of our types (Airflow turns "-" into "_" in JSON and URIs) still work.
    assert canonical_type("orchestore_s3") == "orchestores3"
    assert canonical_type("google_cloud_platform") == "google_cloud_platform"
    adapted = adapt(conn("orchestore_s3", schema="raw", login="id", password=SECRET))
    assert adapted.family == "s3" and adapted.root == "s3://raw/"


@pytest.mark.parametrize(
    ("connection", "needles"),
    [
        (conn("ftp"), ("cannot use connections of this type", "orchestores3")),
        (Conn("v3io", extra="{not json"), ("not valid JSON",)),
        (Conn("v3io", extra="[1, 2]"), ("JSON object",)),
        (conn("v3io", {"auth_method": "oauth"}), ("auth_method must be one of",)),
        (conn("orchestores3", {"auth_method": "magic"}), ("auth_method must be one of",)),
        (conn("orchestoreazure", {"auth_method": "keys"}), ("auth_method must be one of",)),
        (conn("orchestoregcs", {"auth_method": "adc"}), ("auth_method must be one of",)),
        (conn("orchestores3", {"verify_ssl": "maybe"}), ("verify_ssl",)),
        (conn("google_cloud_platform", {"key_secret_name": "k"}), ("Secret Manager",)),
        (conn("fs", {"path": "relative/dir"}), ("absolute path",)),
        (conn("orchestorecatalog", host="catalog.db"), ("SQLAlchemy URL",)),
        (
            conn("orchestorecatalog", host=f"postgresql://u:{SECRET}@db/c"),
            ("password field",),
        ),
        (conn("orchestorecatalog", host="postgresql://db/c", password=SECRET), ("a user",)),
    ],
)
def test_refusals_name_the_problem_and_no_secret(connection: Conn, needles: tuple[str]) -> None:
    refused(connection, *needles)


def test_auth_method_selects_which_fields_count() -> None:
    # A stale secret of another method does not leak into the chosen one.
    s3 = adapt(conn("orchestores3", {"auth_method": "anonymous", "role_arn": "arn:x"},
                    login="id", password=SECRET))  # fmt: skip
    assert s3.fields == {"anonymous": True}
    azure = adapt(conn("orchestoreazure", {"auth_method": "sas_token", "sas_token": SECRET},
                       login="acct", password="stale-account-key"))  # fmt: skip
    assert azure.fields == {"account_name": "acct", "sas_token": SECRET}
    gcs = adapt(conn("orchestoregcs", {"credentials_file": "/k.json"}))
    assert gcs.fields == {"credentials_file": "/k.json"}


def test_wasb_account_from_host_forms() -> None:
    by_url = adapt(conn("wasb", host="https://acct1.blob.core.windows.net/", password=SECRET))
    assert by_url.fields == {"account_name": "acct1", "account_key": SECRET}
    sas_url = adapt(conn("wasb", {"sas_token": f"https://acct2.blob.core.windows.net/?{SECRET}"}))
    assert sas_url.fields == {"account_name": "acct2", "sas_token": SECRET}
    azurite = adapt(conn("wasb", host="http://127.0.0.1:10000/devstoreaccount1", password=SECRET))
    assert azurite.fields["account_name"] == "devstoreaccount1"
    assert azurite.fields["blob_endpoint"] == "http://127.0.0.1:10000/devstoreaccount1"
    ambient = adapt(conn("wasb", host="acct3"))
    assert ambient.fields == {"account_name": "acct3", "use_ambient_identity": True}


def test_catalog_password_goes_into_the_url() -> None:
    adapted = adapt(conn("orchestorecatalog", host="postgresql+psycopg://etl@db:5432/cat",
                         password="p@ss/word", extra={"artifact_root": "s3://a/"}))  # fmt: skip
    assert adapted.options == {
        "catalog": "postgresql+psycopg://etl:p%40ss%2Fword@db:5432/cat",
        "artifact_root": "s3://a/",
    }
    assert "p@ss" not in repr(adapted)


def test_hashicorp_vault_connections() -> None:
    token = vault_connection(conn("hashicorp_vault", host="vault.local", port=8200,
                                  password=SECRET))  # fmt: skip
    assert token.url == "https://vault.local:8200" and token.auth_method == "token"
    assert SECRET not in repr(token)
    approle = vault_connection(conn("vault", {"auth_type": "approle", "role_id": "r1",
                                              "auth_mount_point": "ci"},
                                    host="127.0.0.1", port=8200, password=SECRET))  # fmt: skip
    assert approle.url == "http://127.0.0.1:8200" and approle.mount == "ci"
    assert approle.role_id == "r1" and approle.secret_id.get_secret_value() == SECRET
    k8s = vault_connection(conn("hashicorp_vault", {"auth_type": "kubernetes",
                                                    "kubernetes_role": "etl", "use_tls": False},
                                host="v", port=1))  # fmt: skip
    assert k8s.url == "http://v:1" and k8s.role == "etl"
    with pytest.raises(CredentialsError, match="aws_iam"):
        vault_connection(conn("hashicorp_vault", {"auth_type": "aws_iam"}, host="v"))
    with pytest.raises(CredentialsError, match="not a Vault connection"):
        vault_connection(conn("aws", host="v"))
    with pytest.raises(CredentialsError, match="host"):
        vault_connection(conn("hashicorp_vault", password=SECRET))


def test_vault_section_becomes_a_secret_ref() -> None:
    vault = conn("hashicorp_vault", {"kv_engine_version": "1"}, host="v", port=1,
                 password=SECRET, schema="kv")  # fmt: skip
    ref = vault_secret_ref({"vault_path": "etl/s3"}, vault, "Airflow connection 'c1'")
    assert (ref.mount, ref.path, ref.kv_version, ref.version) == ("kv", "etl/s3", 1, None)
    pinned = vault_secret_ref(
        {"vault_path": "etl/s3", "vault_mount": "secret", "vault_version": "3"},
        conn("hashicorp_vault", host="v", password=SECRET),
        "Airflow connection 'c1'",
    )
    assert (pinned.mount, pinned.kv_version, pinned.version) == ("secret", 2, 3)
    with pytest.raises(CredentialsError, match="integers"):
        vault_secret_ref({"vault_path": "p", "vault_version": "latest"}, vault, "c1")


def test_a_connection_serves_only_its_own_store_family() -> None:
    from orchestore.airflow.connections.source import ConnectionSource
    from orchestore.credentials import AzureCredentials, S3Credentials
    from orchestore.urls import parse_url

    def no_lookup(conn_id: str) -> Conn:
        raise AssertionError(f"no other connection should be read, asked for {conn_id}")

    source = ConnectionSource(conn("aws", login="id", password=SECRET), no_lookup)
    with pytest.raises(CredentialsError) as raised:
        source.credentials_for(parse_url("az://c/k"), AzureCredentials)
    assert "holds s3 credentials" in str(raised.value) and SECRET not in str(raised.value)
    found = source.credentials_for(parse_url("s3://b/k"), S3Credentials)
    assert found.source == "Airflow connection 'c1' (type aws)"
    assert found.secret_access_key.get_secret_value() == SECRET
