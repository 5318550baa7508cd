"""The secret sink: every secret value the credential resolver produces goes to these callbacks.

The Airflow layer registers its log masker here and the Prefect layer its own, so a secret is
masked in task logs whatever its source (explicit, a connection, a block, Vault, the
environment). Vault tokens obtained by logging in are handed over too.

A callback that raises stops the resolution: credentials that could not be masked are not
handed out (fail closed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

__all__ = [
    "SecretSink",
    "emit_model_secrets",
    "emit_secret",
    "register_secret_sink",
    "unregister_secret_sink",
]

SecretSink = Callable[[str], None]

_SINKS: list[SecretSink] = []
_LOCK = threading.Lock()


def register_secret_sink(sink: SecretSink) -> Callable[[], None]:
    """Call ``sink(value)`` for every secret value produced from now on; returns an unregister.

    Registering the same callable twice registers it once.
    """
    with _LOCK:
        if sink not in _SINKS:
            _SINKS.append(sink)
    return lambda: unregister_secret_sink(sink)


def unregister_secret_sink(sink: SecretSink) -> None:
    """Stop calling ``sink``; unknown sinks are ignored."""
    with _LOCK:
        if sink in _SINKS:
            _SINKS.remove(sink)


def emit_secret(value: str) -> None:
    """Hand one secret value to every sink (empty values are not secrets: skipped)."""
    if not value:
        return
    with _LOCK:
        sinks = list(_SINKS)
    for sink in sinks:
        sink(value)


def emit_model_secrets(model: BaseModel) -> None:
    """Hand every SecretStr/SecretBytes value of a model (nested ones too) to the sinks."""
    for value in _secrets_in(model):
        emit_secret(value)


def _secrets_in(value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, SecretBytes):
        try:
            yield value.get_secret_value().decode()
        except UnicodeDecodeError:  # binary keys never appear in text logs as they are
            return
    elif isinstance(value, BaseModel):
        for _, item in value:
            yield from _secrets_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _secrets_in(item)
