"""HashiCorp Vault (and OpenBao) as a credential source, on ``hvac``.

``VaultConnection`` says how to reach and log in to Vault; ``VaultSecretRef`` says "load this
store's credentials from this KV secret". ``read_secret(ref)`` returns the secret's data.

Why it is built this way:
- hvac reads ``VAULT_TOKEN``, ``~/.vault-token``, ``VAULT_ADDR`` and ``VAULT_CACERT`` by itself
  when a setting is missing, and requests reads proxies, CA bundles and .netrc from the
  environment. Both are shut out: the client gets an explicit URL, token (``""`` until it
  logs in), verify and cert, and a requests session with ``trust_env=False``. The Vault
  settings come from the connection or block only.
- Auth methods are one table (``AUTH_METHODS``): the fields each needs and its login call.
- One client per process per connection (address, namespace and auth identity are part of
  it), shared by every store, task and orchestrator layer; hvac is imported on first use, so
  ``import orchestore`` stays cheap.
- Secrets are cached per (address, namespace, auth identity, mount, path, version) for their
  lease_duration, and KV secrets for at most ``kv_cache_ttl`` (default 5 minutes; KV v1 reports
  a 32-day "lease" that is only a refresh hint). One read per key is in flight at a time:
  concurrent callers wait for it. The auth identity is in the key so a secret read by one
  identity is never handed to another that Vault would refuse.
- Tokens are renewed when a third of their TTL is left (when renewable), and AppRole,
  Kubernetes, userpass and JWT log in again when renewal is not possible or a token is
  refused. Renewal happens on use: there is no background thread to survive a fork.
- Errors fail closed: unreachable, timed out or sealed -> VaultUnavailableError naming the
  address; permission denied or a missing secret -> CredentialsError naming the path and the
  auth method. No message carries a token, a secret_id or a secret's value.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, get_args
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from orchestore.credentials import sinks
from orchestore.credentials.base import CredentialsModel
from orchestore.errors import (
    CredentialsError,
    MissingDependencyError,
    OrchestoreError,
    VaultUnavailableError,
)

if TYPE_CHECKING:
    import hvac

__all__ = [
    "AUTH_METHODS",
    "DEFAULT_KV_CACHE_TTL",
    "KUBERNETES_JWT_PATH",
    "AuthMethod",
    "AuthMethodSpec",
    "VaultClient",
    "VaultConnection",
    "VaultSecretRef",
    "clear_cache",
    "close_clients",
    "read_secret",
    "vault_client",
]

log = logging.getLogger(__name__)

AuthMethod = Literal["token", "approle", "kubernetes", "userpass", "jwt"]
#: where Kubernetes mounts the pod's service-account token
KUBERNETES_JWT_PATH: Final = "/var/run/secrets/kubernetes.io/serviceaccount/token"
#: seconds a KV secret is reused before Vault is asked again
DEFAULT_KV_CACHE_TTL: Final = 300.0
#: renew (or log in again) when less than this fraction of the token's TTL is left
_RENEW_FRACTION: Final = 1 / 3
_SECRET_FIELDS: Final = ("token", "secret_id", "password", "jwt")


# -- settings -------------------------------------------------------------------------------------
class VaultConnection(CredentialsModel):
    """How to reach Vault and log in. Secrets (token, secret_id, password, jwt) are SecretStr.

    Only the fields of the chosen ``auth_method`` may be set (see ``AUTH_METHODS``); nothing
    is read from the environment or from ``~/.vault-token``.
    """

    family: ClassVar[str] = "vault"

    url: str
    """Vault's address, e.g. ``https://vault.example.com:8200``."""
    namespace: str | None = None
    """Vault Enterprise / HCP namespace (sent as X-Vault-Namespace)."""
    auth_method: AuthMethod = "token"
    """token, approle, kubernetes, userpass or jwt (JWT/OIDC roles; ``auth_mount="oidc"``...)."""
    auth_mount: str | None = None
    """Where the auth method is mounted; default: the method's name."""
    token: SecretStr | None = None
    """auth_method=token: the Vault token."""
    role_id: str | None = None
    """auth_method=approle: the role ID."""
    secret_id: SecretStr | None = None
    """auth_method=approle: the secret ID (omit for roles with bind_secret_id=false)."""
    username: str | None = None
    """auth_method=userpass: the user name."""
    password: SecretStr | None = None
    """auth_method=userpass: the password."""
    role: str | None = None
    """auth_method=kubernetes or jwt: the Vault role to log in as."""
    jwt: SecretStr | None = None
    """auth_method=kubernetes or jwt: the JWT itself."""
    jwt_path: str | None = None
    """auth_method=kubernetes or jwt: a file holding the JWT, read at every login (tokens
    rotate). Kubernetes defaults to the pod's service-account token."""
    verify_ssl: bool = True
    """Verify Vault's TLS certificate."""
    ca_bundle: str | None = None
    """A PEM file of CA certificates to trust instead of the default bundle."""
    timeout: float = Field(default=10.0, gt=0)
    """Seconds to wait for Vault to connect or answer before VaultUnavailableError."""
    kv_cache_ttl: float = Field(default=DEFAULT_KV_CACHE_TTL, ge=0)
    """Seconds a KV secret is reused (0: read every time)."""

    @field_validator("url")
    @classmethod
    def _plain_address(cls, url: str) -> str:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// address with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not contain credentials; use the auth fields")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        return url.strip().rstrip("/")

    @model_validator(mode="after")
    def _fields_match_auth_method(self) -> VaultConnection:
        method = AUTH_METHODS[self.auth_method]
        missing = [name for name in method.required if getattr(self, name) is None]
        if missing:
            raise ValueError(f"auth_method {self.auth_method!r} needs {', '.join(missing)}")
        used = set(method.required) | set(method.optional)
        foreign = [name for name in _AUTH_FIELDS if name not in used and getattr(self, name)]
        if foreign:
            raise ValueError(
                f"{', '.join(foreign)} not used by auth_method {self.auth_method!r}; "
                "remove them or choose the auth method they belong to"
            )
        if method.one_of and not any(getattr(self, name) for name in method.one_of):
            raise ValueError(f"auth_method {self.auth_method!r} needs {' or '.join(method.one_of)}")
        if self.jwt is not None and self.jwt_path is not None:
            raise ValueError("jwt and jwt_path exclude each other")
        if self.auth_method == "token" and self.auth_mount is not None:
            raise ValueError("auth_mount does not apply to auth_method 'token'")
        if self.ca_bundle is not None and not self.verify_ssl:
            raise ValueError("ca_bundle is set but verify_ssl is false")
        return self

    @property
    def mount(self) -> str:
        """The auth method's mount point."""
        return (self.auth_mount or self.auth_method).strip("/")

    def display(self) -> str:
        """The address (and namespace) for messages."""
        return self.url + (f" (namespace {self.namespace})" if self.namespace else "")

    def describe_auth(self) -> str:
        """The auth method and its mount, for messages: never a credential."""
        if self.auth_method == "token":
            return "auth method 'token'"
        return f"auth method '{self.auth_method}' at auth/{self.mount}"

    def secret_values(self) -> list[str]:
        """The secrets this connection holds (to scrub them out of Vault's error texts)."""
        values = [getattr(self, name) for name in _SECRET_FIELDS]
        return [value.get_secret_value() for value in values if value is not None]


