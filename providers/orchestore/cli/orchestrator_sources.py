"""``--airflow-conn`` and ``--prefect-block``: an orchestrator's connection or block, as a
``CredentialSource`` for the one resolver.

Each option value is ``[URL_PREFIX=]ID``. With a prefix the source serves URLs under it; without
one it serves the URLs of its store family (an ``aws`` connection serves s3://, a GCS block
gs://), so ``cp s3://... az://... --prefect-block A --prefect-block B`` needs no prefixes.

Airflow and Prefect load only when their option is used: ``--help`` and every other command
stay as fast as before. Airflow's connection lookup is Airflow's own (``get_connection``), so
secrets backends (Vault, AWS Secrets Manager, ...) and ``AIRFLOW_CONN_*`` variables all work;
a Prefect block is loaded from the Prefect API the profile (or ``PREFECT_API_URL``) points at.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from typing import Any, Final, Protocol

from orchestore.cli.output import UsageError
from orchestore.errors import CredentialsError, OrchestoreError

__all__ = [
    "AirflowConnectionSource",
    "OrchestratorSource",
    "PrefectBlockSource",
    "get_airflow_connection",
    "pick_source",
    "require_layer",
    "resolve_ds_url",
]

#: option -> (top-level module that must be importable, the extra that installs it)
_LAYERS: Final = {
    "--airflow-conn": ("airflow", "airflow"),
    "--prefect-block": ("prefect", "prefect"),
}


class OrchestratorSource(Protocol):
    """A CredentialSource that can also say, without credentials, which URLs it serves."""

    @property
    def name(self) -> str: ...

    def serves(self, url: Any) -> bool: ...

    def credentials_for(self, url: Any, model: Any) -> Any: ...


def require_layer(option: str) -> None:
    """A usage error (exit 2) when ``option``'s orchestrator is not installed; no import."""
    module, extra = _LAYERS[option]
    if importlib.util.find_spec(module) is None:
        raise UsageError(
            f"{option} needs {module.capitalize()}: pip install 'orchestore[{extra}]' "
            "(or use --credentials-json, --vault ... or --allow-env)"
        )


def pick_source(
    sources: list[tuple[str, OrchestratorSource]], url: Any
) -> OrchestratorSource | None:
    """The source for ``url``: the longest matching URL prefix, else the only unprefixed
    source, else the first unprefixed one of the URL's family, else the first unprefixed one
    (its own error then says why it cannot serve the URL)."""
    text = str(url)
    prefixed = [(len(p), s) for p, s in sources if p and text.startswith(p)]
    if prefixed:
        return max(prefixed, key=lambda match: match[0])[1]
    unprefixed = [source for prefix, source in sources if not prefix]
    if len(unprefixed) == 1:  # no need to look the connection or block up just to choose
        return unprefixed[0]
    for source in unprefixed:
        if source.serves(url):
            return source
    return unprefixed[0] if unprefixed else None


class AirflowConnectionSource:
    """An Airflow connection, looked up by Airflow (secrets backends, ``AIRFLOW_CONN_*``).

    The Airflow layer's ``ConnectionSource`` does the translation (the same adapters and
    Vault sections as ``credentials_for_connection`` in a task); the connection is looked up
    once per command, on first use, and handed to the CLI's one resolver call, so
    ``--credentials-json`` still wins over it as the resolver's precedence says.
    """

    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id
        self._source: Any = None

    @property
    def name(self) -> str:
        return f"Airflow connection '{self.conn_id}'"

    def serves(self, url: Any) -> bool:
        return bool(self._connection_source().adapted.family == url.family)

    def credentials_for(self, url: Any, model: Any) -> Any:
        """The connection's credentials for ``url`` (a Vault reference read by the resolver)."""
        return self._connection_source().credentials_for(url, model)

    def _connection_source(self) -> Any:
        if self._source is None:
            connections = _import("orchestore.airflow.connections", "--airflow-conn")
            self._source = connections.ConnectionSource(
                get_airflow_connection(self.conn_id), get_airflow_connection
            )
        return self._source


