"""az://, abfs(s)://, wasb(s)://: Azure Blob Storage (and Data Lake Gen2 paths) through adlfs.

Every credential method goes through one adlfs filesystem, so listing, streaming and Data Lake
paths work the same with each. What this module adds to adlfs, and why:

- Reads on obstore: ``read`` and ``open_reader`` go through obstore (Rust) for every method
  but the ambient identity: open() + read of 256 MiB from Azurite 72 -> 243 MB/s, 2.1 -> 0.8
  client CPU s/GiB (see stores/azure_transport.py, as hermetic as the rest).
- Hermetic: adlfs copies AZURE_STORAGE_* variables into any argument left empty and falls back
  to DefaultAzureCredential. Here the blob service client is built from the AzureCredentials
  model alone and handed to adlfs; the values adlfs read from the environment are dropped.
  Only ``use_ambient_identity=True`` selects DefaultAzureCredential, explicitly.
- Bounded memory: adlfs's default concurrency (fsspec's batch size) buffers nearly the whole
  object. Here open_writer stages 8 MiB blocks, MAX_CONCURRENCY in flight while the next
  fills (AzureBlockWriter; adlfs's own files, opened through ``fs``, stage 16 MiB); reads on
  the SDK (ambient identity) fetch the request plus READ_BLOCK (8 MiB) in 2 MiB chunks, at
  most MAX_CONCURRENCY in flight, written straight into one buffer. Measured: a 256 MiB (or
  1 GiB) round trip through open() grows peak RSS by ~50-65 MiB.
- Atomic, verified writes: blocks are staged with their MD5 (Azure checks each on arrival) and
  committed on a clean close only; a failed write deletes the uncommitted blob it staged, so
  nothing partial is ever visible. The writer reports the composite of the block MD5s, which
  the transfer engine compares with its own: no read-back (see stores/azure_writer.py).
- Server-side copies (Copy Blob from URL), waited for until the copy completes.
- Retry policy: Azure's (dropped connections, timeouts, 408, 5xx) but bounded and quick, set by
  the store option ``retry`` (a RetryPolicy): by default 4 attempts, waiting 0.5 s, 1 s, 2 s
  (+-20 %), a 10 s connection timeout and a 60 s read timeout, then StoreUnavailableError.
  The older options ``retries`` (retries after the first attempt) and ``timeout`` (read
  timeout) still work: ``get_dataitem(url, creds, retries=1)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import Coroutine
from typing import Any, BinaryIO, ClassVar, TypeVar
from urllib.parse import urlsplit

from adlfs import AzureBlobFileSystem
from adlfs.spec import AzureBlobFile
from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob.aio import BlobServiceClient, ExponentialRetry
from fsspec.asyn import sync, sync_wrapper

from orchestore.credentials.azure import AzureCredentials, parse_connection_string
from orchestore.errors import (
    ChecksumMismatchError,
    CredentialsError,
    InvalidURLError,
    NotFoundError,
    OrchestoreError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from orchestore.stores.azure_transport import BlobReader, ObstoreBlobs, obstore_error
from orchestore.stores.azure_writer import AzureBlockWriter
from orchestore.stores.base import (
    AtomicWriter,
    FileStat,
    guess_content_type,
    reported_content_type,
)
from orchestore.stores.fsspec_store import FsspecStore, _FsspecWriter
from orchestore.stores.obstore_runtime import runtime_usable
from orchestore.stores.retry import RetryPolicy
from orchestore.urls import StoreURL

__all__ = ["MAX_CONCURRENCY", "READ_BLOCK", "AzureStore"]

#: transfers in flight per read/write call; bounds memory to a few blocks
MAX_CONCURRENCY = 4
RETRIES = 3
#: seconds before the first retry; each further retry waits twice as long
FIRST_BACKOFF = 0.5
TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0
#: read-ahead per reader: a read of n bytes fetches n + READ_BLOCK, held while the next arrives;
#: 8 MiB (with DOWNLOAD_CHUNK) keeps a streamed 256 MiB round trip well under 100 MiB of RSS
#: growth; 16 MiB with the SDK's chunk sizes did not
READ_BLOCK = 8 * 1024 * 1024
#: the buffer of open_reader's stream (reads this large or larger bypass it)
READ_BUFFER = 1024 * 1024
#: bytes per ranged GET within one fetch (the SDK's default is 32 MiB first, then 4 MiB)
DOWNLOAD_CHUNK = 2 * 1024 * 1024
#: blobs up to this size are written with one Put Blob (the SDK sends its body as raw bytes,
#: which aiohttp refuses to do quietly above 1 MiB); larger ones as staged blocks
PUT_BLOB_LIMIT = 1024 * 1024
#: bytes per staged block of open_writer (AzureBlockWriter), MAX_CONCURRENCY of them in flight.
#: 4 MiB (the SDK's own block size) measured no slower than 8 MiB and lighter (256 MiB,
#: Azurite, 3 runs, noisy): s3 -> az 96 vs 77 MB/s at 202 vs 228 MiB peak RSS, file -> az
#: 113 vs 98 MB/s at 118 vs 142 MiB
UPLOAD_BLOCK = 4 * 1024 * 1024
#: seconds to wait for a server-side copy Azure reports as pending
COPY_TIMEOUT = 600.0
_GENERIC_TYPE = "application/octet-stream"
# A wrong key, an expired or forged SAS: Azure says AuthenticationFailed, Azurite says
# AuthorizationFailure, and both say "Server failed to authenticate the request".
_REFUSED_CODES = frozenset(
    {"AuthenticationFailed", "InvalidAuthenticationInfo", "NoAuthenticationInformation"}
)
_AUTHENTICATION_FAILED = "failed to authenticate the request"
_ENV_FILLED = (
    "account_key",
    "connection_string",
    "sas_token",
    "client_id",
    "client_secret",
    "tenant_id",
)
_T = TypeVar("_T")
#: obstore's refusals that the SDK path explains better (see AzureStore.read)
_ASK_THE_SDK = (NotFoundError, PermissionDeniedError, CredentialsError)


class _RetryPolicy(ExponentialRetry):
    """Azure's choice of what to retry (5xx, 408, dropped connections), with a short backoff.

    The SDK's default waits 15 s + 3^n s between attempts; here 0.5 s, 1 s, 2 s, ... (+-20 %).
    """

    def __init__(self, policy: RetryPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._policy = policy

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        return self._policy.delay(settings["count"])


class _HermeticFileSystem(AzureBlobFileSystem):
    """adlfs on a prebuilt service client: never the environment, never the default chain."""

    cachable = False  # one filesystem per store; fsspec must not hand it to anyone else

    def __init__(
        self, client: BlobServiceClient, credential: Any, account_name: str, **kwargs: Any
    ) -> None:
        self._prebuilt_client, self._explicit_credential = client, credential
        # anon=True turns off adlfs's DefaultAzureCredential fallback; the two credential
        # factories below return only what the model configured.
        super().__init__(account_name=account_name, credential=credential, anon=True, **kwargs)
        for name in _ENV_FILLED:  # adlfs filled these from AZURE_STORAGE_* when left empty
            setattr(self, name, None)

    def do_connect(self) -> None:
        self.service_client = self._prebuilt_client

    def _get_credential_from_service_principal(self) -> tuple[Any, None]:
        return self._explicit_credential, None

    def _get_default_azure_credential(self, **kwargs: Any) -> tuple[Any, None]:
        return self._explicit_credential, None

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        cache_type: str = "readahead",
        **kwargs: Any,
    ) -> _BlobFile:
        return _BlobFile(
            fs=self,
            path=path,
            mode=mode,
            block_size=block_size or self.blocksize,
            autocommit=autocommit,
            cache_options=cache_options or {},
            cache_type=cache_type,
            **kwargs,
        )


class _BufferWriter(io.RawIOBase):
    """A seekable writable view of a preallocated buffer, for the SDK's parallel readinto()."""

    def __init__(self, buffer: bytearray) -> None:
        super().__init__()
        self._view, self._position = memoryview(buffer), 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}
        self._position = base[whence] + offset
        return self._position

    def write(self, data: Any) -> int:  # type: ignore[override]
        chunk = memoryview(data).cast("B")
        self._view[self._position : self._position + chunk.nbytes] = chunk
        self._position += chunk.nbytes
        return chunk.nbytes


