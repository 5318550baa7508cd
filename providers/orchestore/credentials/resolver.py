"""One credential resolver for every store and orchestrator: which credentials serve this URL.

``resolve_credentials(url, ...)`` returns the URL's credential model (or None for stores that
take none), from the first of these that has credentials for it:

1. ``credentials=``: a model or a mapping of its fields / MLRun names, given in code;
2. ``source=``: the orchestrator's connection or block, through the ``CredentialSource``
   protocol (the Airflow and Prefect layers implement it); it may point at Vault itself;
3. ``vault=``: a ``VaultSecretRef`` whose secret holds the credentials;
4. the platform's ambient identity, only when one of the above asks for it
   (``use_ambient_identity=True``): never as a fallback;
5. environment variables with the MLRun names (AWS_ACCESS_KEY_ID, ...), only when the user
   opts in with ``allow_env=True`` or ``ORCHESTORE_ALLOW_ENV_CREDENTIALS=1``, because this
   product exists to take secrets out of env vars. Reading them is logged once, by name.

With none of these it fails closed: a CredentialsError lists what it looked for. A failing
source stops the search: an unreachable or sealed Vault is a VaultUnavailableError, never a
reason to try the environment or another source. (Stores whose empty model is usable, such
as anonymous http(s), get None: their default needs no secret.)

Every secret value of the result goes to the secret sinks (log maskers) before it is returned.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any, Final, Protocol, runtime_checkable

from orchestore.credentials import sinks
from orchestore.credentials.base import CredentialsModel
from orchestore.credentials.vault import VaultSecretRef, read_secret
from orchestore.errors import CredentialsError, UnsupportedOperationError
from orchestore.urls import StoreURL, parse_url

__all__ = [
    "CREDENTIAL_MODELS",
    "ENV_OPT_IN",
    "CredentialSource",
    "credentials_model",
    "resolve_credentials",
]

log = logging.getLogger(__name__)

#: the environment variable that lets the resolver read MLRun-style credential variables
ENV_OPT_IN: Final = "ORCHESTORE_ALLOW_ENV_CREDENTIALS"
_TRUE: Final = frozenset({"1", "true", "yes", "on"})

#: store family -> (module, class) of its credential model; None: the store takes none.
#: Models import only pydantic, so looking one up never imports a store's SDK.
CREDENTIAL_MODELS: Final[dict[str, tuple[str, str] | None]] = {
    "azure": ("orchestore.credentials.azure", "AzureCredentials"),
    "file": None,
    "gcs": ("orchestore.credentials.gcs", "GCSCredentials"),
    "http": ("orchestore.credentials.http", "HttpCredentials"),
    "memory": None,
    "s3": ("orchestore.credentials.s3", "S3Credentials"),
    "store": None,
    "v3io": ("orchestore.credentials.v3io", "V3ioCredentials"),
}

Found = CredentialsModel | Mapping[str, Any] | VaultSecretRef | None


@runtime_checkable
class CredentialSource(Protocol):
    """An orchestrator's connection or block, as the resolver sees it.

    ``name`` says where credentials came from in messages ("Airflow connection 'aws_default'",
    "Prefect block 's3-credentials/prod'"); it never holds a secret.

    ``credentials_for`` returns the credentials for ``url`` as a model of ``model``'s type, a
    mapping of its field names or MLRun names, or a ``VaultSecretRef`` when the connection
    points at Vault; None only when the source holds nothing for this URL. A source that
    cannot answer (missing connection, backend down) raises: the resolver never treats a
    failure as "nothing here".
    """

    @property
    def name(self) -> str: ...

    def credentials_for(self, url: StoreURL, model: type[CredentialsModel]) -> Found: ...


def credentials_model(url: StoreURL | str) -> type[CredentialsModel] | None:
    """The credential model class of ``url``'s store; None when the store takes none."""
    url = parse_url(url)
    row = CREDENTIAL_MODELS[url.family]
    if row is None:
        return None
    module_name, class_name = row
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UnsupportedOperationError(
            f"the {url.scheme}:// store's credentials are not implemented in this release",
            url=url.display(),
        ) from None
    return getattr(module, class_name)


def resolve_credentials(
    url: StoreURL | str,
    *,
    credentials: CredentialsModel | Mapping[str, Any] | None = None,
    vault: VaultSecretRef | None = None,
    source: CredentialSource | None = None,
    allow_env: bool | None = None,
) -> CredentialsModel | None:
    """The credentials for ``url``, by the precedence in this module's docstring.

    ``allow_env`` None means: read ``ORCHESTORE_ALLOW_ENV_CREDENTIALS``.
    """
    parsed = parse_url(url)
    model = credentials_model(parsed)
    if model is None:
        if credentials is not None or vault is not None:
            raise CredentialsError(
                f"the {parsed.scheme or 'file'} store takes no credentials", url=parsed.display()
            )
        return None
    env_allowed = _env_allowed(allow_env)
    # In precedence order; each step runs only when the ones before found nothing, and an
    # error in any step (Vault down, a bad secret) ends the search.
    found = _explicit(model, credentials, parsed)
    if found is None:
        found = _from_source(model, source, parsed)
    if found is None:
        found = _from_vault(model, vault, parsed)
    if found is None and env_allowed:
        found = _from_env(model, parsed)
    if found is None:
        return _nothing_found(model, parsed, source, vault, env_allowed)
    _check_usable(found, parsed)
    sinks.emit_model_secrets(found)
    return found


