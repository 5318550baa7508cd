"""gs:// and gcs://: Google Cloud Storage (or an emulator) through gcsfs.

Decisions worth knowing:

- Hermetic: gcsfs is never left to find credentials or settings itself. The store passes
  either ``token="anon"`` or a google-auth credentials object it built from GCSCredentials, an
  explicit endpoint (``STORAGE_EMULATOR_HOST`` and ``GOOGLE_CLOUD_UNIVERSE_DOMAIN`` are ignored)
  and an explicit project (``GCSFS_DEFAULT_PROJECT`` is ignored); a client certificate from
  ``GOOGLE_API_USE_CLIENT_CERTIFICATE`` is presented only with ``use_ambient_identity``.
  ``credentials_json`` is parsed in memory and never written to disk.
- The plain JSON-API filesystem (``gcsfs.core.GCSFileSystem``) is used whatever
  ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT`` says: the "extended" one probes each bucket over gRPC
  (a 60 s stall against emulators and private endpoints, which do not serve that API), and
  writes to zonal buckets stream into appendable objects that cannot be discarded, which would
  break the atomic-write contract. Zonal (Rapid) buckets are therefore not supported.
- Retry policy: gcsfs retries a failed request six times over about 30 s, and a resumable
  upload cancel that the server does not implement (HTTP 501) the same way. Here a request is
  tried ``retry.attempts`` times (default 4) with exponential backoff from ``retry.backoff``
  seconds (about 2 s of waiting in all), only for errors worth retrying (connection errors,
  408, 429, 500, 502-504), then StoreUnavailableError. Connecting times out after
  ``retry.connect_timeout`` seconds and a stalled response after ``retry.read_timeout``.
- Writes are resumable uploads of ``block_size`` chunks, committed by ``commit()`` and
  cancelled by ``discard()`` (DELETE on the session), sent from the write buffer without a copy.
- Reads (``read_options``) use a read-ahead cache of 8 MiB blocks fetched one request at a time:
  gcsfs's default "adaptive" cache prefetches up to 256 MiB in parallel requests. A fetch is the
  size asked for plus one block, and aiohttp holds a response twice while joining it, so 8 MiB
  (half of ``block_size``) keeps one open reader near 60 MiB at its peak, whatever the size.
- ``copy_within`` is one server-side rewrite (repeated with the rewrite token for large
  objects); no byte passes through this process.
"""

from __future__ import annotations

