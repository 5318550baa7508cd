"""Airflow's log masker as a core secret sink: every secret orchestore resolves is masked.

Airflow masks connection passwords and extras whose key looks secret, but not
``account_key``, ``connection_string`` or ``access_key``, nor secrets that come from Vault.
The core hands every resolved secret to its sinks (orchestore.credentials.sinks); this one
passes them to ``airflow.sdk.log.mask_secret``, in the task process and its supervisor.

Airflow's masker replaces exact strings, so a secret is also registered in the forms it takes
in a task log (``secret_forms``): URL-quoted (a connection's ``get_uri()``), line by line
(the supervisor masks a task's stdout one line at a time, so a multi-line secret printed whole
is never seen whole), and for a JSON key file its secret fields (``private_key``...).
"""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

from orchestore.credentials.sinks import register_secret_sink

__all__ = ["install_mask_sink", "mask", "secret_forms"]

#: Fragments (lines, key-file fields) shorter than this are not masked on their own: a "{" or
#: "-----END" line would blot out ordinary log text and hides nothing.
_MIN_FRAGMENT = 8
#: The secret fields of Google key files (service account, authorized user).
_KEY_FILE_SECRETS = ("private_key", "private_key_id", "client_secret", "refresh_token")


def secret_forms(value: str) -> set[str]:
    """``value`` and the forms of it (and of its secret fragments) a task log can show."""
    forms = {value, quote(value, safe=""), quote_plus(value)}
    for fragment in _fragments(value):
        if len(fragment) >= _MIN_FRAGMENT and fragment not in forms:
            forms |= secret_forms(fragment)
    return forms


def _fragments(value: str) -> list[str]:
    key_file = _json_object(value)
    if key_file is not None:
        # Its lines are mostly public ("type", "client_email"); mask the secret fields, whose
        # own lines (a PEM key's) cover the key file printed line by line.
        return [v for k, v in key_file.items() if k in _KEY_FILE_SECRETS and isinstance(v, str)]
    if "\n" in value:
        return [line.strip() for line in value.splitlines()]
    return []


def _json_object(value: str) -> dict[str, object] | None:
    if not value.lstrip().startswith("{"):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def mask(value: str) -> None:
    """Register one secret value, in all its log forms, with Airflow's masker."""
    from airflow.sdk.log import mask_secret

    for form in secret_forms(value):
        mask_secret(form)


def install_mask_sink() -> None:
    """Register ``mask`` with the core's secret sinks (idempotent)."""
    register_secret_sink(mask)
