"""Parse every scheme's URL into one typed, immutable StoreURL.

Parsing is pure (no I/O, no credentials) and strict: a URL that would reach the wrong place
fails here with an InvalidURLError naming the offending part, before any store is built.

Decisions worth knowing:
- Keys are taken literally: no percent-decoding, and ``?``/``#`` are part of object keys
  (only http(s) URLs have a query; only store:// gives ``#`` a meaning).
- Credentials are never accepted inside a URL (``s3://KEY:SECRET@bucket``); they come from
  connections, blocks or Vault. The error does not echo them.
- ``v3io://name/path``: ``name`` is a remote web-API host when it looks like one (has a dot or a
  port, or is ``localhost``); otherwise it is the container, as MLRun rewrites
  ``v3io://container/path`` to ``v3io:///container/path``.
- Leading or trailing whitespace and control characters are rejected: they come from templating
  mistakes far more often than from real keys.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Final

from orchestore.errors import InvalidURLError

__all__ = ["ARTIFACT_KINDS", "SCHEMES", "ArtifactRef", "StoreURL", "parse_url", "redact_url"]

#: scheme as written -> the store family that serves it
SCHEMES: Final[dict[str, str]] = {
    "": "file",
    "abfs": "azure",
    "abfss": "azure",
    "az": "azure",
    "file": "file",
    "gcs": "gcs",
    "gs": "gcs",
    "http": "http",
    "https": "http",
    "memory": "memory",
    "s3": "s3",
    "store": "store",
    "v3io": "v3io",
    "v3ios": "v3io",
    "wasb": "azure",
    "wasbs": "azure",
}
_BUCKET_FAMILIES: Final = {
    "s3": "bucket",
    "gcs": "bucket",
    "azure": "container",
    "v3io": "container",
}
ARTIFACT_KINDS: Final = ("artifacts", "datasets", "models")

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_BUCKET_RE = re.compile(r"^[A-Za-z0-9$][A-Za-z0-9._$-]{0,254}$")
_HOST_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)$")
_PROJECT_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_UID_RE = re.compile(r"^[A-Za-z0-9]+$")
_STORE_REF_RE = re.compile(
    r"^(?P<key>[^#:@^]*)(?:#(?P<iter>[^:@^]*))?(?::(?P<tag>[^@^]*))?"
    r"(?:@(?P<tree>[^^]*))?(?:\^(?P<uid>.*))?$"
)
# Query parameters that carry signatures or tokens (presigned S3/GCS URLs, Azure SAS, API keys).
_SECRET_QUERY_KEYS: Final = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "code",
        "key",
        "password",
        "secret",
        "sig",
        "signature",
        "token",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-signature",
        "x-goog-credential",
        "x-goog-signature",
    }
)
_REDACTED: Final = "***"


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """A ``store://[<kind>/]<project>/<key>[#iter][:tag][@tree][^uid]`` reference (MLRun's)."""

    project: str
    key: str
    kind: str = "artifacts"
    iteration: int | None = None
    tag: str | None = None
    tree: str | None = None
    uid: str | None = None

    def __str__(self) -> str:
        text = f"store://{self.kind}/{self.project}/{self.key}"
        if self.iteration is not None:
            text += f"#{self.iteration}"
        if self.tag is not None:
            text += f":{self.tag}"
        if self.tree is not None:
            text += f"@{self.tree}"
        if self.uid is not None:
            text += f"^{self.uid}"
        return text


@dataclass(frozen=True, slots=True)
class StoreURL:
    """One parsed URL of any scheme.

    ``bucket`` is the S3/GCS bucket, Azure or v3io container; ``path`` is the object key
    (no leading slash) for bucket stores, the file path for file stores, the request path for
    http(s) and the key for memory://. ``host``/``port`` are the endpoint where the URL names
    one (http(s), a remote v3io web API, an Azure account host).
    """

    scheme: str
    path: str = ""
    bucket: str = ""
    host: str = ""
    port: int | None = None
    query: str = ""
    artifact: ArtifactRef | None = field(default=None)

    @property
    def family(self) -> str:
        """The store family serving this URL: file, http, s3, azure, gcs, v3io, store, memory."""
        return SCHEMES[self.scheme]

    @property
    def key(self) -> str:
        """The object key within its bucket or container (the path for other stores)."""
        return self.path

    @property
    def endpoint(self) -> str:
        """``host[:port]`` where the URL names one, else an empty string."""
        return f"{self.host}:{self.port}" if self.port is not None else self.host

    @property
    def name(self) -> str:
        """The last path segment (``data.csv``), empty for a folder URL."""
        if self.artifact is not None:
            return self.artifact.key
        return self.path.rstrip("/").rsplit("/", 1)[-1] if not self.path.endswith("/") else ""

    @property
    def suffix(self) -> str:
        """The file extension including the dot, lower-cased (``.csv``), or ``""``."""
        name = self.name
        dot = name.rfind(".")
        return name[dot:].lower() if dot > 0 else ""

    def child(self, name: str) -> StoreURL:
        """The URL of ``name`` inside this folder URL."""
        base = self.path if (not self.path or self.path.endswith("/")) else self.path + "/"
        return replace(self, path=base + name.lstrip("/"), query="")

    def with_path(self, path: str) -> StoreURL:
        """The same store and bucket with another path."""
        return replace(self, path=path, query="")

    def __str__(self) -> str:
        return self._format(self.query)

    def display(self) -> str:
        """The URL for messages and logs: signature and token query values replaced by ***."""
        return self._format(_redact_query(self.query))

    def _format(self, query: str) -> str:
        family = self.family
        if self.artifact is not None:
            return str(self.artifact)
        if self.scheme == "":
            return self.path
        if family == "file":
            return f"file://{self.path}"
        if family == "memory":
            return f"memory://{self.path}"
        netloc = self.endpoint
        if family == "http":
            return f"{self.scheme}://{netloc}{self.path}" + (f"?{query}" if query else "")
        bucket_at_host = f"{self.bucket}@{netloc}" if netloc else self.bucket
        if family == "v3io":
            prefix = f"{self.scheme}://{netloc}/{self.bucket}"
        else:
            prefix = f"{self.scheme}://{bucket_at_host}"
        return f"{prefix}/{self.path}"


