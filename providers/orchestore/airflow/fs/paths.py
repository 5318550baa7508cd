"""universal-pathlib classes for v3io(s)://, so ObjectStoragePath has no fallback warning.

Without a registered implementation universal-pathlib warns "filesystem not explicitly
implemented" for every ``v3io://`` path, and a DAG that builds one at parse time shows that
as a DAG warning. V3ioPath is the plain UPath subclass the fallback would build, registered
by name; ``orchestore.airflow`` registers it on import. universal-pathlib derives a path's
flavour (``str(path)``) from the fsspec class, which must then be imported already: cheap
for v3io, not for ``store://`` (the catalog imports SQLAlchemy), so store:// paths keep the
fallback and its warning until a ``universal_pathlib.implementations`` entry point exists.
"""

from __future__ import annotations

from typing import Final

import fsspec
from upath import UPath
from upath.registry import available_implementations, register_implementation

__all__ = ["UPATH_IMPLEMENTATIONS", "ArtifactPath", "V3ioPath", "register_upath_implementations"]

#: protocol -> the class universal-pathlib imports for it (by name: no import until used)
UPATH_IMPLEMENTATIONS: Final = {
    "v3io": "orchestore.airflow.fs.paths.V3ioPath",
    "v3ios": "orchestore.airflow.fs.paths.V3ioPath",
}


class V3ioPath(UPath):
    """``v3io:///container/key`` and ``v3ios://host/container/key`` (V3ioFileSystem)."""


class ArtifactPath(UPath):
    """``store://<kind>/<project>/<key>``: the read-only artifact catalog."""


def register_upath_implementations() -> None:
    """Register our classes for the protocols nobody registered yet (idempotent)."""
    known = set(available_implementations(fallback=False))
    for protocol, class_name in UPATH_IMPLEMENTATIONS.items():
        if protocol not in known:
            fsspec.get_filesystem_class(protocol)  # the flavour comes from the loaded class
            register_implementation(protocol, class_name)
