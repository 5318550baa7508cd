"""The api-server serves orchestore's connection forms: ``GET /ui/connections/hook_meta``.

Airflow's React UI builds the Add/Edit Connection form only from this answer, so what is
checked here is what a user sees: our five connection types, their hooks, every declared
field with its label, and every secret as a password field.
"""

from __future__ import annotations

import importlib.util
import os
import re
from typing import Any

import pytest

from tests.airflow.harness import ApiServer

# Outside CI a missing airflow skips; in CI (ORCHESTORE_REQUIRE_ALL=1) the fixture fails on it.
if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow

HOOK_META = "/ui/connections/hook_meta"
OUR_TYPES = {"v3io", "orchestorecatalog", "orchestores3", "orchestoreazure", "orchestoregcs"}
#: Secrets each form must show as password inputs: extra fields with format "password", and
#: the standard password field (visible, relabelled) where the form keeps it.
SECRET_EXTRAS = {
    "v3io": set(),
    "orchestorecatalog": set(),
    "orchestores3": {"session_token"},
    "orchestoreazure": {"connection_string", "sas_token", "client_secret"},
    "orchestoregcs": {"credentials_json"},
}
PASSWORD_LABELS = {
    "v3io": "Access key",
    "orchestorecatalog": "Database password",
    "orchestores3": "Secret access key",
    "orchestoreazure": "Account key",
    "orchestoregcs": None,  # the key JSON is the secret; login/password are hidden
}
VAULT_FIELDS = {"vault_conn_id", "vault_mount", "vault_path", "vault_version"}
#: hook_meta's names for the standard fields that provider info names differently
_STANDARD = {"schema": "url_schema"}
#: An extra field named like this holds a secret, whatever form it is on.
_SECRET_NAME = re.compile(r"secret|token|password|access_key|account_key|connection_string|_json")


@pytest.fixture(scope="module")
def hook_meta(api_server: ApiServer) -> dict[str, dict[str, Any]]:
    """The api-server's hook metadata, by connection type."""
    return {entry["connection_type"]: entry for entry in api_server.request("GET", HOOK_META)}


def test_hook_meta_needs_a_login(api_server: ApiServer) -> None:
    assert api_server.status(HOOK_META, auth=False) == 401


def test_hook_meta_lists_our_connection_types(hook_meta: dict[str, dict[str, Any]]) -> None:
    assert hook_meta.keys() >= OUR_TYPES, sorted(hook_meta)
    for conn_type in OUR_TYPES:
        entry = hook_meta[conn_type]
        assert entry["hook_class_name"].startswith("orchestore.airflow.hooks."), entry
        assert entry["hook_name"].startswith("orchestore: "), entry
        assert "_" not in conn_type  # Airflow warns (RFC 3986) about underscores in types


def test_hook_meta_fields_are_what_the_provider_declares(
    hook_meta: dict[str, dict[str, Any]],
) -> None:
    """Every declared extra field arrives with its label, description and format."""
    from orchestore.airflow import get_provider_info

    declared = {c["connection-type"]: c for c in get_provider_info()["connection-types"]}
    for conn_type in OUR_TYPES:
        served = hook_meta[conn_type]["extra_fields"]
        fields = declared[conn_type]["conn-fields"]
        assert served.keys() == fields.keys(), conn_type
        for name, field in fields.items():
            assert served[name]["schema"]["title"] == field["label"], (conn_type, name)
            assert served[name]["description"] == field.get("description"), (conn_type, name)
            assert served[name]["schema"].get("format") == field["schema"].get("format")
        behaviour = declared[conn_type]["ui-field-behaviour"]
        standard = hook_meta[conn_type]["standard_fields"]
        for name, label in behaviour.get("relabeling", {}).items():
            assert standard[_STANDARD.get(name, name)]["title"] == label, (conn_type, name)
        for name in behaviour.get("hidden-fields", []):
            assert standard[_STANDARD.get(name, name)]["hidden"] is True, (conn_type, name)


@pytest.mark.parametrize("conn_type", sorted(OUR_TYPES))
def test_secrets_are_password_fields(hook_meta: dict[str, dict[str, Any]], conn_type: str) -> None:
    entry = hook_meta[conn_type]
    extras = entry["extra_fields"]
    passwords = {name for name, f in extras.items() if f["schema"].get("format") == "password"}
    assert SECRET_EXTRAS[conn_type] <= passwords, (conn_type, sorted(passwords))
    secret_named = {name for name in extras if _SECRET_NAME.search(name)}
    assert secret_named <= passwords, f"{conn_type}: secret-named fields shown in clear"
    password = entry["standard_fields"]["password"]
    label = PASSWORD_LABELS[conn_type]
    if label is None:
        assert password["hidden"] is True
    else:
        assert password["hidden"] is False
        assert password["title"].startswith(label), password


@pytest.mark.parametrize("conn_type", sorted(OUR_TYPES - {"orchestorecatalog"}))
def test_store_forms_have_the_vault_section(
    hook_meta: dict[str, dict[str, Any]], conn_type: str
) -> None:
    extras = hook_meta[conn_type]["extra_fields"]
    assert extras.keys() >= VAULT_FIELDS
    assert extras["vault_version"]["schema"]["type"] == ["integer", "null"]
    assert all(extras[name]["schema"]["title"].startswith("Vault: ") for name in VAULT_FIELDS)