def parse_url(url: str | os.PathLike[str] | StoreURL) -> StoreURL:
    """Parse ``url`` into a StoreURL, or raise InvalidURLError naming what is wrong."""
    if isinstance(url, StoreURL):
        return url
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not isinstance(url, str):
        raise TypeError(f"a URL must be a str or os.PathLike, not {type(url).__name__}")
    _check_text(url)
    match = _SCHEME_RE.match(url)
    if match is None:
        return StoreURL(scheme="", path=url)
    scheme = match.group(1).lower()
    if scheme not in SCHEMES:
        supported = ", ".join(f"{name}://" for name in sorted(SCHEMES) if name)
        raise InvalidURLError(
            f"unknown scheme '{scheme}'; supported: {supported} and plain paths",
            url=redact_url(url),
        )
    rest = url[match.end() :]
    if not rest.startswith("//"):
        raise InvalidURLError(f"expected '{scheme}://' after the scheme", url=redact_url(url))
    return _PARSERS[SCHEMES[scheme]](scheme, rest[2:], url)


def _check_text(url: str) -> None:
    if not url:
        raise InvalidURLError("the URL is empty")
    if url != url.strip():
        raise InvalidURLError("the URL has leading or trailing whitespace", url=redact_url(url))
    if _CONTROL_RE.search(url):
        raise InvalidURLError("the URL contains a control character", url=redact_url(url))


def _split_netloc(rest: str) -> tuple[str, str]:
    netloc, slash, path = rest.partition("/")
    return netloc, path if slash else ""


def _reject_userinfo(userinfo: str, url: str) -> None:
    if userinfo:
        raise InvalidURLError(
            "credentials embedded in the URL are not accepted; put them in a connection, "
            "a block or Vault",
            url=redact_url(url),
        )


def _split_host_port(hostport: str, url: str) -> tuple[str, int | None]:
    host, port_text = hostport, ""
    if hostport.startswith("["):
        end = hostport.find("]")
        host, port_text = hostport[: end + 1], hostport[end + 1 :].removeprefix(":")
    elif ":" in hostport:
        host, _, port_text = hostport.rpartition(":")
    if not host or not _HOST_RE.match(host):
        raise InvalidURLError(f"invalid host '{host}'", url=redact_url(url))
    if ":" in hostport and not hostport.endswith("]"):
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InvalidURLError(f"invalid port '{port_text}'", url=redact_url(url))
        return host.lower(), int(port_text)
    return host.lower(), None


def _parse_file(scheme: str, rest: str, url: str) -> StoreURL:
    netloc, _ = _split_netloc(rest)
    if netloc not in ("", "localhost"):
        raise InvalidURLError(
            f"file:// URLs name local paths; remote host '{netloc}' is not supported "
            "(use file:///absolute/path)",
            url=redact_url(url),
        )
    path = rest[len(netloc) :]
    if not path.startswith("/"):
        raise InvalidURLError("a file:// URL needs an absolute path: file:///abs/path", url=url)
    return StoreURL(scheme=scheme, path=path)


def _parse_http(scheme: str, rest: str, url: str) -> StoreURL:
    authority_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, remainder = rest[:authority_end], rest[authority_end:]
    userinfo, _, hostport = netloc.rpartition("@")
    _reject_userinfo(userinfo or ("@" if "@" in netloc else ""), url)
    if not hostport:
        raise InvalidURLError("missing host", url=redact_url(url))
    host, port = _split_host_port(hostport, url)
    remainder = remainder.partition("#")[0]
    path, _, query = remainder.partition("?")
    return StoreURL(scheme=scheme, host=host, port=port, path=path, query=query)