# -- each source ----------------------------------------------------------------------------------
def _explicit(
    model: type[CredentialsModel], credentials: object, url: StoreURL
) -> CredentialsModel | None:
    if credentials is None:
        return None
    return _as_model(model, credentials, "explicit credentials", url)


def _from_source(
    model: type[CredentialsModel], source: CredentialSource | None, url: StoreURL
) -> CredentialsModel | None:
    if source is None:
        return None
    found = source.credentials_for(url, model)
    if found is None:
        return None
    if isinstance(found, VaultSecretRef):
        return _from_vault(model, found, url, via=source.name)
    return _as_model(model, found, source.name, url)


def _from_vault(
    model: type[CredentialsModel], ref: VaultSecretRef | None, url: StoreURL, via: str = ""
) -> CredentialsModel | None:
    if ref is None:
        return None
    if not isinstance(ref, VaultSecretRef):
        raise CredentialsError(f"vault= takes a VaultSecretRef, not {type(ref).__name__}")
    name = ref.describe() + (f" (via {via})" if via else "")
    data = read_secret(ref)
    if not data:
        raise CredentialsError(
            f"{name} is empty; it needs {model.__name__} fields", url=url.display()
        )
    return _as_model(model, data, name, url)


def _from_env(model: type[CredentialsModel], url: StoreURL) -> CredentialsModel | None:
    names = sorted(name for name in model.aliases if os.environ.get(name))
    if not names:
        return None
    _log_env_once(model, names)
    data = {name: os.environ[name] for name in names}
    return _as_model(model, data, f"environment variables {', '.join(names)}", url)


# -- helpers --------------------------------------------------------------------------------------
def _as_model(
    model: type[CredentialsModel], given: object, source: str, url: StoreURL
) -> CredentialsModel:
    """A model of the store's type from a model or a mapping, naming ``source`` in errors."""
    if isinstance(given, model):
        return given if given.source != "explicit credentials" else given.with_source(source)
    if isinstance(given, CredentialsModel):
        raise CredentialsError(
            f"{url.scheme}:// takes {model.__name__}, not {type(given).__name__} ({source})",
            url=url.display(),
        )
    if not isinstance(given, Mapping):
        raise CredentialsError(
            f"{source}: expected {model.__name__} or a mapping, not {type(given).__name__}",
            url=url.display(),
        )
    try:
        return model.from_mapping(given, source=source)
    except CredentialsError as exc:
        raise CredentialsError(f"{source}: {exc.message}", url=url.display()) from None


def _check_usable(found: CredentialsModel, url: StoreURL) -> None:
    try:
        found.check_usable()
    except CredentialsError as exc:
        if found.source in exc.message:
            raise
        raise CredentialsError(f"{found.source}: {exc.message}", url=url.display()) from None


def _nothing_found(
    model: type[CredentialsModel],
    url: StoreURL,
    source: CredentialSource | None,
    vault: VaultSecretRef | None,
    env_allowed: bool,
) -> None:
    """None when the store's empty model is usable (anonymous http); otherwise fail closed."""
    try:
        model().check_usable()
    except CredentialsError as exc:
        reason = exc.message
    else:
        return
    looked = [
        "explicit credentials (none given)",
        f"{source.name} (nothing for this URL)" if source else "a connection or block (none given)",
        "a Vault secret (none given)" if vault is None else vault.describe(),
        _env_looked(model, env_allowed),
    ]
    raise CredentialsError(
        f"no {model.__name__} found; looked for: {'; '.join(looked)}. {reason}",
        url=url.display(),
    )


def _env_looked(model: type[CredentialsModel], env_allowed: bool) -> str:
    names = ", ".join(sorted(model.aliases)) or "none for this store"
    if env_allowed:
        return f"environment variables {names} (none set)"
    return f"environment variables (not read: set {ENV_OPT_IN}=1 or allow_env=True to read {names})"


def _env_allowed(allow_env: bool | None) -> bool:
    if allow_env is not None:
        return allow_env
    return os.environ.get(ENV_OPT_IN, "").strip().lower() in _TRUE


_ENV_LOGGED: set[tuple[str, ...]] = set()
_ENV_LOCK = threading.Lock()


def _log_env_once(model: type[CredentialsModel], names: list[str]) -> None:
    """Say once per process (per set of names) that credentials came from env vars; no values."""
    key = (model.__name__, *names)
    with _ENV_LOCK:
        if key in _ENV_LOGGED:
            return
        _ENV_LOGGED.add(key)
    log.warning(
        "%s: reading %s credentials from environment variables %s (%s is on); move them to a "
        "connection, a block or Vault",
        model.family,
        model.__name__,
        ", ".join(names),
        ENV_OPT_IN,
    )