class VaultSecretRef(CredentialsModel):
    """A KV secret that holds one store's credentials: Vault connection + mount + path.

    The secret's keys are the store credential model's field names or its MLRun variable
    names (``S3Credentials.from_mapping``): ``access_key_id`` or ``AWS_ACCESS_KEY_ID``.
    """

    family: ClassVar[str] = "vault"

    connection: VaultConnection
    """How to reach Vault and log in."""
    mount: str = "secret"
    """The KV engine's mount point."""
    path: str
    """The secret's path inside the mount, e.g. ``orchestore/s3``."""
    kv_version: Literal[1, 2] = 2
    """The KV engine's version (Vault's ``secret/`` is v2)."""
    version: int | None = Field(default=None, ge=1)
    """KV v2 only: pin a version of the secret (default: the latest)."""

    @field_validator("mount", "path")
    @classmethod
    def _clean_path(cls, value: str) -> str:
        cleaned = value.strip().strip("/")
        segments = cleaned.split("/")
        if not cleaned or any(part in ("", ".", "..") for part in segments):
            raise ValueError("must be a non-empty path without empty, '.' or '..' segments")
        if any(ord(char) < 32 or char in "?#" for char in cleaned):
            raise ValueError("must not contain control characters, '?' or '#'")
        return cleaned

    @model_validator(mode="after")
    def _version_needs_kv2(self) -> VaultSecretRef:
        if self.version is not None and self.kv_version != 2:
            raise ValueError("version applies to KV v2 secrets only")
        return self

    @property
    def api_path(self) -> str:
        """The path Vault's API and audit log use: ``secret/data/app`` (v2), ``kv/app`` (v1)."""
        return (
            f"{self.mount}/data/{self.path}"
            if self.kv_version == 2
            else f"{self.mount}/{self.path}"
        )

    def describe(self) -> str:
        """``Vault secret secret/data/app (version 3) at https://vault:8200``, for messages."""
        pinned = f" (version {self.version})" if self.version is not None else ""
        return f"Vault secret {self.api_path}{pinned} at {self.connection.display()}"

    def read(self) -> dict[str, Any]:
        """The secret's data (through the process-wide cache)."""
        return read_secret(self)


