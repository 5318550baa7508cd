"""One error tree for every store, so callers catch by meaning, not by SDK.

::

    OrchestoreError
    ├── InvalidURLError            (also ValueError)     the URL names no place we can reach
    ├── NotFoundError              (also FileNotFoundError)
    ├── PermissionDeniedError      (also PermissionError) the store or the sandbox said no
    ├── UnsupportedOperationError  the store cannot do this (listing over HTTP, append on S3)
    │   └── ReadOnlyStoreError     any write to a read-only store (http, https)
    ├── AlreadyExistsError         (also FileExistsError) the target exists, overwrite=False
    ├── ChecksumMismatchError      a copy's bytes differ from the source's (target removed)
    ├── CredentialsError           credentials missing, malformed or refused
    ├── StoreUnavailableError      (also ConnectionError) unreachable, timed out, 5xx, truncated
    │   └── VaultUnavailableError  Vault unreachable or sealed: never a reason to try elsewhere
    └── MissingDependencyError     (also ImportError) the store's extra is not installed

Each store translates its SDK's errors into these in one place. Messages name the URL with
credentials stripped and what was wrong; they never carry a secret's value.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "ChecksumMismatchError",
    "CredentialsError",
    "InvalidURLError",
    "MissingDependencyError",
    "NotFoundError",
    "OrchestoreError",
    "PermissionDeniedError",
    "ReadOnlyStoreError",
    "StoreUnavailableError",
    "UnsupportedOperationError",
    "VaultUnavailableError",
]


class OrchestoreError(Exception):
    """Root of every error orchestore raises on purpose.

    ``url`` is the display form of the URL involved (credentials and signatures stripped), or
    None when the error is not about one URL.
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        self.message = message
        super().__init__(f"{url}: {message}" if url else message)

    def __str__(self) -> str:
        return f"{self.url}: {self.message}" if self.url else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Airflow and Prefect pickle exceptions across processes; keep the fields intact.
        return (_restore, (type(self), self.message, self.url, dict(self.__dict__)))


def _restore(
    cls: type[OrchestoreError], message: str, url: str | None, state: dict[str, object]
) -> OrchestoreError:
    error = cls.__new__(cls)
    OrchestoreError.__init__(error, message, url=url)
    error.__dict__.update(state)
    return error


class InvalidURLError(OrchestoreError, ValueError):
    """The URL is malformed; the message names the offending part."""


class NotFoundError(OrchestoreError, FileNotFoundError):
    """The object, folder, bucket or container does not exist."""


class PermissionDeniedError(OrchestoreError, PermissionError):
    """Access refused by the store, or a path outside a sandboxed file store's root."""


class UnsupportedOperationError(OrchestoreError):
    """The store cannot perform this operation."""


class ReadOnlyStoreError(UnsupportedOperationError):
    """A write, append or delete was attempted on a read-only store."""


class AlreadyExistsError(OrchestoreError, FileExistsError):
    """The target object exists and the operation was told not to overwrite it."""


class ChecksumMismatchError(OrchestoreError):
    """The copied bytes' digest differs from what the target reports; the target was removed.

    ``algorithm`` names the digest compared (e.g. ``md5``); ``expected`` and ``actual`` are its
    values (digests of data, never secrets).
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        algorithm: str | None = None,
        expected: str | None = None,
        actual: str | None = None,
    ) -> None:
        self.algorithm, self.expected, self.actual = algorithm, expected, actual
        super().__init__(message, url=url)


class CredentialsError(OrchestoreError):
    """Credentials are missing, malformed, contradictory or were refused."""


class StoreUnavailableError(OrchestoreError, ConnectionError):
    """The store could not be reached or failed mid-transfer; retrying may help."""


class VaultUnavailableError(StoreUnavailableError):
    """Vault did not answer (down, sealed, timed out); credentials fail closed."""


class MissingDependencyError(OrchestoreError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, what: str, *, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{what} needs the '{extra}' extra: pip install 'orchestore[{extra}]'")