class _BlobFile(AzureBlobFile):
    """adlfs's blob file with leaner reads and streamed block uploads (see each method)."""

    async def _async_fetch_range(self, start: int, end: int | None = None, **kwargs: Any) -> bytes:
        """One ranged download, its chunks written in parallel straight into one buffer.

        adlfs's readall() gathers the range in a growing BytesIO and copies it out, so a
        read-ahead block was held three times over.
        """
        end = self.size if end is None else min(end, self.size)
        if end <= start:
            return b""
        stream = await self.container_client.download_blob(
            blob=self.blob, offset=start, length=end - start, max_concurrency=MAX_CONCURRENCY
        )
        buffer = bytearray(end - start)
        filled = await stream.readinto(_BufferWriter(buffer))
        return bytes(memoryview(buffer)[:filled])

    _fetch_range = sync_wrapper(_async_fetch_range)

    async def _async_upload_chunk(self, final: bool = False, **kwargs: Any) -> Any:
        """A blob of up to PUT_BLOB_LIMIT bytes is one Put Blob: one request instead of a block
        and a block list, atomic by itself, and Azure computes its Content-MD5 (which verifies
        a copy without reading it back). Larger blobs: adlfs's staged blocks."""
        small = self.buffer.tell() <= PUT_BLOB_LIMIT
        if not (final and small and not self._block_list and self.mode == "wb"):
            return await super()._async_upload_chunk(final=final, **kwargs)
        data = self.buffer.getvalue()
        async with self.container_client.get_blob_client(blob=self.blob) as blob:
            response = await blob.upload_blob(
                data=io.BytesIO(data),
                length=len(data),
                metadata=self.metadata,
                content_settings=self._content_settings,
                overwrite=True,
            )
        self.content_md5 = response.get("content_md5")
        return True

    _upload_chunk = sync_wrapper(_async_upload_chunk)

    async def _stage_block(
        self, data: bytes, start: int, end: int, block_id: str, semaphore: asyncio.Semaphore
    ) -> str:
        """Stage one block as a stream: aiohttp sends a raw bytes body in one piece, blocking
        the event loop (and warns); a BytesIO over the whole buffer is sent without a copy."""
        async with semaphore:
            chunk = data if (start, end) == (0, len(data)) else data[start:end]
            async with self.container_client.get_blob_client(blob=self.blob) as blob:
                await blob.stage_block(
                    block_id=block_id, data=io.BytesIO(chunk), length=end - start
                )
            return block_id