# -- auth methods: one table ----------------------------------------------------------------------
_Login = Callable[["hvac.Client", VaultConnection], dict[str, Any]]


@dataclass(frozen=True)
class AuthMethodSpec:
    """What an auth method needs, and how it logs in (None: the token is given)."""

    login: _Login | None
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()


def _login_approle(api: hvac.Client, connection: VaultConnection) -> dict[str, Any]:
    return api.auth.approle.login(
        role_id=connection.role_id,
        secret_id=_reveal(connection.secret_id),
        use_token=False,
        mount_point=connection.mount,
    )


def _login_userpass(api: hvac.Client, connection: VaultConnection) -> dict[str, Any]:
    return api.auth.userpass.login(
        username=connection.username,
        password=_reveal(connection.password),
        use_token=False,
        mount_point=connection.mount,
    )


def _login_kubernetes(api: hvac.Client, connection: VaultConnection) -> dict[str, Any]:
    jwt = _read_jwt(connection, default_path=KUBERNETES_JWT_PATH)
    return api.auth.kubernetes.login(
        role=connection.role, jwt=jwt, use_token=False, mount_point=connection.mount
    )


def _login_jwt(api: hvac.Client, connection: VaultConnection) -> dict[str, Any]:
    jwt = _read_jwt(connection, default_path=None)
    return api.auth.jwt.jwt_login(
        role=connection.role, jwt=jwt, use_token=False, path=connection.mount
    )


#: auth method -> the fields it needs and how it logs in
AUTH_METHODS: Final[dict[str, AuthMethodSpec]] = {
    "token": AuthMethodSpec(None, required=("token",)),
    "approle": AuthMethodSpec(_login_approle, required=("role_id",), optional=("secret_id",)),
    "userpass": AuthMethodSpec(_login_userpass, required=("username", "password")),
    "kubernetes": AuthMethodSpec(
        _login_kubernetes, required=("role",), optional=("jwt", "jwt_path")
    ),
    "jwt": AuthMethodSpec(
        _login_jwt, optional=("role", "jwt", "jwt_path"), one_of=("jwt", "jwt_path")
    ),
}
assert set(get_args(AuthMethod)) == set(AUTH_METHODS), "every auth method needs a row"
#: every field that belongs to some auth method (the others are common settings)
_AUTH_FIELDS: Final = tuple(
    dict.fromkeys(
        name
        for method in AUTH_METHODS.values()
        for name in (*method.required, *method.optional, *method.one_of)
    )
)


