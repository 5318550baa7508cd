"""s3://bucket/key on AWS or any S3-compatible endpoint, on s3fs with a hermetic SDK session.

Why a hand-built session: botocore reads AWS_* variables, ``~/.aws/config`` and the instance
metadata endpoint on its own, so "explicit credentials" could silently become "whatever this
pod has" (another endpoint from AWS_ENDPOINT_URL, another profile from AWS_PROFILE). Here the
aiobotocore session sees no environment and no config file, and its only credential source is
the S3Credentials model: keys, a profile read from the named file, a role assumed through STS
(refreshed before it expires), or, only with ``use_ambient_identity``, the SDK's default chain.

The bytes travel through obstore (s3_transport.py: the fastest client measured, and its
CPU is the throughput on a small machine), with credentials from the same model through its
credential provider: whole and ranged reads are one GET; readers stream one GET straight into
the caller's buffer and resume a cut body (_S3StreamReader); small writes are one PutObject,
larger ones a multipart upload in UPLOAD_PART parts, aborted on error (S3StreamWriter).
Listing, stat, delete and server-side copies (CopyObject, or UploadPartCopy parts for big
objects, aborted if a part fails) stay on s3fs through FsspecStore, as does everything when
obstore cannot be kept hermetic (s3_transport.transport_refusal). Content types follow the
key's suffix.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import importlib.util
import io
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from orchestore.credentials.s3 import S3Credentials
from orchestore.errors import (
    CredentialsError,
    InvalidURLError,
    NotFoundError,
    OrchestoreError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from orchestore.stores.base import (
    AtomicWriter,
    Buffer,
    FileStat,
    SeekableStream,
    guess_content_type,
    reported_content_type,
)
from orchestore.stores.fsspec_store import FsspecStore
from orchestore.stores.retry import RetryPolicy
from orchestore.stores.s3_transport import (
    FAILURES as _OBSTORE_FAILURES,
)
from orchestore.stores.s3_transport import (
    RangesRefused,
    S3Transport,
    error_code,
    runtime_usable,
    transport_refusal,
)
from orchestore.stores.s3_writer import S3PartWriter, S3StreamWriter, etag_digest, md5_etag
from orchestore.urls import StoreURL

if TYPE_CHECKING:
    import s3fs
    from botocore.exceptions import ClientError

__all__ = ["S3Store"]

# s3fs loads on first use (its imports cost ~0.3 s), but the store needs the whole 's3' extra:
# a missing package fails here, where the manager names the extra (not at the first listing)
for _package in ("s3fs", "aiobotocore", "botocore"):
    if importlib.util.find_spec(_package) is None:
        raise ModuleNotFoundError(f"No module named {_package!r}", name=_package)

MiB = 1024 * 1024
#: content types S3 reports when the writer set none: the key's suffix says more
_REFUSED_KEYS = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch"})
_BAD_TOKENS = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidToken", "TokenRefreshRequired"}
)
_DENIED = frozenset({"AccessDenied", "AllAccessDisabled", "AccountProblem", "403"})
#: bytes per part of a streamed upload (4 in flight: 40 MiB with the part being filled)
UPLOAD_PART = 8 * MiB
#: bytes a reader buffers for small reads; large reads go straight into the caller's buffer
READ_BUFFER = 1 * MiB
_CredentialsLoader = Callable[[], Awaitable[Any]]
#: botocore refreshes credentials this long before they expire; obstore is told they expire
#: then, so it asks again from that point (and gets botocore's refreshed ones)
_REFRESH_AHEAD = datetime.timedelta(minutes=15)
_log = logging.getLogger(__name__)


class S3Store(FsspecStore):
    """s3:// with one S3Credentials; one store serves every bucket those credentials reach."""

    family = "s3"
    credentials_type = S3Credentials
    credentials: S3Credentials

    #: the retry policy (store option ``retry``): ``attempts`` per request for obstore (with
    #: ``backoff``/``max_backoff``, giving up after ``worst_case_seconds``) and for botocore
    #: ("standard" mode: its own jittered backoff); s3fs adds none on top, and a reader whose
    #: body is cut short resumes from its position as often
    retry_policy: ClassVar[RetryPolicy | None] = RetryPolicy(
        attempts=3, connect_timeout=5.0, read_timeout=60.0
    )
    #: connections the store's one client keeps (botocore's default, 10, makes a copy with
    #: concurrency=8 and ranged reads queue for a connection)
    max_pool_connections: ClassVar[int] = 32
    #: parts one writer uploads at once while it fills the next (memory: one more part each)
    parts_in_flight: ClassVar[int] = 4
    #: reads and writes go through obstore (s3_transport); False keeps them on s3fs
    use_obstore: ClassVar[bool] = True

    @property
    def upload_part_size(self) -> int:
        """Bytes per part open_writer uploads: 8 MiB (boto3's chunk), or a smaller block_size."""
        return min(self.block_size, UPLOAD_PART)

    #: concurrent part transfers in s3fs's put_file/get_file (its default, 10, holds 500 MiB)
    max_concurrency: ClassVar[int] = 4

    # -- role assumption and server-side copies -----------------------------------------------
    #: lifetime asked for assumed-role credentials; botocore refreshes them 15 min before expiry
    role_session_seconds: ClassVar[int] = 3600
    #: the RoleSessionName of AssumeRole calls (shows in CloudTrail)
    role_session_name: ClassVar[str] = "orchestore"
    #: objects up to this size are copied with one CopyObject; larger ones part by part, so
    #: that each request finishes well inside ``read_timeout`` (CopyObject allows 5 GiB)
    multipart_copy_threshold: ClassVar[int] = 512 * MiB
    #: bytes per UploadPartCopy request
    copy_part_size: ClassVar[int] = 256 * MiB

    def __init__(
        self,
        endpoint: StoreURL,
        credentials: S3Credentials | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(endpoint, credentials, retry=retry)
        self._transport: S3Transport | None = None
        self._transport_ready = False
        self._transport_lock = threading.Lock()
        #: bucket -> whether the ETags of what we write there are MD5s (see _written_digest)
        self._md5_etag_buckets: dict[str, bool] = {}

    def __repr__(self) -> str:
        where = self.credentials.endpoint_url or "AWS"
        return f"S3Store({where!r}, credentials from {self.credentials.source})"

    # -- the filesystem -----------------------------------------------------------------------
    def _make_filesystem(self) -> s3fs.S3FileSystem:
        import s3fs  # ~0.3 s of imports (aiobotocore, aiohttp): only when s3fs is needed

        from orchestore.stores.s3_session import hermetic_session

        credentials = self.credentials
        session = hermetic_session(self._credentials_loader())
        fs = s3fs.S3FileSystem(
            anon=credentials.anonymous,
            endpoint_url=credentials.endpoint_url,
            session=session,
            client_kwargs=self._client_kwargs(),
            config_kwargs=self._config_kwargs(),
            default_block_size=self.block_size,
            max_concurrency=self.max_concurrency,
            fixed_upload_size=True,  # every part is block_size bytes (the last may be less)
            skip_instance_cache=True,
            use_listings_cache=False,
        )
        fs.retries = 1  # botocore's attempts are the policy's: no s3fs retries multiplying them
        return fs

    # -- the obstore transport ------------------------------------------------------------------
    @property
    def transport(self) -> S3Transport | None:
        """obstore's clients, built on first use; None where s3fs moves the bytes too (also
        in a process forked after obstore ran: see s3_transport.runtime_usable)."""
        if not runtime_usable():
            return None
        if not self._transport_ready:
            with self._transport_lock:
                if not self._transport_ready:
                    self._transport = self._make_transport()
                    self._transport_ready = True
        return self._transport

    def _make_transport(self) -> S3Transport | None:
        if not self.use_obstore:
            return None
        refusal = transport_refusal(self.credentials)
        if refusal is not None:
            _log.info("s3 (%s): transfers stay on s3fs: %s", self.credentials.source, refusal)
            return None
        return S3Transport(
            self.credentials,
            self.retry,
            provider=self._transport_credentials(),
            map_code=self._map_code,
            pool_size=self.max_pool_connections,
        )

    def _transport_credentials(self) -> Callable[[], dict[str, Any]] | None:
        """obstore's credential provider: the model's keys or profile as they are; an assumed
        role or the ambient identity through botocore, which refreshes them (None: anonymous)."""
        credentials = self.credentials
        if credentials.anonymous:
            return None
        if credentials.role_arn is None and not credentials.use_ambient_identity:
            return _StaticCredentials(*self._static_keys())
        return _SessionCredentials(self)

    def _client_kwargs(self) -> dict[str, Any]:
        credentials = self.credentials
        kwargs: dict[str, Any] = {}
        if credentials.region:
            kwargs["region_name"] = credentials.region
        if credentials.ca_bundle:
            kwargs["verify"] = credentials.ca_bundle
        elif not credentials.verify_ssl:
            kwargs["verify"] = False
        return kwargs

    def _config_kwargs(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "connect_timeout": self.retry.connect_timeout,
            "read_timeout": self.retry.read_timeout,
            "retries": {"total_max_attempts": self.retry.attempts, "mode": "standard"},
            "ignore_configured_endpoint_urls": True,
            "max_pool_connections": self.max_pool_connections,
        }
        if self.credentials.endpoint_url:
            # Many S3-compatible servers reject the CRC checksums botocore adds since 1.36.
            config["request_checksum_calculation"] = "when_required"
            config["response_checksum_validation"] = "when_required"
        return config

    def _credentials_loader(self) -> _CredentialsLoader:
        """The coroutine that gives the session its credentials, checked as far as possible now."""
        credentials = self.credentials
        if credentials.anonymous:
            return _nothing
        if credentials.use_ambient_identity:
            base = self._ambient_credentials
        else:
            static = self._profile_credentials() if credentials.profile else self._key_credentials()
            base = functools.partial(_constant, static)
        if credentials.role_arn is None:
            return base
        return functools.partial(self._assumed_role, base)

    def _key_credentials(self) -> Any:
        from aiobotocore.credentials import AioCredentials

        return AioCredentials(*self._static_keys(), method="orchestore-keys")

    def _profile_credentials(self) -> Any:
        from aiobotocore.credentials import AioCredentials

        return AioCredentials(*self._profile_keys(), method="orchestore-profile")

    def _static_keys(self) -> tuple[str, str, str | None]:
        """Key id, secret and token: of the profile when one is set, else the key fields."""
        if self.credentials.profile:
            return self._profile_keys()
        credentials = self.credentials
        secret = credentials.secret_access_key
        token = credentials.session_token
        assert credentials.access_key_id is not None
        assert secret is not None
        return (
            credentials.access_key_id,
            secret.get_secret_value(),
            token.get_secret_value() if token is not None else None,
        )

    def _profile_keys(self) -> tuple[str, str, str | None]:
        """Static keys of ``profile`` in ``credentials_file``, read without botocore's chain."""
        from botocore import configloader
        from botocore.exceptions import ConfigNotFound, ConfigParseError

        credentials = self.credentials
        path = os.path.expanduser(credentials.credentials_file or "~/.aws/credentials")
        where = f"profile '{credentials.profile}' of {path} ({credentials.source})"
        try:
            sections = configloader.raw_config_parse(path)
        except ConfigNotFound:
            raise CredentialsError(f"{where}: the credentials file does not exist") from None
        except ConfigParseError:
            raise CredentialsError(f"{where}: the credentials file cannot be parsed") from None
        section = sections.get(credentials.profile or "")
        if section is None:
            raise CredentialsError(f"{where}: no such profile in the file")
        fields = ("aws_access_key_id", "aws_secret_access_key")
        missing = [name for name in fields if not section.get(name)]
        if missing:
            raise CredentialsError(
                f"{where}: missing {', '.join(missing)} (only profiles with static keys are "
                "supported; to assume a role, set role_arn)"
            )
        return (
            section["aws_access_key_id"],
            section["aws_secret_access_key"],
            section.get("aws_session_token") or None,
        )

    async def _ambient_credentials(self) -> Any:
        """The SDK's default chain, which the user chose with use_ambient_identity=True."""
        from aiobotocore.session import AioSession
        from botocore.exceptions import ProfileNotFound

        try:
            found = await AioSession().get_credentials()
        except ProfileNotFound:
            found = None
        if found is None:
            raise CredentialsError(
                f"use_ambient_identity=True ({self.credentials.source}), but the platform "
                "provides no AWS identity (no AWS_* keys, web identity token, container or "
                "instance-metadata credentials, or an unknown AWS_PROFILE)"
            )
        return found

    async def _assumed_role(self, base: _CredentialsLoader) -> Any:
        """Credentials of ``role_arn``, assumed with ``base`` and refreshed before expiry."""
        from aiobotocore.config import AioConfig
        from aiobotocore.credentials import (
            AioAssumeRoleCredentialFetcher,
            AioDeferredRefreshableCredentials,
        )

        from orchestore.stores.s3_session import hermetic_session

        source = await base()
        credentials = self.credentials
        client_creator = functools.partial(
            hermetic_session(_nothing).create_client,
            endpoint_url=credentials.endpoint_url,
            config=AioConfig(**self._config_kwargs()),
            **self._client_kwargs(),
        )
        fetcher = AioAssumeRoleCredentialFetcher(
            client_creator,
            source,
            credentials.role_arn,
            extra_args={
                "RoleSessionName": self.role_session_name,
                "DurationSeconds": self.role_session_seconds,
            },
        )
        return AioDeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials, method="orchestore-assume-role"
        )

    def close(self) -> None:
        """Close the connection pool (the store may not be used afterwards)."""
        with self._transport_lock:
            self._transport, self._transport_ready = None, False
        with self._fs_lock:
            fs, self._fs = self._fs, None
        if fs is not None and getattr(fs, "_s3", None) is not None:  # a client was created
            type(fs).close_session(fs.loop, fs._s3creator)

    # -- reads ----------------------------------------------------------------------------------
    def open_reader(self, url: StoreURL) -> BinaryIO:
        """A buffered, seekable reader that streams (see _S3StreamReader for why not fsspec's)."""
        self.require_key(url)
        transport = self.transport
        if transport is None or transport.ranges_refused:
            return self._open_s3fs_reader(url)
        try:
            meta = transport.head(url)
        except NotFoundError:
            self._refuse_folder(url)
            raise
        size, etag = int(meta["size"]), meta.get("e_tag")
        fallback = functools.partial(_S3Reader, self, url, size, etag)
        raw = _S3StreamReader(transport, url, size, etag, self.retry, fallback=fallback)
        return io.BufferedReader(raw, buffer_size=READ_BUFFER)  # type: ignore[return-value]

    def _open_s3fs_reader(self, url: StoreURL) -> BinaryIO:
        with self.translated(url):
            info = self.fs.info(self.fs_path(url))
        if info.get("type") == "directory":
            raise InvalidURLError("names a folder, not an object", url=url.display())
        raw = _S3Reader(self, url, int(info["size"]), info.get("ETag"))
        return io.BufferedReader(raw, buffer_size=READ_BUFFER)  # type: ignore[return-value]

    def _refuse_folder(self, url: StoreURL) -> None:
        """A missing object may be a folder (keys below it): say so (one listing, on errors)."""
        with contextlib.suppress(NotFoundError), self.translated(url):
            if self.fs.info(self.fs_path(url)).get("type") == "directory":
                raise InvalidURLError("names a folder, not an object", url=url.display())

    def read(self, url: StoreURL, offset: int = 0, size: int | None = None) -> bytes:
        """One GET; a body cut short mid-way (the client retries only until the response
        head) continues through the resuming reader, up to the policy's attempts."""
        transport = self.transport
        ranged = bool(offset) or size is not None
        try:
            if transport is None or (ranged and transport.ranges_refused):
                return super().read(url, offset, size)
            self.require_key(url)
            try:
                return transport.read(url, offset, size)
            except RangesRefused:
                return super().read(url, offset, size)
        except StoreUnavailableError as error:
            if not _cut_short(error.__context__) or self.retry.attempts <= 1:
                raise
        with self.open_reader(url) as reader:
            if offset:
                reader.seek(offset)
            return reader.read() if size is None else reader.read(size)

    # -- metadata -----------------------------------------------------------------------------
    def stat(self, url: StoreURL) -> FileStat:
        """An object's stat from one obstore HEAD; folders and buckets through s3fs."""
        transport = self.transport
        if transport is None or not url.path or url.path.endswith("/"):
            return super().stat(url)
        try:
            meta, attributes = transport.stat(url)
        except NotFoundError:
            return super().stat(url)  # a folder (keys below it), or s3fs says what is missing
        return FileStat(
            size=int(meta["size"]),
            modified=meta.get("last_modified"),
            etag=meta.get("e_tag"),
            content_type=reported_content_type(attributes.get("Content-Type"), url.path),
            url=str(url),
        )

    def exists(self, url: StoreURL) -> bool:
        """An object: one obstore HEAD; when it is missing, s3fs tells whether a folder is."""
        transport = self.transport
        if transport is None or not url.path or url.path.endswith("/"):
            return super().exists(url)
        try:
            transport.stat(url)
        except NotFoundError:
            return super().exists(url)
        return True

    def _stat_from_info(self, info: dict[str, Any], url: StoreURL) -> FileStat:
        if info.get("type") == "directory":
            return FileStat(size=0, url=str(url), is_dir=True)
        content_type = reported_content_type(info.get("ContentType"), url.path)
        return FileStat(
            size=int(info.get("size") or 0),
            modified=info.get("LastModified"),
            etag=info.get("ETag"),
            content_type=content_type,
            url=str(url),
        )

    def reported_digest(self, url: StoreURL) -> str | None:
        """The ETag when it is an MD5 (``hex``, or ``hex-N`` for N parts); SSE-KMS/C ETags
        and other servers' opaque tags are not digests: None."""
        self.require_key(url)
        with self.translated(url):  # a HEAD of our own: s3fs's info() drops the SSE headers
            return etag_digest(self.fs.call_s3("head_object", Bucket=url.bucket, Key=url.path))

    def reports_md5(self, url: StoreURL, size: int | None) -> bool:
        """The ETag of what open_writer wrote is an MD5 (unless SSE-KMS/C: then a read-back)."""
        return True

    def digest_part_size(self, url: StoreURL) -> int | None:
        """open_writer uploads parts of ``upload_part_size`` (up to 39 GiB: S3PartWriter), so
        the ETag of what it wrote combines the MD5s of slices of that size."""
        return self.upload_part_size

    # -- writes and copies --------------------------------------------------------------------
    def write(self, url: StoreURL, data: Buffer) -> None:
        """Up to one part: a single PutObject (atomic by itself); larger: multipart.

        No listing first: S3 has no folders, so a key with keys below it (``dir`` beside
        ``dir/x``) is an object like any other, as boto3 would write it; a key ending in
        ``/`` is refused without a request (require_key). That keeps a small write at one
        request."""
        transport = self.transport
        if transport is None:
            self._write_through_s3fs(url, data)
            return
        self.require_key(url)
        view = memoryview(data).cast("B")
        if view.nbytes > self.upload_part_size:
            with self.open_writer(url) as writer:
                writer.write(view)
            return
        transport.put(url, view, guess_content_type(url.path))

    def _write_through_s3fs(self, url: StoreURL, data: Buffer) -> None:
        view = memoryview(data).cast("B")
        if view.nbytes > self.block_size:
            super().write(url, view)
            return
        self.require_key(url)
        path = self.fs_path(url)
        with self.translated(url):
            if self.fs.isdir(path):
                raise InvalidURLError("names a folder, not an object", url=url.display())
            self.fs.pipe_file(path, bytes(view), **self._put_options(url))

    def open_writer(self, url: StoreURL) -> AtomicWriter:
        """Parts upload while the next one fills; atomic on close (S3StreamWriter)."""
        self.require_key(url)
        transport = self.transport
        if transport is None:
            return S3PartWriter(
                url,
                self,
                part_size=self.upload_part_size,
                parallel=self.parts_in_flight,
                extra=self._put_options(url),
            )
        return S3StreamWriter(
            url,
            transport,
            part_size=self.upload_part_size,
            parallel=self.parts_in_flight,
            content_type=guess_content_type(url.path),
            digest_of=functools.partial(self._written_digest, url),
        )

    def _written_digest(self, url: StoreURL, etag: str | None) -> str | None:
        """The digest of what a writer stored, from the ETag obstore returned. obstore does
        not return the encryption headers etag_digest needs (an SSE-KMS ETag is no MD5), and
        what we write takes the bucket's default encryption: one HEAD of the first object
        written to a bucket tells whether its ETags are MD5s, for this store's lifetime."""
        digest = md5_etag(etag)
        if digest is None:
            return None
        md5_etags = self._md5_etag_buckets.get(url.bucket)
        if md5_etags is None:
            try:
                md5_etags = self._etag_is_md5(url)
            except OrchestoreError:
                return None  # unknown: the engine asks again or reads the copy back
            self._md5_etag_buckets[url.bucket] = md5_etags
        return digest if md5_etags else None

    def _etag_is_md5(self, url: StoreURL) -> bool:
        """etag_digest's rule on a HEAD of ``url``: signed by obstore and sent by urllib (no
        s3fs/aiobotocore to load for it), else s3fs's HEAD."""
        transport = self.transport
        if transport is not None:
            try:
                headers = transport.head_headers(url)
            except (*_OBSTORE_FAILURES, OSError):
                headers = None
            if headers is not None:
                answer = {
                    "ETag": headers.get("etag"),
                    "ServerSideEncryption": headers.get("x-amz-server-side-encryption"),
                    "SSECustomerAlgorithm": headers.get(
                        "x-amz-server-side-encryption-customer-algorithm"
                    ),
                }
                return etag_digest(answer) is not None
        return self.reported_digest(url) is not None

    def _write_options(self, url: StoreURL) -> dict[str, Any]:
        # s3fs passes them to CreateMultipartUpload / PutObject (it filters per operation).
        return self._put_options(url)

    @staticmethod
    def _put_options(url: StoreURL) -> dict[str, Any]:
        content_type = guess_content_type(url.path)
        return {"ContentType": content_type} if content_type else {}

    def copy_within(self, source: StoreURL, target: StoreURL) -> None:
        """A server-side copy: CopyObject, or UploadPartCopy parts above the threshold."""
        self.require_key(source)
        self.require_key(target)
        with self.translated(source):
            info = self.fs.info(self.fs_path(source))
            if info.get("type") == "directory":
                raise InvalidURLError("names a folder, not an object", url=source.display())
        copy_source = {"Bucket": source.bucket, "Key": source.path}
        with self.translated(target):
            if info["size"] <= self.multipart_copy_threshold:
                self.fs.call_s3(
                    "copy_object", Bucket=target.bucket, Key=target.path, CopySource=copy_source
                )
            else:
                self._multipart_copy(copy_source, target, info)

    def _multipart_copy(
        self, copy_source: dict[str, str], target: StoreURL, info: dict[str, Any]
    ) -> None:
        """UploadPartCopy part by part; a failure aborts the upload, so nothing is left."""
        extra = {"ContentType": info["ContentType"]} if info.get("ContentType") else {}
        upload = self.fs.call_s3(
            "create_multipart_upload", Bucket=target.bucket, Key=target.path, **extra
        )
        ids = {"Bucket": target.bucket, "Key": target.path, "UploadId": upload["UploadId"]}
        try:
            parts = [
                {"PartNumber": number, "ETag": self._copy_part(ids, number, copy_source, span)}
                for number, span in enumerate(_spans(info["size"], self.copy_part_size), 1)
            ]
            self.fs.call_s3("complete_multipart_upload", MultipartUpload={"Parts": parts}, **ids)
        except BaseException:
            self.fs.call_s3("abort_multipart_upload", **ids)
            raise

    def _copy_part(
        self, ids: dict[str, str], number: int, copy_source: dict[str, str], span: str
    ) -> str:
        result = self.fs.call_s3(
            "upload_part_copy",
            PartNumber=number,
            CopySource=copy_source,
            CopySourceRange=span,
            **ids,
        )
        return result["CopyPartResult"]["ETag"]

    # -- errors -------------------------------------------------------------------------------
    def _map_error(self, exc: BaseException, url: StoreURL) -> OrchestoreError | None:
        """botocore's and s3fs's errors (obstore's are s3_transport's)."""
        if "botocore" not in sys.modules:  # not raised by the SDK: nothing to translate here
            return None
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            HTTPClientError,
            NoCredentialsError,
            SSLError,
        )
        from botocore.exceptions import ConnectionError as BotoConnectionError

        where = url.display()
        source = f"credentials: {self.credentials.source}"
        client_error = _find(exc, ClientError)
        if client_error is not None:
            return self._map_client_error(client_error, url, source)
        if _find(exc, SSLError) is not None:
            return CredentialsError(
                "TLS certificate verification failed; set ca_bundle, or verify_ssl=False for a "
                "test endpoint",
                url=where,
            )
        if _find(exc, NoCredentialsError) is not None:
            return CredentialsError(f"the SDK found no credentials ({source})", url=where)
        unreachable = _find(exc, BotoConnectionError) or _find(exc, HTTPClientError)
        if unreachable is not None or isinstance(exc, TimeoutError):
            endpoint = self.credentials.endpoint_url or "AWS S3"
            return StoreUnavailableError(
                f"cannot reach {endpoint}: {type(unreachable or exc).__name__} (gave up after "
                f"at most {self.retry.attempts} attempts)",
                url=where,
            )
        if isinstance(exc, BotoCoreError):
            return StoreUnavailableError(f"s3 request failed: {type(exc).__name__}", url=where)
        return None

    def _map_client_error(
        self, error: ClientError, url: StoreURL, source: str
    ) -> OrchestoreError | None:
        where = url.display()
        code = _code(error)
        if code == "403" and error.operation_name in ("HeadObject", "HeadBucket"):
            code = self._forbidden_code(url)  # a HEAD answer has no body to say why
        if error.operation_name == "AssumeRole":
            return CredentialsError(
                f"assuming role {self.credentials.role_arn} failed: {code or 'refused'} ({source})",
                url=where,
            )
        return self._map_code(code, url)

    def _map_code(self, code: str, url: StoreURL) -> OrchestoreError | None:
        """The error an S3 error code means (botocore's or obstore's), or None: generic."""
        where = url.display()
        source = f"credentials: {self.credentials.source}"
        if code == "PreconditionFailed":
            return StoreUnavailableError(
                "the object changed while it was being read; read it again", url=where
            )
        if code == "NoSuchBucket":
            return NotFoundError(f"bucket '{url.bucket}' does not exist", url=where)
        if code in _REFUSED_KEYS:
            what = "access key id" if code == "InvalidAccessKeyId" else "secret access key"
            return CredentialsError(f"the server refused the {what} ({code}; {source})", url=where)
        if code in _BAD_TOKENS:
            return CredentialsError(
                f"the session token is invalid or expired ({code}; {source})", url=where
            )
        if code in _DENIED:
            if self.credentials.anonymous:
                source = "unsigned requests (anonymous=True): the data is not public"
            return PermissionDeniedError(f"access denied ({source})", url=where)
        return None

    def _forbidden_code(self, url: StoreURL) -> str:
        """Why a HEAD was refused: one ranged GET (or a one-key listing) returns the code."""
        try:
            if url.path and not url.path.endswith("/"):
                self.fs.call_s3("get_object", Bucket=url.bucket, Key=url.path, Range="bytes=0-0")
            else:
                self.fs.call_s3("list_objects_v2", Bucket=url.bucket, MaxKeys=1)
        except Exception as exc:
            from botocore.exceptions import ClientError

            error = _find(exc, ClientError)
            if error is not None:
                return _code(error)
        return "403"


