"""Run a batch of provider operations inside one Airflow interpreter; print results as JSON.

Usage: ``python run_ops.py '<json list of operations>'``. Each operation is a dict with an
``op`` key (see OPS); each result is a dict, in order, and the last stdout line is the JSON
list of results. Secret values are never printed: credential fields that are secrets come
back as their SHA-256, so the test compares digests. Errors come back as
``{"error": class name, "message": text}`` so the test can check what they say (and do not).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import traceback
from typing import Any

from pydantic import SecretBytes, SecretStr


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _fields(model: Any) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for name, value in model:
        if name in model.model_fields_set or value not in (None, False, {}):
            if isinstance(value, SecretStr | SecretBytes):
                raw = value.get_secret_value()
                shown[name] = {"sha256": digest(raw if isinstance(raw, str) else raw.decode())}
            elif isinstance(value, dict):
                shown[name] = {
                    k: {"sha256": digest(v.get_secret_value())} for k, v in value.items()
                }
            else:
                shown[name] = value
    return shown


def _model(found: Any) -> dict[str, Any]:
    if found is None:
        return {"model": None}
    return {"model": type(found).__name__, "source": found.source, "fields": _fields(found)}


def op_credentials(conn_id: str, url: str) -> dict[str, Any]:
    from orchestore.airflow.connections import credentials_for_connection

    return _model(credentials_for_connection(conn_id, url))


def op_async_credentials(conn_id: str, url: str) -> dict[str, Any]:
    from orchestore.airflow.connections import acredentials_for_connection

    return _model(asyncio.run(acredentials_for_connection(conn_id, url)))


def op_hook_credentials(conn_id: str | None, url: str) -> dict[str, Any]:
    from orchestore.airflow.hooks import DataStoreHook

    return _model(DataStoreHook(conn_id).credentials_for(url))


def op_resolve(url: str) -> dict[str, Any]:
    from orchestore.airflow.hooks import DataStoreHook

    return {"url": DataStoreHook().resolve_url(url)}


def op_roundtrip(conn_id: str | None, url: str, data: str) -> dict[str, Any]:
    """put, get, exists, stat and ls of the parent through one DataStoreHook."""
    from orchestore.airflow.hooks import DataStoreHook

    hook = DataStoreHook(conn_id)
    hook.put(url, data)
    item = hook.item(url)
    parent = url.rsplit("/", 1)[0] + "/"
    stores_before = len(hook._manager)
    result = {
        "read": hook.get(url).decode(),
        "exists": hook.exists(url),
        "size": hook.stat(url).size,
        "item_url": item.url,
        "listed": [entry.rsplit("/", 1)[-1] for entry in hook.ls(parent)],
    }
    result["one_client"] = len(hook._manager) == stores_before == 1
    hook.close()
    return result


def op_copy(conn_id: str | None, src: str, dst: str, dst_conn_id: str | None) -> dict[str, Any]:
    """DataStoreHook.copy through the transfer engine; its JSON-safe summary."""
    from orchestore.airflow.hooks import DataStoreHook

    return DataStoreHook(conn_id).copy(src, dst, dst_conn_id=dst_conn_id).as_dict()


def op_read(conn_id: str | None, url: str) -> dict[str, Any]:
    from orchestore.airflow.hooks import DataStoreHook

    return {"read": DataStoreHook(conn_id).get(url).decode()}


def op_test_connection(conn_id: str) -> dict[str, Any]:
    """The path ``airflow connections test`` takes (a server-context process, like the CLI)."""
    os.environ["_AIRFLOW_PROCESS_CONTEXT"] = "server"
    from airflow.models.connection import Connection

    ok, message = Connection.get_connection_from_secrets(conn_id).test_connection()
    return {"ok": ok, "message": message}


def op_add_connection(conn_id: str, **fields: Any) -> dict[str, Any]:
    """Store a connection in the metadata DB, as the UI and ``connections add`` do."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    extra = fields.pop("extra", None)
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == conn_id).delete()
        conn = Connection(conn_id=conn_id, extra=json.dumps(extra) if extra else None, **fields)
        session.add(conn)
    return {"conn_type": fields.get("conn_type")}


def op_core_resolve(url: str, credentials: dict[str, Any]) -> dict[str, Any]:
    """Resolve credentials with the core alone, after importing the hooks (the sink's trigger)."""
    import orchestore.airflow.hooks  # noqa: F401 - registers the mask_secret sink
    from orchestore.credentials.resolver import resolve_credentials

    return _model(resolve_credentials(url, credentials=credentials))