def _reveal(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def _read_jwt(connection: VaultConnection, *, default_path: str | None) -> str:
    if connection.jwt is not None:
        return connection.jwt.get_secret_value()
    path = connection.jwt_path or default_path
    if path is None:  # the validator requires jwt or jwt_path for this method
        raise CredentialsError(f"{connection.describe_auth()} needs jwt or jwt_path")
    try:
        jwt = Path(path).read_text().strip()
    except OSError as exc:
        raise CredentialsError(
            f"cannot read the JWT for Vault {connection.describe_auth()} from {path}: "
            f"{exc.strerror or type(exc).__name__}"
        ) from None
    if not jwt:
        raise CredentialsError(
            f"the JWT file {path} for Vault {connection.describe_auth()} is empty"
        )
    return jwt


# -- the client -----------------------------------------------------------------------------------
def _import_hvac() -> Any:
    try:
        import hvac  # lazy: `import orchestore` must not import hvac
    except ModuleNotFoundError as exc:
        if exc.name not in ("hvac", "requests"):
            raise
        raise MissingDependencyError("Vault credentials", extra="vault") from None
    return hvac


@dataclass
class _Token:
    """What Vault said about the current token; times are time.monotonic()."""

    ttl: float  # the TTL it was issued (or renewed) with; 0: never expires
    expires_at: float
    renewable: bool

    @classmethod
    def issued(cls, ttl: float, renewable: bool) -> _Token:
        return cls(ttl, time.monotonic() + ttl, renewable)

    def needs_refresh(self) -> bool:
        return self.ttl > 0 and self.expires_at - time.monotonic() < self.ttl * _RENEW_FRACTION

    def expired(self) -> bool:
        return self.ttl > 0 and time.monotonic() >= self.expires_at


class VaultClient:
    """One hermetic hvac client for one VaultConnection: login, renewal, KV reads.

    Thread-safe: reads run concurrently; login and renewal take a lock. Logins use a second
    hvac client that never carries a token, so a re-login never disturbs reads in flight.
    """

    def __init__(self, connection: VaultConnection) -> None:
        hvac = _import_hvac()
        self.connection = connection
        self._method = AUTH_METHODS[connection.auth_method]
        self._hvac_errors = hvac.exceptions
        self._session = _hermetic_session(connection)
        self._api = self._new_api(hvac)
        self._login_api = self._new_api(hvac)
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self._generation = 0  # bumped at every login, so one refused read triggers one login

    def _new_api(self, hvac: Any) -> hvac.Client:
        connection = self.connection
        verify: bool | str = connection.ca_bundle or connection.verify_ssl
        # token="" and cert=() are explicit "none": with None, hvac would read VAULT_TOKEN,
        # ~/.vault-token and VAULT_CLIENT_CERT; with verify=None, VAULT_CACERT/VAULT_CAPATH.
        return hvac.Client(
            url=connection.url,
            token="",
            cert=(),
            verify=verify,
            timeout=connection.timeout,
            session=self._session,
            namespace=connection.namespace,
        )

    def close(self) -> None:
        self._session.close()

    # -- reading --------------------------------------------------------------------------------
    def read_kv(self, ref: VaultSecretRef) -> tuple[dict[str, Any], float]:
        """The secret's data and its lease_duration (seconds; 0 when Vault gave none)."""
        generation = self._ensure_token()
        refused = (self._hvac_errors.Forbidden, self._hvac_errors.Unauthorized)
        with self._errors(f"reading {ref.api_path}", path=ref.api_path, version=ref.version):
            try:
                return self._read_once(ref)
            except refused:
                if self._method.login is None or self._token_works():
                    raise
            # The token itself was refused (revoked, or expired early): log in again, once
            # per generation however many threads were refused, and retry once.
            self._login(after=generation)
            return self._read_once(ref)

    def _token_works(self) -> bool:
        """Whether Vault still accepts the token (a denied read may be a plain ACL "no").

        Asking costs one lookup; logging in again after every denied read would pile up a
        token lease in Vault per attempt.
        """
        try:
            self._api.auth.token.lookup_self()
        except (self._hvac_errors.Forbidden, self._hvac_errors.Unauthorized):
            return False
        return True

    def _read_once(self, ref: VaultSecretRef) -> tuple[dict[str, Any], float]:
        kv = self._api.secrets.kv
        if ref.kv_version == 2:
            reply = kv.v2.read_secret_version(
                path=ref.path,
                version=ref.version,
                mount_point=ref.mount,
                raise_on_deleted_version=True,
            )
            data = (reply.get("data") or {}).get("data") if isinstance(reply, dict) else None
        else:
            reply = kv.v1.read_secret(path=ref.path, mount_point=ref.mount)
            data = reply.get("data") if isinstance(reply, dict) else None
        if not isinstance(data, dict):
            raise CredentialsError(f"{ref.describe()} has no key/value data")
        return dict(data), float(reply.get("lease_duration") or 0)

    # -- tokens ---------------------------------------------------------------------------------
    def _ensure_token(self) -> int:
        """Log in, renew or look up the token as needed; returns the login generation."""
        with self._lock:
            token = self._token
            if token is None:
                self._authenticate()
            elif token.needs_refresh():
                self._refresh(token)
            return self._generation

    def _authenticate(self) -> None:
        if self._method.login is not None:
            self._login_locked()
            return
        assert self.connection.token is not None  # the validator requires it
        self._api.token = self.connection.token.get_secret_value()
        self._token = self._lookup_self()

    def _lookup_self(self) -> _Token:
        """The given token's TTL; a token that may not look itself up is used as it is."""
        try:
            with self._errors("looking up the token"):
                reply = self._api.auth.token.lookup_self()
        except CredentialsError:
            return _Token.issued(0, renewable=False)
        data = reply.get("data") or {}
        ttl, period = float(data.get("ttl") or 0), float(data.get("creation_ttl") or 0)
        token = _Token(period or ttl, time.monotonic() + ttl, bool(data.get("renewable")))
        return token if ttl else _Token.issued(0, renewable=False)

    def _refresh(self, token: _Token) -> None:
        # Renewal is tried even when our estimate says "expired": Vault reports TTLs in whole
        # seconds, and it is Vault's clock that decides.
        if token.renewable and self._renew(token):
            return
        if self._method.login is not None:
            self._login_locked()
        elif token.expired():
            raise CredentialsError(
                f"the Vault token for {self.connection.display()} has expired and "
                f"{self.connection.describe_auth()} cannot log in again; give a fresh token"
            )

    def _renew(self, token: _Token) -> bool:
        """Renew the token; False when Vault refused or could not extend it meaningfully."""
        try:
            with self._errors("renewing the token"):
                reply = self._api.auth.token.renew_self()
        except CredentialsError:
            token.renewable = False
            return False
        auth = reply.get("auth") or {}
        ttl = float(auth.get("lease_duration") or 0)
        log.debug("renewed the Vault token for %s (ttl %s s)", self.connection.display(), ttl)
        if ttl < token.ttl * _RENEW_FRACTION:  # at its max TTL: renewing again is pointless
            token.renewable, token.expires_at = False, time.monotonic() + ttl
            return False
        self._token = _Token(token.ttl, time.monotonic() + ttl, bool(auth.get("renewable")))
        return True

    def _login(self, *, after: int) -> None:
        with self._lock:
            if self._generation == after:  # nobody logged in since the refused read
                self._login_locked()

    def _login_locked(self) -> None:
        login = self._method.login
        assert login is not None
        with self._errors("logging in"):
            reply = login(self._login_api, self.connection)
        auth = (reply.get("auth") or {}) if isinstance(reply, dict) else {}
        client_token = auth.get("client_token")
        if not client_token:
            raise CredentialsError(
                f"Vault at {self.connection.display()} returned no token for "
                f"{self.connection.describe_auth()}"
            )
        sinks.emit_secret(client_token)
        self._api.token = client_token
        ttl = float(auth.get("lease_duration") or 0)
        self._token = _Token.issued(ttl, bool(auth.get("renewable")))
        self._generation += 1
        log.debug(
            "logged in to Vault at %s with %s (token ttl %s s)",
            self.connection.display(),
            self.connection.describe_auth(),
            ttl,
        )

    # -- errors ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(
        self, action: str, *, path: str | None = None, version: int | None = None
    ) -> Iterator[None]:
        """Translate requests/hvac errors into orchestore's, without any secret in them."""
        try:
            yield
        except OrchestoreError:
            raise
        except self._hvac_errors.VaultError as exc:
            raise self._vault_error(exc, action, path, version) from None
        except Exception as exc:
            error = _transport_error(exc, self.connection, action)
            if error is None:
                raise
            raise error from None

    def _vault_error(
        self, exc: Exception, action: str, path: str | None, version: int | None
    ) -> OrchestoreError:
        errors = self._hvac_errors
        where = f"Vault at {self.connection.display()}"
        said = _vault_said(exc, self.connection)
        auth = self.connection.describe_auth()
        if isinstance(exc, errors.Forbidden | errors.Unauthorized):
            hint = " (or the token is invalid or expired)" if self._method.login is None else ""
            return CredentialsError(f"{where}: permission denied {action} with {auth}{hint}{said}")
        if isinstance(exc, errors.InvalidPath) and path is not None:
            pinned = f" version {version} (missing or deleted)" if version is not None else ""
            return CredentialsError(f"{where}: no secret at {path}{pinned}{said}")
        if isinstance(exc, errors.InvalidRequest | errors.InvalidPath):
            return CredentialsError(f"{where}: refused {action} with {auth}{said}")
        if isinstance(exc, errors.VaultDown):
            return VaultUnavailableError(
                f"{where} is sealed or unavailable (503) while {action}{said}"
            )
        return VaultUnavailableError(f"{where} failed while {action}: {type(exc).__name__}{said}")