def get_airflow_connection(conn_id: str) -> Any:
    """Airflow's own lookup; "not defined" becomes a CredentialsError naming the connection."""
    connections = _import("orchestore.airflow.connections", "--airflow-conn")
    try:
        return connections.get_connection(conn_id)
    except Exception as exc:  # AirflowNotFoundException and backend failures alike
        if type(exc).__name__ == "AirflowNotFoundException":
            raise CredentialsError(
                f"Airflow connection '{conn_id}' is not defined (looked in Airflow's secrets "
                "backends and AIRFLOW_CONN_* variables)"
            ) from None
        raise CredentialsError(
            f"Airflow could not look up connection '{conn_id}': {type(exc).__name__}"
        ) from None


def resolve_ds_url(url: str) -> tuple[str, AirflowConnectionSource]:
    """``ds://<conn_id>/<path>``: the real URL under the connection's root, and the source."""
    require_layer("--airflow-conn")
    hooks = _import("orchestore.airflow.hooks", "--airflow-conn")
    conn_id = url.removeprefix("ds://").partition("/")[0]
    source = AirflowConnectionSource(conn_id)
    if conn_id:
        source._connection_source()  # a missing connection: our CredentialsError, exit 3
    return hooks.DataStoreHook().resolve_url(url), source


class PrefectBlockSource:
    """A saved Prefect block: an orchestore credentials block or a DataStore (its credentials).

    Loaded once, on first use, from the Prefect API of the current profile.
    """

    def __init__(self, reference: str) -> None:
        slug, sep, name = reference.partition("/")
        if not (sep and slug and name):
            raise UsageError(
                f"--prefect-block {reference!r}: expected BLOCK_TYPE_SLUG/BLOCK_NAME, "
                "e.g. orchestore-s3-credentials/prod"
            )
        self.reference = reference
        self._credentials_block: Any = None
        self._loaded = False

    @property
    def name(self) -> str:
        return f"Prefect block '{self.reference}'"

    def serves(self, url: Any) -> bool:
        block = self._block()
        return block is not None and block.core_model.family == url.family

    def credentials_for(self, url: Any, model: Any) -> Any:
        """The block's answer (a model, or a Vault reference the resolver reads)."""
        block = self._block()
        if block is None:
            raise CredentialsError(f"{self.name} holds no credentials block", url=url.display())
        return block.credentials_for(url, model)

    def _block(self) -> Any:
        if not self._loaded:
            self._credentials_block = self._load()
            self._loaded = True
        return self._credentials_block

    def _load(self) -> Any:
        _import("prefect_orchestore", "--prefect-block")  # registers our block types
        from prefect.blocks.core import Block

        from prefect_orchestore.credentials import StoreCredentialsBlock
        from prefect_orchestore.storage import DataStore

        try:
            block = Block.load(self.reference)
        except OrchestoreError:
            raise
        except ValueError:  # Prefect: "Unable to find block document named ..."
            raise CredentialsError(
                f"{self.name} not found on the Prefect API (check PREFECT_API_URL / the "
                "profile, and `prefect block ls`)"
            ) from None
        except Exception as exc:  # the API unreachable, a block that fails validation, ...
            raise CredentialsError(
                f"{self.name} could not be loaded: {type(exc).__name__}"
            ) from None
        if isinstance(block, DataStore):
            return block.credentials
        if isinstance(block, StoreCredentialsBlock):
            return block
        raise CredentialsError(
            f"{self.name} is a {type(block).__name__}, not an orchestore credentials block "
            "(orchestore-s3-credentials, orchestore-azure-credentials, ...) or a DataStore"
        )


def _import(module: str, option: str) -> Any:
    """Import an orchestrator layer of orchestore, naming the extra when it is missing."""
    try:
        imported = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        _, extra = _LAYERS[option]
        raise UsageError(
            f"{option} needs {module} ({exc.name} is missing): pip install 'orchestore[{extra}]'"
        ) from None
    _logs_to_stderr()
    return imported


def _logs_to_stderr() -> None:
    """Undo what importing an orchestrator does to logging, for a command line.

    Importing Airflow configures the root logger at INFO with a handler on stdout, so every
    SDK's request log (Azure logs each request at INFO) would land in ``--json`` output and
    pipes. stdout is for results: log handlers move to stderr, and only warnings are shown.
    """
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                handler.setStream(sys.stderr)
    logging.getLogger().setLevel(logging.WARNING)
