"""Secrets out of SDK debug logs, and out of the locals a traceback prints.

The cloud SDKs log whole requests at DEBUG: botocore prints the canonical request with the
``X-Amz-Security-Token`` header and every prepared request's headers; other SDKs print URLs
that may carry signatures. Airflow's masker covers task logs, but a plain Python process (a
script, a Prefect worker, the CLI) with DEBUG on would print them. So:

- every secret a store is given (``remember_model``) or the resolver hands out (this module is
  a core secret sink) is remembered, in plain and URL-quoted form;
- a log-record factory, installed once, rewrites records of the SDK loggers (``SDK_LOGGERS``)
  with each remembered secret replaced by ``***``. Records are only built when a logger is
  enabled for their level, so this costs nothing while DEBUG is off.

``SecretHeaders`` is a dict of request headers whose repr hides the values, so that
``pytest --showlocals`` or a debugger's frame dump does not print an Authorization header.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from orchestore.credentials.sinks import _secrets_in, register_secret_sink

__all__ = ["SDK_LOGGERS", "SecretHeaders", "redact", "remember", "remember_model"]

#: loggers (and their children) whose records are redacted
SDK_LOGGERS = (
    "adlfs",
    "aiobotocore",
    "aiohttp",
    "azure",
    "botocore",
    "boto3",
    "fsspec",
    "gcsfs",
    "google",
    "hvac",
    "s3fs",
    "s3transfer",
    "urllib3",
    "orchestore",
)
#: shorter values are not redacted (they would mangle every log line), nor remembered
MIN_LENGTH = 4
#: at most this many secrets are remembered (the oldest are forgotten first)
MAX_SECRETS = 4096
MASK = "***"

_LOCK = threading.Lock()
_SECRETS: dict[str, None] = {}  # insertion-ordered set
_installed = False


def remember(value: str) -> None:
    """Redact ``value`` (and its URL-quoted form) from SDK log records from now on."""
    if len(value) < MIN_LENGTH:
        return
    with _LOCK:
        for form in {value, quote(value, safe="")}:
            _SECRETS.pop(form, None)
            _SECRETS[form] = None
        while len(_SECRETS) > MAX_SECRETS:
            _SECRETS.pop(next(iter(_SECRETS)))
    _install()


def remember_model(model: BaseModel | None) -> None:
    """Remember every secret field of a credentials model."""
    if model is not None:
        for value in _secrets_in(model):
            remember(value)


def redact(text: str) -> str:
    """``text`` with every remembered secret replaced by ``***`` (longest first)."""
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _install() -> None:
    global _installed
    with _LOCK:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        # logging.makeLogRecord (structlog's formatter uses it) builds a record named None
        if isinstance(record.name, str) and record.name.startswith(SDK_LOGGERS) and _SECRETS:
            try:
                message = record.getMessage()
            except Exception:  # a broken format: leave it to logging's own error handling
                return record
            redacted = redact(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return record

    logging.setLogRecordFactory(factory)


class SecretHeaders(dict[str, str]):
    """Request headers whose repr shows names only: tracebacks with locals stay clean."""

    def __repr__(self) -> str:
        return "SecretHeaders({" + ", ".join(f"{name!r}: '***'" for name in self) + "})"

    __str__ = __repr__


register_secret_sink(remember)
