"""Airflow's log masker as a core secret sink: every secret orchestore resolves is masked.

Airflow masks connection passwords and extras whose key looks secret, but not
``account_key``, ``connection_string`` or ``access_key``, nor secrets that come from Vault.
The core hands every resolved secret to its sinks (orchestore.credentials.sinks); this one
passes them to ``airflow.sdk.log.mask_secret``, in the task process and its supervisor.
"""

from __future__ import annotations

from orchestore.credentials.sinks import register_secret_sink

__all__ = ["install_mask_sink", "mask"]


def mask(value: str) -> None:
    """Register one secret value with Airflow's masker (the sink orchestore calls)."""
    from airflow.sdk.log import mask_secret

    mask_secret(value)


def install_mask_sink() -> None:
    """Register ``mask`` with the core's secret sinks (idempotent)."""
    register_secret_sink(mask)
