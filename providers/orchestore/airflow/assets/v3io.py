"""Asset URIs ``v3io:///container/path`` and ``v3ios://host[:port]/container/path``.

``v3io:///container/path`` becomes MLRun's short form ``v3io://container/path``, so both
spellings are one asset (and the form survives ``urlunsplit``, which drops an empty ``//``).
A URI without a container, with a query, with ``.``/``..`` segments, or that the core URL
parser rejects is a ValueError.
"""

from __future__ import annotations

from urllib.parse import SplitResult

from orchestore.errors import InvalidURLError
from orchestore.urls import parse_url

__all__ = ["normalize"]


def normalize(parts: SplitResult) -> SplitResult:
    """The canonical form of a v3io asset URI; ValueError when it names no object or folder."""
    text = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if parts.query:
        raise ValueError(f"a v3io asset URI takes no query: {text}?{parts.query}")
    try:
        url = parse_url(text)
    except InvalidURLError as exc:
        raise ValueError(f"not a v3io asset URI: {exc.message}") from None
    if any(part in (".", "..") for part in url.path.split("/")):
        raise ValueError(f"a v3io asset URI may not contain '.' or '..' segments: {text}")
    if not url.bucket:
        raise ValueError(f"a v3io asset URI needs a container: {text}")
    key = "/" + url.path.strip("/") if url.path.strip("/") else ""
    if url.host:
        netloc = url.host + (f":{url.port}" if url.port else "")
        return SplitResult(parts.scheme, netloc, f"/{url.bucket}{key}", "", "")
    return SplitResult(parts.scheme, url.bucket, key, "", "")
