"""Asset URIs ``store://[<kind>/]<project>/<key>[:tag]``: the catalog's artifacts.

The kind defaults to ``artifacts`` (``store://proj/key`` is ``store://artifacts/proj/key``),
and a tag, when given, is kept: ``:latest`` and ``:v2`` are different assets. A URI without a
project and key, with a query, or with an invalid project name is a ValueError.
"""

from __future__ import annotations

from urllib.parse import SplitResult

from orchestore.errors import InvalidURLError
from orchestore.urls import ARTIFACT_KINDS, parse_url

__all__ = ["normalize"]


def normalize(parts: SplitResult) -> SplitResult:
    """The canonical form of a store:// asset URI; ValueError when it names no artifact."""
    text = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if parts.netloc in ARTIFACT_KINDS and parts.path.strip("/").count("/") == 0:
        # Airflow strips the trailing slash first, so store://artifacts/<project>/ (a folder)
        # arrives as store://artifacts/<project>: refuse it rather than read a project key.
        raise ValueError(
            f"a store:// asset URI needs <kind>/<project>/<key>; {text} names a project folder"
        )
    if parts.query:
        raise ValueError(f"a store:// asset URI takes no query: {text}?{parts.query}")
    try:
        ref = parse_url(text).artifact
    except InvalidURLError as exc:
        raise ValueError(f"not a store:// asset URI: {exc.message}") from None
    if ref is None or not ref.key:
        raise ValueError(f"a store:// asset URI needs <project>/<key>: {text}")
    canonical = str(ref)
    _, _, rest = canonical.partition("://")
    netloc, _, path = rest.partition("/")
    return SplitResult("store", netloc, "/" + path, "", "")