def _parse_bucket_store(scheme: str, rest: str, url: str) -> StoreURL:
    family = SCHEMES[scheme]
    netloc, path = _split_netloc(rest)
    host = ""
    port: int | None = None
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if family != "azure" or ":" in userinfo or not hostport:
            _reject_userinfo(userinfo or "@", url)
        # abfs(s)/wasb(s)://container@account.dfs.core.windows.net/path, as Azure docs write it
        netloc = userinfo
        host, port = _split_host_port(hostport, url)
    if family == "v3io":
        if _looks_like_host(netloc):
            host, port = _split_host_port(netloc, url)
            netloc, path = _split_netloc(path)
        elif netloc == "":
            netloc, path = _split_netloc(path)
    part = _BUCKET_FAMILIES[family]
    if not netloc:
        raise InvalidURLError(f"missing {part}: expected {scheme}://<{part}>/<key>", url=url)
    if not _BUCKET_RE.match(netloc):
        raise InvalidURLError(f"invalid {part} name '{netloc}'", url=redact_url(url))
    return StoreURL(scheme=scheme, bucket=netloc, path=path, host=host, port=port)


def _looks_like_host(netloc: str) -> bool:
    return "." in netloc or ":" in netloc or netloc.lower() == "localhost"


def _parse_memory(scheme: str, rest: str, url: str) -> StoreURL:
    if not rest.strip("/"):
        raise InvalidURLError("missing key: expected memory://<key>", url=url)
    return StoreURL(scheme=scheme, path=rest)


def _parse_store(scheme: str, rest: str, url: str) -> StoreURL:
    form = "store://[<kind>/]<project>/<key>[#iter][:tag][@tree][^uid]"
    segments = rest.split("/")
    if len(segments) == 3:
        kind, project, reference = segments
        if kind not in ARTIFACT_KINDS:
            raise InvalidURLError(
                f"unknown artifact kind '{kind}'; expected one of {', '.join(ARTIFACT_KINDS)}",
                url=url,
            )
        if not reference and _PROJECT_RE.match(project):
            # store://<kind>/<project>/ is the project's folder: listing it lists the keys
            return StoreURL(scheme=scheme, artifact=ArtifactRef(project=project, key="", kind=kind))
    elif len(segments) == 2:
        kind, (project, reference) = "artifacts", segments
    else:
        raise InvalidURLError(f"malformed store:// reference: expected {form}", url=url)
    if not _PROJECT_RE.match(project):
        raise InvalidURLError(
            f"invalid project '{project}': lower-case letters, digits and '-', at most 63",
            url=url,
        )
    match = _STORE_REF_RE.match(reference)
    if match is None:
        raise InvalidURLError(f"malformed store:// reference: expected {form}", url=url)
    parts = match.groupdict()
    if not parts["key"] or not _NAME_RE.match(parts["key"]):
        raise InvalidURLError(f"invalid or empty key '{parts['key']}' in {form}", url=url)
    iteration = parts["iter"]
    if iteration is not None and not iteration.isdigit():
        raise InvalidURLError(f"invalid iter '#{iteration}': must be a number", url=url)
    for label, pattern in (("tag", _NAME_RE), ("tree", _NAME_RE), ("uid", _UID_RE)):
        value = parts[label]
        if value is not None and not pattern.match(value):
            raise InvalidURLError(f"invalid {label} '{value}'", url=url)
    artifact = ArtifactRef(
        project=project,
        key=parts["key"],
        kind=kind,
        iteration=int(iteration) if iteration is not None else None,
        tag=parts["tag"],
        tree=parts["tree"],
        uid=parts["uid"],
    )
    return StoreURL(scheme=scheme, artifact=artifact)


_PARSERS: Final = {
    "azure": _parse_bucket_store,
    "file": _parse_file,
    "gcs": _parse_bucket_store,
    "http": _parse_http,
    "memory": _parse_memory,
    "s3": _parse_bucket_store,
    "store": _parse_store,
    "v3io": _parse_bucket_store,
}


def _redact_query(query: str) -> str:
    if not query:
        return query
    pairs = []
    for pair in query.split("&"):
        name, equals, _ = pair.partition("=")
        secret = name.lower() in _SECRET_QUERY_KEYS
        pairs.append(f"{name}={_REDACTED}" if equals and secret else pair)
    return "&".join(pairs)


def redact_url(raw: str) -> str:
    """A raw (possibly invalid) URL made safe for a message: no userinfo, no secret query."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*@)?(.*)$", raw)
    if match is None:
        return raw
    scheme, userinfo, rest = match.groups()
    rest, question, query = rest.partition("?")
    text = scheme + (f"{_REDACTED}@" if userinfo else "") + rest
    return text + (f"?{_redact_query(query)}" if question else "")
