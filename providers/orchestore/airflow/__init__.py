"""orchestore's Airflow provider: connection types, hooks, operators, filesystems and assets.

Airflow finds it through the ``apache_airflow_provider`` entry point, which calls
``get_provider_info()``. Importing this package imports no Airflow module and no store SDK:
the provider manager, the DAG processor and ``import orchestore`` all stay cheap.
"""

from __future__ import annotations

import importlib.util
from typing import Any

__all__ = ["get_provider_info"]

_HOOKS = "orchestore.airflow.hooks"


def _modules(*names: str) -> list[dict[str, Any]]:
    """One ``python-modules`` entry of our integration (docs and ``airflow providers ...``)."""
    return [{"integration-name": "orchestore", "python-modules": list(names)}]


def get_provider_info() -> dict[str, Any]:
    """The provider-info dict Airflow validates against its ``provider_info.schema.json``."""
    from orchestore.airflow.forms import CONNECTION_TYPES

    return {
        # must equal the distribution's (canonical) name, or Airflow refuses the provider
        "package-name": "orchestore",
        "name": "orchestore",
        "description": (
            "MLRun-style URL data stores (s3, az, gs, v3io, http, file, store://) with "
            "credentials from Airflow connections or HashiCorp Vault."
        ),
        "integrations": [
            {
                "integration-name": "orchestore",
                "external-doc-url": "https://github.com/orchestore/orchestore",
                "tags": ["software"],
            }
        ],
        "hooks": _modules(_HOOKS),
        "operators": _modules(
            "orchestore.airflow.operators.objects",
            "orchestore.airflow.operators.dataframes",
            "orchestore.airflow.operators.artifacts",
        ),
        "sensors": _modules("orchestore.airflow.sensors.store_key"),
        "triggers": _modules("orchestore.airflow.triggers.store_key"),
        "connection-types": CONNECTION_TYPES,
        "filesystems": ["orchestore.airflow.fs.store", "orchestore.airflow.fs.v3io"],
        "asset-uris": [
            {"schemes": ["v3io", "v3ios"], "handler": "orchestore.airflow.assets.v3io.normalize"},
            {"schemes": ["store"], "handler": "orchestore.airflow.assets.store.normalize"},
        ],
    }


def _register_path_classes() -> None:
    """ObjectStoragePath("v3io://...") without universal-pathlib's fallback warning."""
    if importlib.util.find_spec("upath") is not None:
        from orchestore.airflow.fs.paths import register_upath_implementations

        register_upath_implementations()


_register_path_classes()
