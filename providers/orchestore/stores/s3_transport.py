"""The bytes of s3:// objects travel through obstore (Rust object_store); metadata stays on s3fs.

Why: on 2 cores the client's CPU is the throughput. s3fs runs every request through its sync
wrapper onto an aiobotocore loop thread; obstore does the HTTP, signing and multipart work in
Rust without the GIL. Measured on SeaweedFS (benchmarks/RESULTS.md, issue 10): obstore PUTs a
large file at ~2x s3fs's speed with a fifth of its CPU, streams a GET ~2.5x faster, and does
1 KiB PUT/GET at ~2x a reused boto3 client. So reads (whole, ranged, streamed) and writes (one
PUT, or a multipart upload) go here; listing, stat, delete and server-side copies stay on s3fs.

Hermetic like the s3fs session (see s3.py): obstore reads AWS_* variables in every
constructor, so each setting such a variable could change is passed explicitly (an explicit
value wins over the environment), and credentials come only from ``credential_provider``,
which serves the S3Credentials model (no access key, token, web identity, container or
instance-metadata lookup of obstore's own). Where obstore cannot do what botocore does
(transport_refusal: two AWS_* variables no explicit setting overrides, a private CA bundle,
AWS without a region), the store keeps its s3fs path for everything.
Proxy variables (HTTP(S)_PROXY) are honoured, as botocore honours them.
"""

from __future__ import annotations

import contextlib
import os
import re
import ssl
import threading
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import obstore
from obstore.exceptions import BaseError as ObstoreError
from obstore.exceptions import PermissionDeniedError as ObstoreDenied
from obstore.exceptions import PreconditionError, UnauthenticatedError
from obstore.store import S3Store as ObstoreS3

from orchestore.errors import (
    CredentialsError,
    InvalidURLError,
    NotFoundError,
    OrchestoreError,
    StoreUnavailableError,
)
from orchestore.stores.obstore_runtime import mark_used, runtime_usable
from orchestore.stores.retry import RetryPolicy
from orchestore.urls import StoreURL

if TYPE_CHECKING:
    from orchestore.credentials.s3 import S3Credentials

__all__ = [
    "ENVIRONMENT_OVERRIDES_NOTHING",
    "FAILURES",
    "RangesRefused",
    "S3Transport",
    "error_code",
    "runtime_usable",
    "transport_refusal",
]

#: AWS_* variables obstore would apply and no explicit setting can neutralise (both only
#: accept values that change requests: an encryption header, a checksum of every upload)
ENVIRONMENT_OVERRIDES_NOTHING = ("AWS_SERVER_SIDE_ENCRYPTION", "AWS_CHECKSUM_ALGORITHM")
#: bytes a streamed GET hands over at a time (obstore's default, 10 MiB, copies into one
#: buffer first; the reader copies into the caller's buffer anyway)
STREAM_CHUNK = 1024 * 1024
#: a request's whole time is capped at this many read timeouts (a streamed GET cut by it is
#: resumed by the reader; a part of 8 MiB needs 14 KB/s to make it with the default policy)
_REQUEST_TIMEOUT_READS = 10
_CODE = re.compile(r"<Code>([A-Za-z0-9.]+)</Code>")
_STATUS = re.compile(r"status code: (\d{3})")

#: (an S3 error code, or the HTTP status when there is none) -> the orchestore error, or None
CodeMapper = Callable[[str, StoreURL], OrchestoreError | None]
CredentialsCallback = Callable[[], dict[str, Any]]
#: what obstore raises: its own errors, FileNotFoundError for a 404, ValueError for bad ranges
FAILURES = (ObstoreError, FileNotFoundError, ValueError)