class _S3Reader(SeekableStream):
    """A seekable object reader: one streaming GET per sequential run, no read-ahead copies.

    Why not fsspec's file: its read-ahead cache fetches each block whole (the HTTP body is
    collected and joined) while still holding the previous block, so one reader costs several
    blocks of memory. Here bytes go from the socket into the caller's buffer. A seek drops the
    response and the next read opens a ranged GET (pinned to the ETag, so a replaced object
    is an error, not a mix); a connection dropped mid-body resumes from the current position.
    """

    def __init__(self, store: S3Store, url: StoreURL, size: int, etag: str | None) -> None:
        super().__init__()
        self._store, self._url, self._size, self._etag = store, url, size, etag
        self._body: Any = None

    def _restart(self) -> None:
        self._drop()

    def _total_size(self) -> int:
        return self._size

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not view.nbytes or self._position >= self._size:
            return 0
        attempts = self._store.retry.attempts
        for attempt in range(1, attempts + 1):
            filled = [0]
            try:
                self._fill(view[: self._size - self._position], filled)
            except _stream_errors() as exc:
                self._drop()
                if not filled[0]:
                    if attempt < attempts:
                        continue  # the connection dropped: resume from the same position
                    with self._store.translated(self._url):
                        raise exc from None
            self._position += filled[0]
            return filled[0]
        return 0  # unreachable: the last attempt returns or raises

    def _fill(self, view: memoryview, filled: list[int]) -> None:
        from fsspec.asyn import sync

        if self._body is None:
            self._body = self._open()
        sync(self._store.fs.loop, _fill_from, self._body, view, filled)

    def _open(self) -> Any:
        conditions = {"IfMatch": self._etag} if self._etag else {}
        with self._store.translated(self._url):
            response = self._store.fs.call_s3(
                "get_object",
                Bucket=self._url.bucket,
                Key=self._url.path,
                Range=f"bytes={self._position}-",
                **conditions,
            )
        return response["Body"]

    def _drop(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            from fsspec.asyn import sync

            with contextlib.suppress(Exception):  # the loop may be gone at interpreter exit
                sync(self._store.fs.loop, _close_body, body)

    def close(self) -> None:
        self._drop()
        super().close()


class _S3StreamReader(SeekableStream):
    """_S3Reader's behaviour on obstore: one streaming GET per sequential run, each chunk
    copied once into the caller's buffer; a seek drops the response and the next read opens
    a ranged GET pinned to the ETag (a replaced object is an error, not a mix); a body cut
    mid-way resumes from the current position, up to the policy's attempts."""

    def __init__(
        self,
        transport: S3Transport,
        url: StoreURL,
        size: int,
        etag: str | None,
        retry: RetryPolicy,
        *,
        fallback: Callable[[], SeekableStream],
    ) -> None:
        super().__init__()
        self._transport, self._url, self._size, self._etag = transport, url, size, etag
        self._attempts = retry.attempts
        self._chunks: Iterator[Any] | None = None
        self._pending = memoryview(b"")
        #: makes the s3fs reader that takes over where obstore refuses the server's ranges
        self._fallback = fallback
        self._delegate: SeekableStream | None = None

    def _restart(self) -> None:
        self._drop()

    def _total_size(self) -> int:
        return self._size

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not view.nbytes or self._position >= self._size:
            return 0
        view = view[: self._size - self._position]
        if self._delegate is not None:
            return self._delegated(view)
        for attempt in range(1, self._attempts + 1):
            filled = [0]
            try:
                self._fill(view, filled)
            except RangesRefused:
                self._delegate = self._fallback()
                return self._delegated(view)
            except _OBSTORE_FAILURES as exc:  # the body broke off (opening is translated)
                self._drop()
                if not filled[0]:
                    if attempt < self._attempts:
                        continue  # resume from the same position
                    raise self._transport.map_error(exc, self._url) from None
            self._position += filled[0]
            return filled[0]
        return 0  # unreachable: the last attempt returns or raises

    def _fill(self, view: memoryview, filled: list[int]) -> None:
        if self._chunks is None:
            self._chunks = self._transport.stream(self._url, self._position, self._etag)
        while filled[0] < view.nbytes:
            if not self._pending.nbytes:
                chunk = next(self._chunks, None)
                if chunk is None:  # the response ended: a next read opens another
                    self._chunks = None
                    return
                self._pending = memoryview(chunk).cast("B")
            take = min(self._pending.nbytes, view.nbytes - filled[0])
            view[filled[0] : filled[0] + take] = self._pending[:take]
            self._pending = self._pending[take:]
            filled[0] += take

    def _delegated(self, view: memoryview) -> int:
        assert self._delegate is not None
        self._delegate.seek(self._position)
        count = self._delegate.readinto(view)
        self._position += count
        return count

    def _drop(self) -> None:
        self._chunks, self._pending = None, memoryview(b"")

    def close(self) -> None:
        self._drop()
        if self._delegate is not None:
            self._delegate.close()
        super().close()


class _StaticCredentials:
    """obstore's credential provider for keys and profiles: they never expire."""

    def __init__(self, key_id: str, secret: str, token: str | None) -> None:
        self._frozen = {
            "access_key_id": key_id,
            "secret_access_key": secret,
            "token": token,
            "expires_at": None,
        }

    def __repr__(self) -> str:
        return "_StaticCredentials(<redacted>)"

    def __call__(self) -> dict[str, Any]:
        return self._frozen


class _SessionCredentials:
    """obstore's credential provider for an assumed role or the ambient identity: botocore's
    credentials (refreshed before they expire) asked on s3fs's loop, where they live."""

    def __init__(self, store: S3Store) -> None:
        self._store = store
        self._source: Any = None
        #: why the last call failed: obstore keeps only the text of a provider's exception
        self.failure: OrchestoreError | None = None

    def __repr__(self) -> str:
        return f"_SessionCredentials({self._store.credentials.source})"

    def __call__(self) -> dict[str, Any]:
        from fsspec.asyn import sync

        store = self._store
        try:
            with store.translated(store.endpoint):
                frozen = sync(store.fs.loop, self._frozen)
        except OrchestoreError as error:
            self.failure = error
            raise
        self.failure = None
        return frozen

    async def _frozen(self) -> dict[str, Any]:
        if self._source is None:
            self._source = await self._store._credentials_loader()()
        frozen = await self._source.get_frozen_credentials()
        expiry = getattr(self._source, "_expiry_time", None)
        return {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            "expires_at": _utc(expiry) - _REFRESH_AHEAD if expiry is not None else None,
        }


def _cut_short(exc: BaseException | None) -> bool:
    """Whether a failed GET failed in its body, after a successful response head (a read of
    the rest can resume): s3fs's body errors, or an obstore error with no HTTP status."""
    if exc is None:
        return False
    if isinstance(exc, _OBSTORE_FAILURES):
        code, status = error_code(exc)
        return status is None and not code and "body" in str(exc).lower()
    aiohttp = sys.modules.get("aiohttp")  # s3fs's body errors (imported when s3fs read it)
    if aiohttp is None:
        return isinstance(exc, ConnectionError)
    return isinstance(
        exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError | ConnectionError
    )


@functools.cache
def _stream_errors() -> tuple[type[BaseException], ...]:
    """What an s3fs response body can fail with mid-stream (the reader resumes from there)."""
    import aiohttp
    from botocore.exceptions import BotoCoreError

    return (BotoCoreError, aiohttp.ClientError, TimeoutError, OSError)


async def _fill_from(body: Any, view: memoryview, filled: list[int]) -> None:
    """Read into ``view`` until it is full or the body ends; ``filled`` counts even on error."""
    while filled[0] < view.nbytes:
        count = await body.readinto(view[filled[0] :])
        if not count:
            return
        filled[0] += count


async def _close_body(body: Any) -> None:
    body.close()


async def _nothing() -> None:
    return None


async def _constant(value: Any) -> Any:
    return value


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _find(exc: BaseException | None, kind: type[BaseException]) -> Any:
    """``exc`` or the first of its causes that is a ``kind``."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _spans(size: int, part: int) -> Iterator[str]:
    """``bytes=a-b`` ranges of at most ``part`` bytes covering ``size`` bytes."""
    for start in range(0, size, part):
        yield f"bytes={start}-{min(start + part, size) - 1}"


def _utc(moment: datetime.datetime) -> datetime.datetime:
    """botocore's expiry (dateutil's tzlocal, which obstore cannot convert) in UTC."""
    return moment.astimezone(datetime.UTC)