def op_redact(values: list[str]) -> dict[str, Any]:
    """For each value: is it hidden by Airflow's redact() (in a string and in a dict)?"""
    from airflow.sdk.log import redact

    hidden = []
    for value in values:
        text = str(redact(f"before {value} after"))
        nested = json.dumps(redact({"field": value, "inner": {"v": value}}))
        hidden.append(value not in text and value not in nested)
    return {"hidden": hidden}


def op_get_connection(conn_id: str) -> dict[str, Any]:
    """Fetch a connection the way hooks do (Airflow masks what it knows to mask)."""
    from airflow.sdk import BaseHook

    return {"conn_type": BaseHook.get_connection(conn_id).conn_type}


def op_object_storage_path(conn_id: str, url: str, text: str) -> dict[str, Any]:
    """Write and read through ObjectStoragePath in a process that imported orchestore.airflow
    (as a DAG using our operators does); warnings raised meanwhile are reported."""
    import warnings

    from airflow.sdk import ObjectStoragePath

    import orchestore.airflow  # noqa: F401

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = ObjectStoragePath(url, conn_id=conn_id)
    path.write_text(text)
    again = ObjectStoragePath(url, conn_id=conn_id)
    return {
        "str": str(again),
        "read": again.read_text(),
        "reparsed_read": ObjectStoragePath(str(again)).read_text(),
        "exists": again.exists(),
        "listed": sorted(child.name for child in again.parent.iterdir()),
        "fs": type(again.fs).__name__,
        "path_class": type(again.__wrapped__).__name__,
        "warnings": [str(warning.message) for warning in caught],
    }


def op_object_storage_read(conn_id: str, url: str) -> dict[str, Any]:
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(url, conn_id=conn_id)
    return {"read": path.read_text(), "fs": type(path.fs).__name__}


def op_provider_manager() -> dict[str, Any]:
    """What Airflow's provider manager discovered from orchestore (as the UI and CLI see it)."""
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    ours = {
        conn_type: hook
        for conn_type, hook in manager.hooks.items()
        if hook is not None and hook.package_name == "orchestore"
    }
    widgets = {
        name: {"field": widget.field_name, "sensitive": widget.is_sensitive}
        for name, widget in manager.connection_form_widgets.items()
        if widget.package_name == "orchestore"
    }
    return {
        "provider": manager.providers["orchestore"].data["package-name"],
        "hooks": {
            conn_type: [hook.hook_class_name, hook.connection_id_attribute_name, hook.hook_name]
            for conn_type, hook in ours.items()
        },
        "behaviours": {t: manager.field_behaviours.get(t) for t in ours},
        "widgets": widgets,
        "filesystems": sorted(m for m in manager.filesystem_module_names if "orchestore" in m),
        "asset_handlers": {
            scheme: f"{handler.__module__}.{handler.__name__}"
            for scheme, handler in manager.asset_uri_handlers.items()
            if handler.__module__.startswith("orchestore")
        },
    }


def op_imported(modules: list[str]) -> dict[str, Any]:
    """Import ``modules``; which heavy libraries came with them."""
    import importlib

    for module in modules:
        importlib.import_module(module)
    heavy = ("boto3", "botocore", "azure", "google", "pandas", "pyarrow", "s3fs", "gcsfs")
    return {"heavy": sorted(name for name in heavy if name in sys.modules)}


def op_asset(uri: str) -> dict[str, Any]:
    from airflow.sdk import Asset

    return {"uri": Asset(uri).uri}


OPS = {
    "add_connection": op_add_connection,
    "copy": op_copy,
    "core_resolve": op_core_resolve,
    "asset": op_asset,
    "async_credentials": op_async_credentials,
    "credentials": op_credentials,
    "get_connection": op_get_connection,
    "hook_credentials": op_hook_credentials,
    "imported": op_imported,
    "object_storage_read": op_object_storage_read,
    "provider_manager": op_provider_manager,
    "object_storage_path": op_object_storage_path,
    "read": op_read,
    "redact": op_redact,
    "resolve": op_resolve,
    "roundtrip": op_roundtrip,
    "test_connection": op_test_connection,
}


def run(operation: dict[str, Any]) -> dict[str, Any]:
    kwargs = {key: value for key, value in operation.items() if key != "op"}
    try:
        return OPS[operation["op"]](**kwargs)
    except Exception as exc:
        return {
            "error": type(exc).__name__,
            "message": str(exc),
            "repr": repr(exc),
            "trace": traceback.format_exc(limit=3)[-1500:],
        }


if __name__ == "__main__":
    results = [run(operation) for operation in json.loads(sys.argv[1])]
    print(json.dumps(results))
