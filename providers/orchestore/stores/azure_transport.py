"""Azure blob reads through obstore (Rust object_store): the bytes without the Python SDK.

Why: downloading through azure-storage-blob on aiohttp cost ~2.8 CPU s/GiB and reached 122 MB/s
from Azurite (512 MiB, 2 cores), obstore 425 MB/s at 0.85 s/GiB; on 2 cores the server shares
the CPU with the client, so client CPU is throughput. Reads (``read``, ranged or whole, and
``open_reader``) go through one obstore AzureStore per container, built once per AzureStore
from the same AzureCredentials; writes, listings and copies stay on the SDK (see azure.py).

Hermetic: object_store starts every AzureStore from the AZURE_* environment. Here everything
that decides where a request goes and how it is signed is given explicitly, so nothing from the
environment can win: the account, the endpoint, ``use_emulator=False``, ``skip_signature``, and
the credential as a ``credential_provider`` (which object_store prefers over every credential
it could find itself: keys, SAS, tokens, workload identity, the Azure CLI). Proven in a
subprocess with decoy AZURE_* variables (tests/unit/test_azure_transport.py).

Kinds obstore takes here: account key, SAS, connection string (key, SAS, or neither: anonymous),
service principal (its azure-identity credential asked for tokens by the provider). Ambient
identity (DefaultAzureCredential) keeps the SDK path: ``ObstoreBlobs.for_credentials`` is None.

Retries follow the store's RetryPolicy (object_store retries 5xx, dropped connections and
timeouts of each request); a body cut mid-stream resumes at its position (BlobReader), as the
reliability suite checks.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from orchestore.credentials.azure import AzureCredentials, parse_connection_string
from orchestore.errors import (
    CredentialsError,
    NotFoundError,
    OrchestoreError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from orchestore.stores.base import SeekableStream
from orchestore.stores.obstore_runtime import mark_used
from orchestore.stores.retry import RetryPolicy
from orchestore.urls import StoreURL

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["STREAM_CHUNK", "BlobReader", "ObstoreBlobs", "obstore_error"]

#: bytes per chunk of a streamed GET handed to the reader (object_store's default is 10 MiB);
#: 4 MiB is what the transfer engine reads at a time, so one chunk is held, not two
STREAM_CHUNK = 4 * 1024 * 1024
#: the overall limit of one request; stalls are caught sooner by the policy's read timeout
_REQUEST_LIMIT = timedelta(hours=6)
_TOKEN_SCOPE = "https://storage.azure.com/.default"  # noqa: S105 - a scope, not a secret
_EMULATOR_ENDPOINT = "http://127.0.0.1:10000/devstoreaccount1"
_EMULATOR_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
# A wrong key or a forged SAS: Azure says AuthenticationFailed, Azurite AuthorizationFailure
# with "Server failed to authenticate the request".
#: the HTTP status in object_store's error text ("... non-2xx status code: 503 ...")
_STATUS = re.compile(r"status code: (\d{3})")
_REFUSED_MARKS = ("AuthenticationFailed", "failed to authenticate", "NoAuthenticationInformation")


class ObstoreBlobs:
    """obstore AzureStores of one account (one per container, built on first use)."""

    def __init__(self, settings: dict[str, Any], provider: Any, retry: RetryPolicy) -> None:
        self._settings, self._provider, self._retry = settings, provider, retry
        self._stores: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_credentials(
        cls, creds: AzureCredentials, account: str, account_url: str, retry: RetryPolicy
    ) -> ObstoreBlobs | None:
        """The reads of these credentials, or None for a kind that stays on the SDK."""
        if creds.use_ambient_identity:
            return None
        endpoint, provider = account_url, None
        if creds.connection_string is not None:
            endpoint, provider = _from_connection_string(
                creds.connection_string.get_secret_value(), account
            )
        elif creds.account_key is not None:
            provider = _static({"access_key": creds.account_key.get_secret_value()})
        elif creds.sas_token is not None:
            provider = _static({"sas_token": creds.sas_token.get_secret_value()})
        elif creds.client_secret is not None:
            provider = _TokenProvider(creds)
        settings = {
            "account_name": account,
            "endpoint": endpoint.rstrip("/"),
            "use_emulator": False,
            "use_fabric_endpoint": False,
            "skip_signature": provider is None,
        }
        return cls(settings, provider, retry)

    @staticmethod
    def takes(path: str) -> bool:
        """Whether object_store can address this blob name: it refuses empty, "." and ".."
        segments ("a//b", "a/./b"), which Azure allows; those names stay on the SDK."""
        return all(part not in ("", ".", "..") for part in path.strip("/").split("/"))

    def store(self, container: str) -> Any:
        """The obstore AzureStore of ``container``."""
        found = self._stores.get(container)
        if found is None:
            with self._lock:
                found = self._stores.get(container)
                if found is None:
                    found = self._stores[container] = self._build(container)
        return found

    def _build(self, container: str) -> Any:
        from obstore.store import AzureStore as ObjectStore

        mark_used()
        retry = self._retry
        return ObjectStore(
            container,
            config=dict(self._settings),  # type: ignore[arg-type]
            credential_provider=self._provider,
            client_options={
                "allow_http": self._settings["endpoint"].startswith("http:"),
                "connect_timeout": timedelta(seconds=retry.connect_timeout),
                "read_timeout": timedelta(seconds=retry.read_timeout),
                "timeout": _REQUEST_LIMIT,
            },
            retry_config={
                "max_retries": retry.attempts - 1,
                "backoff": {
                    "init_backoff": timedelta(seconds=retry.backoff),
                    "max_backoff": timedelta(seconds=retry.max_backoff),
                    "base": 2,
                },
                "retry_timeout": timedelta(seconds=retry.worst_case_seconds),
            },
        )

    # -- reads --------------------------------------------------------------------------------
    def read(self, url: StoreURL, offset: int = 0, size: int | None = None) -> bytes:
        """One GET (ranged when asked); past the end, nothing."""
        import obstore

        if size is not None and size <= 0:
            return b""
        store = self.store(url.bucket)
        if offset == 0 and size is None:
            return bytes(obstore.get(store, url.path).bytes())
        try:
            if size is None:
                rest = obstore.get(store, url.path, options={"range": {"offset": offset}})
                return bytes(rest.bytes())
            return bytes(obstore.get_range(store, url.path, start=offset, length=size))
        except Exception as exc:
            if _is_not_found(exc):
                raise
            # object_store refuses a range starting at or past the end: read nothing
            if self.head(url)["size"] <= offset:
                return b""
            raise

    def head(self, url: StoreURL) -> dict[str, Any]:
        import obstore

        return obstore.head(self.store(url.bucket), url.path)  # type: ignore[return-value]

    def stream(self, url: StoreURL, offset: int, etag: str | None) -> Iterator[Any]:
        """The blob from ``offset`` as STREAM_CHUNK pieces; refused if its ETag changed."""
        import obstore

        options: dict[str, Any] = {"range": {"offset": offset}}
        if etag:
            options["if_match"] = etag
        result = obstore.get(self.store(url.bucket), url.path, options=options)  # type: ignore[arg-type]
        return iter(result.stream(min_chunk_size=STREAM_CHUNK))


class _Cut(Exception):
    """The body ended before the blob's size: resumed like a dropped connection."""


