"""orchestore registers as an Airflow provider: schema-valid info, discovered by Airflow.

get_provider_info() is validated against the JSON schema Airflow ships; the provider manager
of a real Airflow interpreter is asked what it found (hooks, form fields and their
sensitivity, filesystems, asset handlers); the CLI lists the provider and its hooks.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from orchestore.airflow import get_provider_info
from orchestore.airflow.forms import CONNECTION_TYPES, VAULT_FIELDS
from tests.airflow.harness import AirflowHome
from tests.airflow.provider_support import assert_no_errors, run_ops

if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow

OUR_TYPES = ["v3io", "orchestorecatalog", "orchestores3", "orchestoreazure", "orchestoregcs"]
#: the conn-fields that are secrets, per type (format: password)
SECRET_FIELDS = {
    "v3io": set(),
    "orchestorecatalog": set(),
    "orchestores3": {"session_token"},
    "orchestoreazure": {"connection_string", "sas_token", "client_secret"},
    "orchestoregcs": {"credentials_json"},
}


def _airflow_file(name: str) -> Path:
    # find_spec, not import: importing airflow here would configure it for this process
    spec = importlib.util.find_spec("airflow")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / name


def test_provider_info_validates_against_airflows_schema() -> None:
    import jsonschema

    schema = json.loads(_airflow_file("provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == "orchestore"
    types = [entry["connection-type"] for entry in info["connection-types"]]
    assert types == OUR_TYPES
    assert not [t for t in types if "_" in t]  # Airflow warns (RFC 3986) about "_"
    package = Path(importlib.util.find_spec("orchestore").origin).parent
    for key in ("hooks", "operators", "sensors", "triggers"):
        for module in info[key][0]["python-modules"]:  # listed modules exist (no import here)
            relative = Path(*module.split(".")[1:])
            assert (package / f"{relative}.py").is_file() or (package / relative).is_dir(), module
    assert not {"s3", "gs", "gcs", "abfs", "az"} & {
        scheme
        for module in info["filesystems"]
        for scheme in importlib.import_module(module).schemes
    }  # the official providers own these


def test_every_form_is_declarative_with_a_vault_section() -> None:
    for entry in CONNECTION_TYPES:
        conn_type = entry["connection-type"]
        fields = entry["conn-fields"]
        secrets = {name for name, f in fields.items() if f["schema"].get("format") == "password"}
        assert secrets == SECRET_FIELDS[conn_type], conn_type
        assert "root" in fields
        if conn_type != "orchestorecatalog":
            assert VAULT_FIELDS.items() <= fields.items(), conn_type
            assert "enum" in fields["auth_method"]["schema"], conn_type
        for name, field in fields.items():
            assert field["label"] and field["description"], (conn_type, name)
            assert "null" in field["schema"]["type"], (conn_type, name)
        behaviour = entry["ui-field-behaviour"]
        assert behaviour["relabeling"] and behaviour["placeholders"], conn_type
        assert "extra" not in behaviour["hidden-fields"]


def test_airflow_discovers_the_provider(airflow_home: AirflowHome) -> None:
    ops = [
        {"op": "imported", "modules": [
            "orchestore.airflow", "orchestore.airflow.hooks", "orchestore.airflow.connections",
            "orchestore.airflow.fs.v3io", "orchestore.airflow.fs.store",
            "orchestore.airflow.assets.v3io", "orchestore.airflow.assets.store",
        ]},
        {"op": "provider_manager"},
    ]  # fmt: skip
    results = run_ops(airflow_home, {}, ops)
    assert_no_errors(ops, results)
    imported, found = results
    assert imported["heavy"] == []  # hooks and filesystems load no cloud SDK, pandas or pyarrow
    assert found["provider"] == "orchestore"
    assert sorted(found["hooks"]) == sorted(OUR_TYPES)
    for hook_class, conn_attr, hook_name in found["hooks"].values():
        assert hook_class.startswith("orchestore.airflow.hooks.") and conn_attr == "conn_id"
        assert hook_name.startswith("orchestore: ")
    assert found["behaviours"]["v3io"]["relabeling"]["host"] == "Web API URL"
    sensitive = {
        (name.split("__")[1], widget["field"])
        for name, widget in found["widgets"].items()
        if widget["sensitive"]
    }
    expected = {(t, field) for t, fields in SECRET_FIELDS.items() for field in fields}
    assert sensitive == expected
    assert found["filesystems"] == ["orchestore.airflow.fs.store", "orchestore.airflow.fs.v3io"]
    assert found["asset_handlers"] == {
        "v3io": "orchestore.airflow.assets.v3io.normalize",
        "v3ios": "orchestore.airflow.assets.v3io.normalize",
        "store": "orchestore.airflow.assets.store.normalize",
    }


def test_airflow_cli_lists_the_provider_and_its_hooks(airflow_home: AirflowHome) -> None:
    providers = airflow_home.run("providers", "list", "-o", "json")
    assert providers.returncode == 0, providers.stderr[-2000:]
    listed = {row["package_name"]: row for row in json.loads(providers.stdout)}
    assert "orchestore" in listed
    hooks = airflow_home.run("providers", "hooks", "-o", "json")
    assert hooks.returncode == 0, hooks.stderr[-2000:]
    ours = {row["connection_type"]: row for row in json.loads(hooks.stdout)}
    for conn_type in OUR_TYPES:
        assert ours[conn_type]["package_name"] == "orchestore", ours.get(conn_type)
    # Loading the provider warns about nothing (a mismatch or an import error would).
    for output in (providers.stderr, hooks.stderr):
        assert "orchestore" not in output, output[-2000:]