import asyncio
import base64
import io
import mimetypes
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import aiohttp
import aiohttp.payload
import google.auth
import google.auth.exceptions
from gcsfs.core import GCSFileSystem
from gcsfs.retry import HttpError, NonRetryableError, is_retriable
from google.auth.credentials import Credentials
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from orchestore.credentials.gcs import GCSCredentials, key_file_info
from orchestore.errors import (
    CredentialsError,
    InvalidURLError,
    NotFoundError,
    OrchestoreError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from orchestore.stores.base import AtomicWriter, FileStat
from orchestore.stores.fsspec_store import FsspecStore
from orchestore.stores.gcs_reader import GCSStreamReader
from orchestore.stores.gcs_upload import GCSChunkWriter
from orchestore.stores.retry import RetryPolicy
from orchestore.urls import StoreURL

__all__ = ["PUBLIC_ENDPOINT", "SCOPE", "GCSStore", "google_credentials"]

PUBLIC_ENDPOINT = "https://storage.googleapis.com"
_MTLS_ENDPOINT = "https://storage.mtls.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/devstorage.full_control"
#: the upstream request coroutine without gcsfs's own six-attempt retry decorator
_SINGLE_REQUEST = GCSFileSystem._request.__wrapped__
#: 501 (e.g. an emulator without resumable-upload cancel) will not start working on a retry
_NEVER_RETRIED = frozenset({401, 501})
#: the buffer of open_reader's stream (reads this large or larger bypass it)
_READ_BUFFER = 1 << 20
#: request bodies larger than this are sent in slices of this size (aiohttp's own threshold)
_SLICE = 1 << 20


def google_credentials(credentials: GCSCredentials) -> tuple[Credentials | None, str | None]:
    """The google-auth credentials (None: anonymous) and the project they name, if any."""
    if credentials.anonymous:
        return None, None
    if credentials.use_ambient_identity:
        return _ambient_credentials(credentials)
    if credentials.credentials_json is not None:
        text, field = credentials.credentials_json.get_secret_value(), "credentials_json"
    else:
        assert credentials.credentials_file is not None  # check_usable() ran
        text, field = _read_key_file(credentials.credentials_file), "credentials_file"
    try:
        info = key_file_info(text, field)
        if info["type"] == "service_account":
            built = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
            return built, info.get("project_id")
        built = user_credentials.Credentials.from_authorized_user_info(info, scopes=[SCOPE])
        return built, info.get("quota_project_id")
    except ValueError as exc:
        # key_file_info's messages name fields only; google-auth's are replaced, never echoed.
        detail = str(exc) if str(exc).startswith(field) else f"{field}: the key is malformed"
        raise CredentialsError(f"{detail} ({credentials.source})") from None


def _read_key_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(
            f"credentials_file: cannot read the key file {path} ({type(exc).__name__})"
        ) from None


def _ambient_credentials(credentials: GCSCredentials) -> tuple[Credentials, str | None]:
    try:
        found, project = google.auth.default(scopes=[SCOPE])
    except google.auth.exceptions.DefaultCredentialsError:
        raise CredentialsError(
            "use_ambient_identity=True, but no Application Default Credentials were found "
            "(no workload identity, metadata server, GOOGLE_APPLICATION_CREDENTIALS or gcloud "
            f"login) ({credentials.source})"
        ) from None
    return found, project


class _BoundedGCSFileSystem(GCSFileSystem):
    """gcsfs with the store's retry policy and none of its environment lookups."""

    def __init__(
        self,
        *,
        endpoint_url: str | None,
        retry: RetryPolicy,
        client_certificate: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(endpoint_url=endpoint_url or PUBLIC_ENDPOINT, **kwargs)
        self.retry_policy = retry
        # gcsfs decides from GOOGLE_API_USE_CLIENT_CERTIFICATE whether to present a client
        # certificate; only the ambient identity may take part in that.
        if not client_certificate:
            self._use_client_cert = self._use_mtls_endpoint = False
        elif endpoint_url is None and self._use_mtls_endpoint:
            self._endpoint = _MTLS_ENDPOINT

    async def _request(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        data = kwargs.get("data")
        if isinstance(data, bytes | bytearray | memoryview) and len(data) > _SLICE:
            kwargs["data"] = _BufferPayload(memoryview(data))
        policy = self.retry_policy
        for attempt in range(1, policy.attempts + 1):
            try:
                return await _SINGLE_REQUEST(self, method, path, *args, **kwargs)
            except Exception as exc:
                if attempt == policy.attempts or not _worth_retrying(exc):
                    raise
            await asyncio.sleep(policy.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


class _BufferPayload(aiohttp.payload.Payload):
    """An upload chunk sent in slices, without a copy.

    Given raw bytes above 1 MiB, aiohttp warns (ResourceWarning) that writing them in one go
    blocks the event loop, and a BytesIO would copy the 16 MiB chunk. This payload writes
    memoryview slices of the same buffer and can be sent again when a request is retried.
    """

    _autoclose = True

    def __init__(self, view: memoryview) -> None:
        super().__init__(view)
        self._size = view.nbytes

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return bytes(self._value).decode(encoding, errors)

    async def write(self, writer: Any) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: Any, content_length: int | None) -> None:
        view: memoryview = self._value
        if content_length is not None:
            view = view[:content_length]
        for start in range(0, view.nbytes, _SLICE):
            await writer.write(view[start : start + _SLICE])


def _worth_retrying(exc: Exception) -> bool:
    if isinstance(exc, HttpError) and exc.code in _NEVER_RETRIED:
        return False
    return is_retriable(exc)


class GCSStore(FsspecStore):
    """Google Cloud Storage buckets: ``gs://bucket/key`` and ``gcs://bucket/key``."""

    family = "gcs"
    credentials_type = GCSCredentials

    #: the retry policy (store option ``retry``): attempts per request, exponential backoff
    #: from ``backoff`` seconds, and the connection and read timeouts (see stores/retry.py)
    retry_policy: ClassVar[RetryPolicy | None] = RetryPolicy(
        attempts=4, backoff=0.25, connect_timeout=15.0, read_timeout=120.0
    )

    #: how open("rb") reads: see the module docstring
    read_options: ClassVar[dict[str, Any]] = {
        "block_size": 8 * 1024 * 1024,
        "cache_type": "readahead",
        "concurrency": 1,
    }

    def __init__(
        self,
        endpoint: StoreURL,
        credentials: GCSCredentials | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(endpoint, credentials, retry=retry)
        self._known_buckets: set[str] = set()
        self._buckets_lock = threading.Lock()

    def _default_credentials(self) -> GCSCredentials:
        return GCSCredentials()

    @property
    def gcs_credentials(self) -> GCSCredentials:
        assert isinstance(self.credentials, GCSCredentials)
        return self.credentials

    def _make_filesystem(self) -> GCSFileSystem:
        settings = self.gcs_credentials
        built, key_project = google_credentials(settings)
        return _BoundedGCSFileSystem(
            endpoint_url=settings.endpoint_url,
            retry=self.retry,
            client_certificate=settings.use_ambient_identity,
            token="anon" if built is None else built,
            project=settings.project or key_project or "",
            block_size=self.block_size,
            requests_timeout=aiohttp.ClientTimeout(
                total=None,
                sock_connect=self.retry.connect_timeout,
                sock_read=self.retry.read_timeout,
            ),
            skip_instance_cache=True,
            use_listings_cache=False,
        )

    def close(self) -> None:
        """Close the filesystem's HTTP session (its connection pool)."""
        with self._fs_lock:
            fs, self._fs = self._fs, None
        if isinstance(fs, GCSFileSystem):
            GCSFileSystem.close_session(fs.loop, fs._session)

    # -- the store contract -------------------------------------------------------------------
    def open_reader(self, url: StoreURL) -> BinaryIO:
        """One streamed GET of the object's generation that resumes cuts (GCSStreamReader);
        a folder (or anything not a plain object) goes to gcsfs's file, which names it."""
        self.require_key(url)
        with self.translated(url):
            info = self.fs.info(self.fs_path(url))
        if info.get("type") != "file":
            return self._gcsfs_reader(url)
        raw = GCSStreamReader(
            self.fs,
            url,
            int(info.get("size", 0)),
            info.get("generation"),
            lambda exc: self._map_error(exc, url) or self._generic_error(exc, url),
            self.retry,
        )
        return io.BufferedReader(raw, buffer_size=_READ_BUFFER)  # type: ignore[return-value]

    def _gcsfs_reader(self, url: StoreURL) -> BinaryIO:
        with self.translated(url):
            return self.fs.open(  # type: ignore[no-any-return]
                self.fs_path(url), "rb", **self.read_options
            )

    def open_writer(self, url: StoreURL) -> AtomicWriter:
        """A resumable upload in large chunks, the next filling while one uploads (see
        stores/gcs_upload.py); the content type from the name, as gcsfs sets it."""
        self.require_key(url)
        return GCSChunkWriter(url, self, content_type=mimetypes.guess_type(url.path)[0])

    def copy_within(self, source: StoreURL, target: StoreURL) -> None:
        """One server-side rewrite: the bytes never pass through this process."""
        self.require_key(source)
        self.require_key(target)
        with self.translated(source):
            try:
                self.fs.cp_file(self.fs_path(source), self.fs_path(target))
            except FileNotFoundError:
                raise self._missing_in_copy(source, target) from None

    def reports_md5(self, url: StoreURL, size: int | None) -> bool:
        """GCS computes md5Hash for every object uploaded in one piece or resumably."""
        return True

    def reported_digest(self, url: StoreURL) -> str | None:
        """``md5Hash`` as hex (composite objects have only a CRC32C: None)."""
        self.require_key(url)
        with self.translated(url):
            encoded = self.fs.info(self.fs_path(url)).get("md5Hash")
        return base64.b64decode(encoded).hex() if encoded else None

    def _stat_from_info(self, info: dict[str, Any], url: StoreURL) -> FileStat:
        if info.get("type") == "directory":
            folder = (
                url if not url.path or url.path.endswith("/") else url.with_path(url.path + "/")
            )
            return FileStat(size=0, url=str(folder), is_dir=True)
        # md5Hash (none for composite objects) and crc32c (every object; big-endian) are
        # base64: as hex they let a copy verify against the listing, without a request
        md5, crc32c = info.get("md5Hash"), info.get("crc32c")
        return FileStat(
            size=int(info.get("size", 0)),
            modified=_modified(info),
            etag=info.get("etag") or md5,
            content_type=info.get("contentType"),
            url=str(url),
            md5=base64.b64decode(md5).hex() if md5 else None,
            crc32c=base64.b64decode(crc32c).hex() if crc32c else None,
        )

    # -- errors -------------------------------------------------------------------------------
    def _map_error(self, exc: BaseException, url: StoreURL) -> OrchestoreError | None:
        where, source = url.display(), self.gcs_credentials.source
        if isinstance(exc, FileNotFoundError):
            return self._not_found(url)
        if _refused(exc):
            return CredentialsError(
                f"GCS refused the credentials or they could not be refreshed ({source})",
                url=where,
            )
        if isinstance(exc, OSError) and str(exc).startswith("Forbidden"):
            return PermissionDeniedError(
                f"access denied by GCS ({source}): {_server_message(exc)}", url=where
            )
        if isinstance(exc, google.auth.exceptions.TransportError):
            return StoreUnavailableError(
                f"cannot reach the token endpoint to refresh the credentials ({source})",
                url=where,
            )
        if isinstance(exc, ValueError) and str(exc).startswith("Bad Request"):
            return InvalidURLError(f"GCS rejected the request: {_server_message(exc)}", url=where)
        if isinstance(exc, HttpError):
            return StoreUnavailableError(
                f"GCS answered HTTP {exc.code} (after up to {self.retry.attempts} attempts)",
                url=where,
            )
        if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | ConnectionError):
            return StoreUnavailableError(
                f"cannot reach {self._endpoint_name()} after {self.retry.attempts} attempts "
                f"({type(exc).__name__})",
                url=where,
            )
        return None

    def _endpoint_name(self) -> str:
        return self.gcs_credentials.endpoint_url or PUBLIC_ENDPOINT

    def _not_found(self, url: StoreURL) -> NotFoundError:
        """Name the bucket when it is the bucket that is missing."""
        if url.bucket and not self._bucket_exists(url.bucket):
            return NotFoundError(f"bucket '{url.bucket}' does not exist", url=url.display())
        return NotFoundError("no such object or folder", url=url.display())

    def _missing_in_copy(self, source: StoreURL, target: StoreURL) -> NotFoundError:
        for url in (source, target):
            if not self._bucket_exists(url.bucket):
                return NotFoundError(f"bucket '{url.bucket}' does not exist", url=url.display())
        return NotFoundError("no such object to copy", url=source.display())

    def _bucket_exists(self, bucket: str) -> bool:
        """False only when GCS says the bucket is missing (not when we may not look)."""
        if bucket in self._known_buckets:
            return True
        try:
            self.fs.call("GET", "b/{}", bucket, json_out=True)
        except FileNotFoundError:
            return False
        except Exception:
            return True
        with self._buckets_lock:
            self._known_buckets.add(bucket)
        return True


def _refused(exc: BaseException) -> bool:
    if isinstance(exc, HttpError) and exc.code == 401:
        return True
    return isinstance(
        exc,
        NonRetryableError | google.auth.exceptions.RefreshError,
    )


def _server_message(exc: BaseException) -> str:
    """The server's explanation from a gcsfs error: its text after the request path.

    The path line is dropped because a resumable-upload URL carries the session id.
    """
    lines = str(exc).split("\n", 1)
    message = lines[1].strip() if len(lines) > 1 else ""
    return message[:300] or "no details"


def _modified(info: dict[str, Any]) -> datetime | None:
    value = info.get("mtime") or info.get("updated")
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None
