"""Putting an artifact's bytes into the artifact root, content-addressed.

The target path is ``<root>/<project>/<key>/<sha256><suffix>``: identical content maps to one
object, which is written once (a second log of the same bytes finds it and skips the upload).
Bytes are hashed and copied in chunks, so a large local file never sits in memory.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from orchestore import dataframes
from orchestore.credentials.base import CredentialsModel
from orchestore.errors import CredentialsError
from orchestore.items import get_dataitem
from orchestore.stores.base import COPY_CHUNK
from orchestore.urls import parse_url

__all__ = ["ROOT_ENV", "Content", "artifact_root", "bare_target", "store_content"]

#: the environment variable naming the default artifact root (any store URL or a local path)
ROOT_ENV: Final = "ORCHESTORE_ARTIFACT_ROOT"
_SUFFIX_OF_FORMAT: Final = {
    "csv": ".csv",
    "json": ".json",
    "ndjson": ".ndjson",
    "parquet": ".parquet",
}


@dataclass(frozen=True, slots=True)
class Content:
    """Where the bytes went, and what they are."""

    target: str
    size: int
    sha256: str
    written: bool


def artifact_root(root: str | None) -> str:
    """``root``, else ``ORCHESTORE_ARTIFACT_ROOT``, else ``~/.orchestore/artifacts``."""
    chosen = root or os.environ.get(ROOT_ENV) or str(Path.home() / ".orchestore" / "artifacts")
    if "://" not in chosen:
        chosen = os.path.abspath(os.path.expanduser(chosen))
    return chosen.rstrip("/")


def bare_target(url: str) -> str:
    """The URL to record: one carrying a secret in its query is refused, not recorded."""
    parsed = parse_url(url)
    if parsed.display() != str(parsed):
        raise CredentialsError(
            "a catalog records URLs without credentials: this URL carries a signature or token "
            "in its query; pass the store's credentials with credentials= instead",
            url=parsed.display(),
        )
    return str(parsed)


def suffix_for(key: str, fmt: str | None, local_path: str | None) -> str:
    """The target's suffix: from the format, else the local file's, else the key's."""
    if fmt:
        return _SUFFIX_OF_FORMAT.get(fmt.lower(), f".{fmt.lower().lstrip('.')}")
    for name in (local_path or "", key):
        suffix = Path(name).suffix
        if suffix:
            return suffix.lower()
    return ""


def store_content(
    root: str,
    project: str,
    key: str,
    suffix: str,
    source: bytes | str,
    credentials: CredentialsModel | dict[str, Any] | None,
) -> Content:
    """Write ``source`` (bytes, or a local file path as str) below ``root``, unless present."""
    digest, size = _digest(source)
    target = f"{root}/{project}/{key}/{digest}{suffix}"
    item = get_dataitem(target, credentials)
    if item.exists():
        return Content(bare_target(target), size, digest, written=False)
    if isinstance(source, bytes):
        item.put(source)
    else:
        item.upload(source)
    return Content(bare_target(target), size, digest, written=True)


@contextmanager
def dataframe_file(df: Any, fmt: str) -> Iterator[str]:
    """A temporary local file holding ``df`` in ``fmt``, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="orchestore-df-") as folder:
        path = os.path.join(folder, f"data{_SUFFIX_OF_FORMAT.get(fmt, '')}")
        with open(path, "wb") as handle:
            dataframes.write_dataframe(df, handle, fmt)
        yield path


def _digest(source: bytes | str) -> tuple[str, int]:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest(), len(source)
    hasher, size = hashlib.sha256(), 0
    with open(source, "rb") as handle:
        while chunk := handle.read(COPY_CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size