class _AzureWriter(_FsspecWriter):
    """Commits the staged block list on close; on failure removes the blob it staged."""

    def _commit(self) -> None:
        super()._commit()
        md5 = getattr(self._file, "content_md5", None)  # a Put Blob's answer (see _BlobFile)
        if md5:
            self.reported_digest = bytes(md5).hex()

    def _discard(self) -> None:
        staged = getattr(self._file, "offset", None) is not None  # a block went to the server
        super()._discard()
        if staged:
            assert isinstance(self._store, AzureStore)
            self._store.drop_uncommitted(self.url)


class AzureStore(FsspecStore):
    """Azure Blob Storage: one storage account with one AzureCredentials method."""

    family = "azure"
    credentials_type = AzureCredentials
    writer_type = _AzureWriter  # a failed write also removes the blob it staged
    credentials: AzureCredentials

    #: the retry policy (store option ``retry``): Azure's choice of what to retry, with
    #: ``attempts - 1`` retries waiting ``backoff``, 2x, 4x ... seconds (+-20 %)
    retry_policy: ClassVar[RetryPolicy | None] = RetryPolicy(
        attempts=RETRIES + 1,
        backoff=FIRST_BACKOFF,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=TIMEOUT,
    )

    def __init__(
        self,
        endpoint: StoreURL,
        credentials: AzureCredentials | None = None,
        *,
        retry: RetryPolicy | None = None,
        retries: int | None = None,
        timeout: float | None = None,
    ) -> None:
        if retries is not None or timeout is not None:  # the older spelling of the same policy
            if (retries is not None and retries < 0) or (timeout is not None and timeout <= 0):
                raise ValueError("retries must be >= 0 and timeout > 0")
            base = retry or self.retry_policy or RetryPolicy()
            changes: dict[str, Any] = {}
            if retries is not None:
                changes["attempts"] = retries + 1
            if timeout is not None:
                changes["read_timeout"] = timeout
                changes["connect_timeout"] = min(base.connect_timeout, timeout)
            retry = base.model_copy(update=changes)
        super().__init__(endpoint, credentials, retry=retry)
        self.account = _account_of(self.credentials, endpoint)
        self._check_account(endpoint)
        self._blobs: ObstoreBlobs | None = None
        self._blobs_built = False

    @property
    def retries(self) -> int:
        """Retries after the first attempt (the policy's ``attempts - 1``)."""
        return self.retry.attempts - 1

    @property
    def timeout(self) -> float:
        """The read timeout, in seconds."""
        return self.retry.read_timeout

    @classmethod
    def endpoint_key(cls, url: StoreURL) -> str:
        """The account's blob host: abfs://c@acct.dfs... and wasbs://c@acct.blob... share one."""
        return _blob_host(url.host)

    # -- the filesystem -----------------------------------------------------------------------
    def _make_filesystem(self) -> _HermeticFileSystem:
        client, credential = self._service_client()
        return _HermeticFileSystem(
            client,
            credential,
            client.account_name or self.account,
            blocksize=self.block_size,
            max_concurrency=MAX_CONCURRENCY,
            use_listings_cache=False,
        )

    def _service_client(self) -> tuple[BlobServiceClient, Any]:
        """The async blob client for the configured method, and its credential object."""
        creds, options = self.credentials, self._client_options()
        if creds.connection_string is not None:
            text = creds.connection_string.get_secret_value()
            return BlobServiceClient.from_connection_string(text, **options), None
        credential = self._credential()
        return BlobServiceClient(self._account_url(), credential=credential, **options), credential

    def _credential(self) -> Any:
        creds = self.credentials
        assert creds.account_name is not None  # the model requires it for these methods
        if creds.account_key is not None:
            return AzureNamedKeyCredential(creds.account_name, creds.account_key.get_secret_value())
        if creds.sas_token is not None:
            return AzureSasCredential(creds.sas_token.get_secret_value())
        # azure-identity loads only for the methods that need it (~60 ms of CPU at import)
        if creds.client_secret is not None:
            from azure.identity.aio import ClientSecretCredential

            assert creds.tenant_id is not None
            assert creds.client_id is not None
            return ClientSecretCredential(
                creds.tenant_id,
                creds.client_id,
                creds.client_secret.get_secret_value(),
                authority=creds.authority_host,  # explicit: AZURE_AUTHORITY_HOST is not read
            )
        if creds.use_ambient_identity:
            from azure.identity.aio import DefaultAzureCredential

            return DefaultAzureCredential()
        raise CredentialsError(f"AzureCredentials from {creds.source}: no method configured")

    def _account_url(self) -> str:
        if self.credentials.blob_endpoint is not None:
            return self.credentials.blob_endpoint
        host = _blob_host(self.endpoint.host) or f"{self.account}.blob.core.windows.net"
        return f"https://{host}"

    def _client_options(self) -> dict[str, Any]:
        return {
            "retry_policy": _RetryPolicy(self.retry, retry_total=self.retries),
            "connection_timeout": self.retry.connect_timeout,
            "read_timeout": self.retry.read_timeout,
            "max_single_get_size": DOWNLOAD_CHUNK,
            "max_chunk_get_size": DOWNLOAD_CHUNK,
            "max_single_put_size": self.block_size,
            "max_block_size": self.block_size,
        }

    def close(self) -> None:
        self._blobs, self._blobs_built = None, False
        fs, self._fs = self._fs, None
        if fs is None:
            return
        with contextlib.suppress(Exception):
            sync(fs.loop, fs.service_client.close)
        credential = fs._explicit_credential
        if credential is not None and hasattr(credential, "close"):
            with contextlib.suppress(Exception):
                sync(fs.loop, credential.close)

    # -- paths and metadata -------------------------------------------------------------------
    def fs_path(self, url: StoreURL) -> str:
        self._check_account(url)
        return super().fs_path(url)

    def _check_account(self, url: StoreURL) -> None:
        named = _account_in_host(url.host)
        if named is not None and named != self.account:
            raise CredentialsError(
                f"the URL names storage account '{named}' but the credentials "
                f"({self.credentials.source}) are for account '{self.account}'",
                url=url.display(),
            )

    def _stat_from_info(self, info: dict[str, Any], url: StoreURL) -> FileStat:
        if info.get("type") == "directory":
            return FileStat(size=0, url=str(url), is_dir=True)
        settings = info.get("content_settings")
        content_type = reported_content_type(getattr(settings, "content_type", None), url.path)
        return FileStat(
            size=int(info.get("size") or 0),
            modified=info.get("last_modified"),
            etag=info.get("etag"),
            content_type=content_type,
            url=str(url),
        )

    def reports_md5(self, url: StoreURL, size: int | None) -> bool:
        """What open_writer wrote is answered with an MD5: a Put Blob's Content-MD5, or the
        composite of the blocks' MD5s Azure checked on arrival (AzureBlockWriter)."""
        return True

    def digest_part_size(self, url: StoreURL) -> int | None:
        """open_writer stages UPLOAD_BLOCK blocks (up to 312 GiB: AzureBlockWriter), so its
        composite digest combines the MD5s of slices of that size."""
        return UPLOAD_BLOCK

    def reported_digest(self, url: StoreURL) -> str | None:
        """Content-MD5 as hex: Azure computes it for blobs uploaded in one Put Blob; a blob
        committed from a block list has none (then: None; AzureBlockWriter answers its commit
        with the composite of its blocks' MD5s instead)."""
        self.require_key(url)
        with self.translated(url):
            settings = self.fs.info(self.fs_path(url)).get("content_settings")
        digest = getattr(settings, "content_md5", None)
        return bytes(digest).hex() if digest else None

    # -- reads (obstore where the credentials allow: stores/azure_transport.py) ----------------
    @property
    def blobs(self) -> ObstoreBlobs | None:
        """obstore's reads of this account; None for credentials that stay on the SDK, and
        in a process forked after obstore ran (its runtime does not survive fork)."""
        if not runtime_usable():
            return None
        if not self._blobs_built:
            with self._fs_lock:
                if not self._blobs_built:
                    self._blobs = ObstoreBlobs.for_credentials(
                        self.credentials, self.account, self._account_url(), self.retry
                    )
                    self._blobs_built = True
        return self._blobs

    def read(self, url: StoreURL, offset: int = 0, size: int | None = None) -> bytes:
        """One GET through obstore (ranged when asked). A refusal is asked again through the
        SDK, which names what is missing (the container, or a folder) and reads Azure's error
        code from the headers (obstore shows neither: a HEAD has no body)."""
        blobs = self.blobs
        if blobs is None or not blobs.takes(url.path):
            return super().read(url, offset, size)
        self.require_key(url)
        self._check_account(url)
        try:
            with self.translated(url):
                return blobs.read(url, offset, size)
        except _ASK_THE_SDK:
            return super().read(url, offset, size)

    def open_reader(self, url: StoreURL) -> BinaryIO:
        """One streamed GET through obstore that resumes where a cut stopped (BlobReader);
        for SDK-only credentials, adlfs's file with READ_BLOCK read-ahead."""
        self.require_key(url)
        blobs = self.blobs
        if blobs is None or not blobs.takes(url.path):
            return self._sdk_reader(url)
        self._check_account(url)
        try:
            with self.translated(url):
                head = blobs.head(url)
        except _ASK_THE_SDK:
            return self._sdk_reader(url)
        raw = BlobReader(
            blobs,
            url,
            int(head["size"]),
            head.get("e_tag"),
            lambda exc: self._map_error(exc, url) or self._generic_error(exc, url),
            self.retry,
        )
        return io.BufferedReader(raw, buffer_size=READ_BUFFER)  # type: ignore[return-value]

    def _sdk_reader(self, url: StoreURL) -> BinaryIO:
        with self.translated(url):
            return self.fs.open(self.fs_path(url), "rb", block_size=READ_BLOCK)

    # -- writes and copies --------------------------------------------------------------------
    def open_writer(self, url: StoreURL) -> AtomicWriter:
        """Blocks upload while the next one fills (AzureBlockWriter); atomic on close."""
        self.require_key(url)
        self._check_account(url)
        return AzureBlockWriter(
            url,
            self,
            block_size=UPLOAD_BLOCK,
            parallel=MAX_CONCURRENCY,
            put_blob_limit=PUT_BLOB_LIMIT,
            content_settings=self._write_options(url)["content_settings"],
        )

    def _write_options(self, url: StoreURL) -> dict[str, Any]:
        """The blob's Content-Type, from its name (as az CLI and azcopy set it)."""
        return {"content_settings": {"content_type": guess_content_type(url.path) or _GENERIC_TYPE}}

    def drop_uncommitted(self, url: StoreURL) -> None:
        """Remove the blocks a failed write staged, unless a committed blob holds them.

        A blob name with only uncommitted blocks is deleted (Azure would keep it a week). A
        committed blob keeps its content; Azure discards the stray blocks at its next commit.
        """
        with contextlib.suppress(Exception):
            self._run(self._drop_uncommitted(url))

    async def _drop_uncommitted(self, url: StoreURL) -> None:
        blob = self.fs.service_client.get_blob_client(url.bucket, url.path)
        try:
            await blob.get_blob_properties()
        except ResourceNotFoundError:
            await blob.delete_blob()

    def copy_within(self, source: StoreURL, target: StoreURL) -> None:
        """Copy Blob from URL: the data never passes through this process."""
        self.require_key(source)
        self.require_key(target)
        self._check_account(source)
        self._check_account(target)
        with self.translated(target):
            self._run(self._server_copy(source, target))

    async def _server_copy(self, source: StoreURL, target: StoreURL) -> None:
        client = self.fs.service_client
        source_url = client.get_blob_client(source.bucket, source.path).url
        if self.credentials.sas_token is not None:  # the copy source is authorized by URL
            source_url += "?" + self.credentials.sas_token.get_secret_value()
        destination = client.get_blob_client(target.bucket, target.path)
        try:
            started = await destination.start_copy_from_url(source_url)
        except ResourceNotFoundError as exc:
            if exc.error_code == "ContainerNotFound":
                raise
            raise NotFoundError("no such blob to copy", url=source.display()) from None
        status, deadline = started["copy_status"], time.monotonic() + COPY_TIMEOUT
        while status == "pending" and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            status = (await destination.get_blob_properties()).copy.status
        if status != "success":
            raise StoreUnavailableError(
                f"the server-side copy from {source.display()} ended '{status}'",
                url=target.display(),
            )

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run a coroutine on adlfs's event loop, from this (synchronous) thread."""
        return sync(self.fs.loop, lambda: coroutine)

    # -- errors -------------------------------------------------------------------------------
    def _map_error(self, exc: BaseException, url: StoreURL) -> OrchestoreError | None:
        mapped = obstore_error(exc, url, self._credential_source(), self.retries)
        if mapped is not None:
            return mapped
        cause = _azure_cause(exc)
        if cause is not None:
            return self._map_azure_error(cause, url)
        if isinstance(exc, FileNotFoundError) and not self._container_exists(url):
            return self._missing_container(url)
        return None

    def _map_azure_error(self, exc: AzureError, url: StoreURL) -> OrchestoreError | None:
        where, source = url.display(), self._credential_source()
        if isinstance(exc, ClientAuthenticationError):
            return CredentialsError(f"Azure refused the credentials ({source})", url=where)
        if isinstance(exc, ServiceRequestError | ServiceResponseError):
            return StoreUnavailableError(
                f"cannot reach the Azure blob endpoint after {self.retries} retries "
                f"({type(exc).__name__})",
                url=where,
            )
        if not isinstance(exc, HttpResponseError):
            return None
        status = exc.status_code
        if status is None:  # a read timeout or a dropped response: no status at all
            return StoreUnavailableError(
                f"no answer from the Azure blob endpoint after {self.retries} retries "
                f"({type(exc).__name__})",
                url=where,
            )
        # ServiceResponseTimeoutError and friends are HttpResponseErrors without an error_code
        error_code = getattr(exc, "error_code", None)
        code = str(getattr(error_code, "value", error_code) or "no error code")
        if code == "ContainerNotFound":
            return self._missing_container(url)
        if code in ("Md5Mismatch", "Crc64Mismatch"):
            return ChecksumMismatchError(
                f"Azure refused the upload: the bytes it received do not match their checksum "
                f"({code}); nothing was written",
                url=where,
            )
        if _md5_refused(code, exc.message):  # a block's transactional MD5 (AzureBlockWriter)
            return ChecksumMismatchError(
                "Azure refused a block whose bytes arrived changed (their MD5 is not the one "
                "sent with them); nothing was committed",
                url=where,
                algorithm="md5",
            )
        if status == 404:
            return NotFoundError(f"no such blob or folder ({code})", url=where)
        if code in _REFUSED_CODES or _AUTHENTICATION_FAILED in (exc.message or ""):
            return CredentialsError(f"Azure refused the credentials ({code}; {source})", url=where)
        if status in (401, 403):
            return PermissionDeniedError(f"access denied ({code}; {source})", url=where)
        if code in ("InvalidResourceName", "InvalidUri", "OutOfRangeInput"):
            return InvalidURLError(f"Azure rejected the name ({code})", url=where)
        return StoreUnavailableError(
            f"Azure answered HTTP {status} ({code}) after {self.retries} retries", url=where
        )

    def _credential_source(self) -> str:
        return f"credentials: {self.credentials.method} from {self.credentials.source}"

    def _missing_container(self, url: StoreURL) -> NotFoundError:
        return NotFoundError(
            f"container '{url.bucket}' does not exist in storage account '{self.account}'",
            url=url.display(),
        )

    def _container_exists(self, url: StoreURL) -> bool:
        if not url.bucket:
            return True
        try:
            container = self.fs.service_client.get_container_client(url.bucket)
            return bool(self._run(container.exists()))
        except Exception:
            return True  # cannot tell: keep the original error