#: headers a redirect to another host must not carry (requests strips only Authorization)
_CROSS_HOST_STRIPPED = ("Authorization", "X-Vault-Token", "Cookie", "X-Vault-Wrap-TTL")


def _hermetic_session(connection: VaultConnection) -> Any:
    """A requests session that reads nothing from the environment (proxies, CA bundle, netrc)
    and sends no token along a redirect to another host."""
    import requests

    class _Session(requests.Session):
        def rebuild_auth(self, prepared_request: Any, response: Any) -> None:
            if self.should_strip_auth(response.request.url, prepared_request.url):
                for name in _CROSS_HOST_STRIPPED:
                    prepared_request.headers.pop(name, None)
            super().rebuild_auth(prepared_request, response)

    session = _Session()
    session.trust_env = False
    session.verify = connection.ca_bundle or connection.verify_ssl
    return session


def _transport_error(
    exc: Exception, connection: VaultConnection, action: str
) -> OrchestoreError | None:
    import requests

    where = f"Vault at {connection.display()}"
    if isinstance(exc, requests.exceptions.SSLError):
        return CredentialsError(
            f"{where}: TLS verification failed while {action}; set ca_bundle to the CA that signed "
            "Vault's certificate"
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return VaultUnavailableError(
            f"{where} did not answer within {connection.timeout:g} s while {action}"
        )
    if isinstance(exc, requests.exceptions.RequestException | OSError):
        return VaultUnavailableError(f"cannot reach {where} while {action}: {type(exc).__name__}")
    return None


_ERROR_COUNT = re.compile(r"^\d+ errors? occurred:\s*", re.IGNORECASE)


def _vault_said(exc: Exception, connection: VaultConnection) -> str:
    """Vault's own error texts on one line (": permission denied"), secrets scrubbed out."""
    texts = []
    for error in getattr(exc, "errors", None) or []:
        text = _ERROR_COUNT.sub("", " ".join(str(error).split())).removeprefix("* ")
        texts.append(text.replace(" * ", "; "))
    said = "; ".join(text for text in texts if text)
    for secret in connection.secret_values():
        said = said.replace(secret, "**********")
    return f": {said}" if said else ""


# -- the process-wide clients and cache -----------------------------------------------------------
_CacheKey = tuple[str, str, str, str, int]


@dataclass
class _Entry:
    data: dict[str, Any]
    expires_at: float


class _SecretCache:
    """Secrets by key until they expire, with one fetch in flight per key (single-flight)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[_CacheKey, _Entry] = {}
        self._pending: dict[_CacheKey, Future[dict[str, Any]]] = {}

    def get(
        self, key: _CacheKey, fetch: Callable[[], tuple[dict[str, Any], float]]
    ) -> dict[str, Any]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and time.monotonic() < entry.expires_at:
                return dict(entry.data)
            pending = self._pending.get(key)
            leader = pending is None
            if pending is None:
                pending = self._pending[key] = Future()
        if not leader:
            return dict(pending.result())
        try:
            data, ttl = fetch()
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            pending.set_exception(exc)
            raise
        with self._lock:
            if ttl > 0:
                self._entries[key] = _Entry(data, time.monotonic() + ttl)
            del self._pending[key]
        pending.set_result(data)
        return dict(data)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_CLIENTS: dict[str, VaultClient] = {}
_CLIENTS_LOCK = threading.Lock()
_CACHE = _SecretCache()


def vault_client(connection: VaultConnection) -> VaultClient:
    """The process's client for this connection (same settings and identity: same client)."""
    key = connection.fingerprint()
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = VaultClient(connection)
        return client


def read_secret(ref: VaultSecretRef) -> dict[str, Any]:
    """The data of the KV secret ``ref`` names, from the cache when still fresh."""
    connection = ref.connection
    key = (
        connection.url,
        connection.namespace or "",
        connection.fingerprint(),
        ref.api_path,
        ref.version or 0,
    )

    def fetch() -> tuple[dict[str, Any], float]:
        data, lease = vault_client(connection).read_kv(ref)
        ttl = min(lease, connection.kv_cache_ttl) if lease else connection.kv_cache_ttl
        log.debug("read %s (cached for %s s)", ref.describe(), ttl)
        return data, ttl

    return _CACHE.get(key, fetch)


def clear_cache() -> None:
    """Forget every cached secret: the next read asks Vault (e.g. after a rotation)."""
    _CACHE.clear()


def close_clients() -> None:
    """Close and forget every Vault client (their connections and tokens)."""
    with _CLIENTS_LOCK:
        clients = list(_CLIENTS.values())
        _CLIENTS.clear()
    for client in clients:
        client.close()


def _after_fork_in_child() -> None:
    """A forked child (Airflow's task runner) must not share the parent's sockets or locks."""
    global _CACHE, _CLIENTS_LOCK
    _CLIENTS.clear()
    _CLIENTS_LOCK = threading.Lock()
    _CACHE = _SecretCache()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(close_clients)