class BlobReader(SeekableStream):
    """One streamed GET; a cut or stalled body resumes at the position with a new ranged GET
    (if the blob is still the same: If-Match), up to the policy's attempts per cut."""

    def __init__(
        self,
        blobs: ObstoreBlobs,
        url: StoreURL,
        size: int,
        etag: str | None,
        translate: Callable[[BaseException], OrchestoreError],
        retry: RetryPolicy,
    ) -> None:
        super().__init__()
        self._blobs, self._url, self._size, self._etag = blobs, url, size, etag
        self._translate, self._retry = translate, retry
        self._chunks: Iterator[Any] | None = None
        self._held: memoryview | None = None

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if not view.nbytes or self._position >= self._size:
            return 0
        attempts = self._retry.attempts
        for attempt in range(1, attempts + 1):
            try:
                return self._read_some(view)
            except OrchestoreError:
                raise
            except Exception as exc:
                self._restart()
                if attempt == attempts or _is_not_found(exc) or _is_changed(exc):
                    if isinstance(exc, _Cut):
                        raise StoreUnavailableError(
                            f"the blob's body ended after {self._position} of {self._size} "
                            f"bytes (truncated), {attempts} attempts",
                            url=self._url.display(),
                        ) from None
                    raise self._translate(exc) from None
                time.sleep(self._retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_some(self, view: memoryview) -> int:
        if self._held is None or not self._held.nbytes:
            if self._chunks is None:
                self._chunks = self._blobs.stream(self._url, self._position, self._etag)
            chunk = next(self._chunks, None)
            if chunk is None:
                raise _Cut()
            self._held = memoryview(chunk).cast("B")
        count = min(view.nbytes, self._held.nbytes)
        view[:count] = self._held[:count]
        self._held = self._held[count:]
        self._position += count
        return count

    def readall(self) -> bytes:
        """The rest in one buffer (RawIOBase's would read it 8 KiB at a time)."""
        rest = bytearray(max(self._size - self._position, 0))
        view, filled = memoryview(rest), 0
        while filled < len(rest):
            count = self.readinto(view[filled:])
            if not count:
                break
            filled += count
        return bytes(rest[:filled])

    def _restart(self) -> None:
        self._chunks, self._held = None, None

    def _total_size(self) -> int:
        return self._size

    def close(self) -> None:
        self._restart()
        super().close()


def obstore_error(
    exc: BaseException, url: StoreURL, source: str, retries: int
) -> OrchestoreError | None:
    """An obstore error as the orchestore error it means; None for other exceptions.

    obstore's messages are never echoed: they carry request URLs (a SAS is a query string).
    """
    from obstore.exceptions import BaseError, PreconditionError
    from obstore.exceptions import NotFoundError as Missing
    from obstore.exceptions import PermissionDeniedError as Denied
    from obstore.exceptions import UnauthenticatedError as Unauthenticated

    if not isinstance(exc, BaseError):
        return None
    where, text = url.display(), str(exc)
    if isinstance(exc, Missing):
        return NotFoundError("no such blob", url=where)
    if isinstance(exc, PreconditionError):
        return StoreUnavailableError(
            "the blob changed while it was being read; read it again", url=where
        )
    if isinstance(exc, Unauthenticated) or any(mark in text for mark in _REFUSED_MARKS):
        return CredentialsError(f"Azure refused the credentials ({source})", url=where)
    if isinstance(exc, Denied):
        return PermissionDeniedError(f"access denied ({source})", url=where)
    status = _STATUS.search(text)
    if status is not None:
        return StoreUnavailableError(
            f"Azure answered HTTP {status.group(1)} after {retries} retries", url=where
        )
    return StoreUnavailableError(
        f"cannot reach the Azure blob endpoint after {retries} retries ({type(exc).__name__})",
        url=where,
    )


def _is_not_found(exc: BaseException) -> bool:
    from obstore.exceptions import NotFoundError as Missing

    return isinstance(exc, Missing)


def _is_changed(exc: BaseException) -> bool:
    from obstore.exceptions import PreconditionError

    return isinstance(exc, PreconditionError)


def _static(credential: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """A provider of one credential that never expires (a key or a SAS)."""
    answer = {**credential, "expires_at": None}

    def provide() -> dict[str, Any]:
        return answer

    return provide


class _TokenProvider:
    """Bearer tokens of a service principal from azure-identity (AZURE_* never read: the
    tenant, client, secret and authority are the model's), refreshed when they expire."""

    def __init__(self, creds: AzureCredentials) -> None:
        from azure.identity import ClientSecretCredential

        assert creds.tenant_id is not None
        assert creds.client_id is not None
        assert creds.client_secret is not None
        self._credential = ClientSecretCredential(
            creds.tenant_id,
            creds.client_id,
            creds.client_secret.get_secret_value(),
            authority=creds.authority_host,
        )

    def __call__(self) -> dict[str, Any]:
        token = self._credential.get_token(_TOKEN_SCOPE)
        return {"token": token.token, "expires_at": datetime.fromtimestamp(token.expires_on, UTC)}

    def __repr__(self) -> str:
        return "<service principal token provider>"


def _from_connection_string(text: str, account: str) -> tuple[str, Any]:
    """The endpoint and the provider a connection string names (neither key nor SAS:
    anonymous; UseDevelopmentStorage=true: the local emulator's well-known key)."""
    pairs = parse_connection_string(text)
    if pairs.get("USEDEVELOPMENTSTORAGE", "").lower() == "true":
        return _EMULATOR_ENDPOINT, _static({"access_key": _EMULATOR_KEY})
    endpoint = pairs.get("BLOBENDPOINT")
    if endpoint is None:
        protocol = pairs.get("DEFAULTENDPOINTSPROTOCOL", "https")
        suffix = pairs.get("ENDPOINTSUFFIX", "core.windows.net")
        endpoint = f"{protocol}://{account}.blob.{suffix}"
    if "ACCOUNTKEY" in pairs:
        return endpoint, _static({"access_key": pairs["ACCOUNTKEY"]})
    if "SHAREDACCESSSIGNATURE" in pairs:
        return endpoint, _static({"sas_token": pairs["SHAREDACCESSSIGNATURE"].lstrip("?")})
    if not account:
        raise CredentialsError("connection_string: no AccountName and no BlobEndpoint")
    return endpoint, None