def _md5_refused(code: str, message: str | None) -> bool:
    """Azure answers Md5Mismatch; Azurite InvalidOperation "Provided contentMD5 doesn't match"."""
    if code == "Md5Mismatch":
        return True
    return code == "InvalidOperation" and "contentMD5" in (message or "")


def _azure_cause(exc: BaseException) -> AzureError | None:
    """The Azure SDK error behind ``exc`` (adlfs wraps some in RuntimeError/ValueError)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, AzureError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _blob_host(host: str) -> str:
    """``acct.dfs.core.windows.net`` -> ``acct.blob.core.windows.net`` (ADLS Gen2 = blob API)."""
    head, dot, rest = host.partition(".")
    if rest.startswith("dfs."):
        return f"{head}{dot}blob.{rest[4:]}"
    return host


def _account_in_host(host: str) -> str | None:
    """The account an ``acct.(blob|dfs).<cloud suffix>`` host names; None for other hosts."""
    head, _, rest = host.partition(".")
    return head if rest.startswith(("blob.", "dfs.")) else None


def _account_of(creds: AzureCredentials, endpoint: StoreURL) -> str:
    """The storage account the credentials are for, without touching the SDK."""
    if creds.account_name is not None:
        return creds.account_name
    endpoint_url = creds.blob_endpoint
    if creds.connection_string is not None:
        pairs = parse_connection_string(creds.connection_string.get_secret_value())
        if "ACCOUNTNAME" in pairs:
            return pairs["ACCOUNTNAME"]
        if pairs.get("USEDEVELOPMENTSTORAGE", "").lower() == "true":
            return "devstoreaccount1"
        endpoint_url = pairs.get("BLOBENDPOINT")
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        named = _account_in_host(parts.hostname or "")
        return named or parts.path.strip("/").split("/")[0]
    return _account_in_host(endpoint.host) or ""