def transport_refusal(credentials: S3Credentials, environ: Any = os.environ) -> str | None:
    """Why obstore cannot serve these credentials here (the s3fs path does), or None."""
    if not runtime_usable():
        return "forked from a process that had used obstore (its runtime does not survive fork)"
    found = [name for name in ENVIRONMENT_OVERRIDES_NOTHING if environ.get(name)]
    if found:
        return f"{', '.join(found)} set in the environment (obstore would apply it)"
    if credentials.ca_bundle:
        # rustls refuses certificates OpenSSL accepts (a self-signed CA serving as the
        # server's own certificate: CaUsedAsEndEntity), common with private endpoints
        return "a private CA bundle (ca_bundle)"
    if credentials.endpoint_url is None and credentials.region is None:
        # botocore follows AWS's region redirects; object_store would fail in another region
        return "AWS without a region"
    return None


class S3Transport:
    """obstore clients of one S3Store (one per bucket: obstore binds a client to a bucket)."""

    def __init__(
        self,
        credentials: S3Credentials,
        retry: RetryPolicy,
        *,
        provider: CredentialsCallback | None,
        map_code: CodeMapper,
        pool_size: int,
    ) -> None:
        self._credentials = credentials
        self._retry = retry
        self._provider = provider
        self._map_code = map_code
        self._pool_size = pool_size
        self._clients: dict[str, ObstoreS3] = {}
        self._lock = threading.Lock()
        #: the endpoint answered a ranged GET with 200 (see _check_partial)
        self.ranges_refused = False

    # -- clients --------------------------------------------------------------------------------
    def client(self, bucket: str) -> ObstoreS3:
        """The bucket's client, built once (they share the credential provider)."""
        client = self._clients.get(bucket)
        if client is None:
            with self._lock:
                client = self._clients.get(bucket)
                if client is None:
                    client = self._clients[bucket] = self._build(bucket)
        return client

    def _build(self, bucket: str) -> ObstoreS3:
        mark_used()
        credentials = self._credentials
        region = credentials.region or "us-east-1"
        if credentials.endpoint_url:
            endpoint, virtual = credentials.endpoint_url, False  # botocore's style for endpoints
        else:
            endpoint, virtual = f"https://{bucket}.s3.{region}.amazonaws.com", True
        config: dict[str, Any] = {
            # every key an AWS_* variable could set to another value, set explicitly
            "endpoint": endpoint,
            "aws_endpoint_url_s3": endpoint,  # this variable wins over "endpoint" otherwise
            "region": region,
            "default_region": region,
            "virtual_hosted_style_request": virtual,
            "skip_signature": credentials.anonymous,
            "unsigned_payload": False,
            "request_payer": False,
            "s3_express": False,
            "disable_tagging": True,
        }
        return ObstoreS3(
            bucket,
            config=config,  # type: ignore[arg-type]
            client_options=self._client_options(endpoint),  # type: ignore[arg-type]
            retry_config=self._retry_config(),
            credential_provider=None if credentials.anonymous else self._provider,  # type: ignore[arg-type]
        )

    def _client_options(self, endpoint: str) -> dict[str, Any]:
        credentials, retry = self._credentials, self._retry
        options: dict[str, Any] = {
            "allow_http": endpoint.startswith("http://"),
            "allow_invalid_certificates": not credentials.verify_ssl,
            "connect_timeout": timedelta(seconds=retry.connect_timeout),
            "read_timeout": timedelta(seconds=retry.read_timeout),
            "timeout": timedelta(seconds=max(60.0, _REQUEST_TIMEOUT_READS * retry.read_timeout)),
            "pool_max_idle_per_host": str(self._pool_size),
            "http1_only": True,
            "http2_only": False,
            "user_agent": "orchestore",
            "default_content_type": "binary/octet-stream",  # what S3 stores when none is sent
        }
        return options  # no ca_bundle here: transport_refusal keeps those on s3fs

    def _retry_config(self) -> Any:
        retry = self._retry
        return {
            "max_retries": retry.attempts - 1,
            "backoff": {
                "init_backoff": timedelta(seconds=max(retry.backoff, 0.001)),
                "max_backoff": timedelta(seconds=max(retry.max_backoff, 0.001)),
                "base": 2,
            },
            "retry_timeout": timedelta(seconds=retry.worst_case_seconds),
        }

    # -- reads ----------------------------------------------------------------------------------
    def head(self, url: StoreURL) -> dict[str, Any]:
        """Size and ETag of an object (obstore's ObjectMeta)."""
        client = self.client(url.bucket)
        try:
            return dict(obstore.head(client, url.path))
        except FAILURES as exc:
            code = None
            if error_code(exc) == ("", "403"):  # a HEAD answer has no body to say why
                code = self._forbidden_code(client, url)
            raise self.map_error(exc, url, code=code) from None

    def stat(self, url: StoreURL) -> tuple[dict[str, Any], dict[str, Any]]:
        """An object's meta (size, ETag, modification time) and attributes (content type)."""
        client = self.client(url.bucket)
        try:
            result = obstore.get(client, url.path, options={"head": True})
        except FAILURES as exc:
            code = None
            if error_code(exc) == ("", "403"):
                code = self._forbidden_code(client, url)
            raise self.map_error(exc, url, code=code) from None
        return dict(result.meta), dict(result.attributes)

    def head_headers(self, url: StoreURL) -> dict[str, str]:
        """Every header of a HEAD answer, lower-cased: obstore's own answers drop the
        encryption headers, so obstore signs the request and urllib sends it (raises
        OSError or obstore's errors; the caller falls back to s3fs)."""
        signed = obstore.sign(self.client(url.bucket), "HEAD", url.path, timedelta(minutes=5))
        context = None
        if signed.startswith("https://") and not self._credentials.verify_ssl:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        request = urllib.request.Request(signed, method="HEAD")  # noqa: S310 - our endpoint
        timeout = self._retry.connect_timeout + self._retry.read_timeout
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:  # noqa: S310
            return {name.lower(): value for name, value in answer.headers.items()}

    def _forbidden_code(self, client: ObstoreS3, url: StoreURL) -> str | None:
        """Why a HEAD was refused: a one-byte GET answers with the code."""
        try:
            obstore.get_range(client, url.path, start=0, length=1)
        except FAILURES as exc:
            return error_code(exc)[0] or None
        return None

    def read(self, url: StoreURL, offset: int, size: int | None) -> bytes:
        """Bytes ``[offset, offset + size)`` in one GET (the whole object: no Range header);
        nothing from a range that starts at or past the end (as s3fs's reads did)."""
        if size == 0:
            return b""
        client = self.client(url.bucket)
        try:
            if size is not None:
                data = obstore.get_range(client, url.path, start=offset, length=size)
            elif offset:
                data = obstore.get(client, url.path, options={"range": {"offset": offset}}).bytes()
            else:
                data = obstore.get(client, url.path).bytes()
        except FAILURES as exc:
            if offset and error_code(exc)[0] == "InvalidRange":
                return b""
            self._check_partial(exc)
            raise self.map_error(exc, url) from None
        return bytes(data)

    def stream(self, url: StoreURL, position: int, etag: str | None) -> Iterator[Any]:
        """The object's bytes from ``position`` as buffers, pinned to ``etag`` when given.

        Opening is translated here (obstore retried it); what the returned iterator raises
        is obstore's own error: the reader decides whether to resume."""
        options: dict[str, Any] = {"range": {"offset": position}}
        if etag:
            options["if_match"] = etag
        try:
            result = obstore.get(self.client(url.bucket), url.path, options=options)  # type: ignore[arg-type]
        except FAILURES as exc:
            self._check_partial(exc)
            raise self.map_error(exc, url) from None
        return iter(result.stream(min_chunk_size=STREAM_CHUNK))

    def _check_partial(self, exc: BaseException) -> None:
        """Some servers answer a ranged GET with 200 and the range (rclone serve s3; botocore
        takes it, obstore refuses it): remember, and let the store read ranges through s3fs."""
        if "non-partial response" in str(exc):
            self.ranges_refused = True
            raise RangesRefused(str(self._credentials.endpoint_url)) from None

    # -- writes ---------------------------------------------------------------------------------
    def put(self, url: StoreURL, data: Any, content_type: str | None) -> str | None:
        """One PutObject (atomic by itself); the ETag."""
        with self.translated(url):
            done = obstore.put(
                self.client(url.bucket),
                url.path,
                data,
                attributes=_attributes(content_type),
                use_multipart=False,
            )
        return done.get("e_tag")

    def put_parts(
        self,
        url: StoreURL,
        parts: Iterator[Any],
        *,
        content_type: str | None,
        part_size: int,
        parallel: int,
    ) -> str | None:
        """A multipart upload of ``parts`` (re-cut into ``part_size`` parts, ``parallel`` in
        flight); if ``parts`` raises or a request fails, obstore aborts the upload."""
        with self.translated(url):
            done = obstore.put(
                self.client(url.bucket),
                url.path,
                parts,
                attributes=_attributes(content_type),
                use_multipart=True,
                chunk_size=part_size,
                max_concurrency=parallel,
            )
        return done.get("e_tag")

    # -- errors ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def translated(self, url: StoreURL) -> Iterator[None]:
        """obstore's errors as orchestore's, naming the URL; never obstore's text (it quotes
        request URLs and server bodies)."""
        try:
            yield
        except OrchestoreError:
            raise
        except FAILURES as exc:
            raise self.map_error(exc, url) from None

    def map_error(
        self, exc: BaseException, url: StoreURL, *, code: str | None = None
    ) -> OrchestoreError:
        """The orchestore error for an obstore failure (``code``: the S3 error code when the
        caller learnt it another way)."""
        found, status = error_code(exc)
        code = code or found
        where = url.display()
        failure = getattr(self._provider, "failure", None)
        if isinstance(exc, UnauthenticatedError) and failure is not None:
            return failure  # the credential provider failed: its error says why (and where)
        mapped = self._map_code(code or status or "", url)
        if mapped is not None:
            return mapped
        if "certificate" in str(exc).lower():
            return CredentialsError(
                "TLS certificate verification failed; set ca_bundle, or verify_ssl=False for a "
                "test endpoint",
                url=where,
            )
        if isinstance(exc, FileNotFoundError):
            return NotFoundError("no such object", url=where)
        if isinstance(exc, PreconditionError):
            return StoreUnavailableError(
                "the object changed while it was being read; read it again", url=where
            )
        if isinstance(exc, ValueError) and not isinstance(exc, ObstoreError):
            return InvalidURLError("the request was refused by the client", url=where)
        endpoint = self._credentials.endpoint_url or "AWS S3"
        if status is None and not isinstance(exc, ObstoreDenied | UnauthenticatedError):
            return StoreUnavailableError(
                f"cannot reach {endpoint}: {_reason(exc)} (gave up after at most "
                f"{self._retry.attempts} attempts)",
                url=where,
            )
        return StoreUnavailableError(
            f"s3 request failed: HTTP {status or '?'} {code or type(exc).__name__}", url=where
        )


class RangesRefused(Exception):
    """The endpoint's ranged GETs are not 206 responses: read ranges through s3fs instead."""


def error_code(exc: BaseException) -> tuple[str, str | None]:
    """The S3 error code (``NoSuchBucket``) and HTTP status quoted in an obstore error."""
    text = str(exc)
    code = _CODE.search(text)
    status = _STATUS.search(text)
    return (code.group(1) if code else ""), (status.group(1) if status else None)


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "timed out" in text or "timeout" in text.lower():
        return "timed out"
    if "error sending request" in text or "connect" in text.lower():
        return "connection failed"
    return type(exc).__name__


def _attributes(content_type: str | None) -> Any:
    return {"Content-Type": content_type} if content_type else None
