"""DataFrame reading and writing for DataItem.as_df / write_df: csv, parquet, json, ndjson.

pandas (and pyarrow for parquet) are an optional extra, imported only here and only when a
DataFrame is asked for; their absence is a MissingDependencyError naming the extra.
Defaults chosen for round trips: csv and json are written without the index; json is
``orient="records"`` (a list of row objects), ndjson is one such object per line.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import IO, Any, Final

from orchestore.errors import MissingDependencyError, UnsupportedOperationError

__all__ = ["FORMATS", "format_for", "read_dataframe", "write_dataframe"]

#: file suffix -> format name
FORMATS: Final[dict[str, str]] = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "ndjson",
    ".ndjson": "ndjson",
    ".parq": "parquet",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_NAMES: Final = frozenset(FORMATS.values())


def pandas() -> ModuleType:
    """The pandas module, or MissingDependencyError naming the extra."""
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise MissingDependencyError("DataFrame support", extra="pandas") from None


def format_for(suffix: str, given: str | None, url: str) -> str:
    """The format to use: ``given`` when set, else the one the URL's suffix implies."""
    if given is not None:
        if given not in _NAMES:
            raise ValueError(
                f"unknown DataFrame format {given!r}; expected one of {sorted(_NAMES)}"
            )
        return given
    if suffix in FORMATS:
        return FORMATS[suffix]
    raise UnsupportedOperationError(
        f"cannot tell the DataFrame format from the suffix {suffix or '(none)'!r}; pass "
        f"format= one of {sorted(_NAMES)}",
        url=url,
    )


def read_dataframe(source: str | IO[bytes], fmt: str, **kwargs: Any) -> Any:
    """Read a DataFrame from a local path or a binary file object."""
    pd = pandas()
    if fmt == "csv":
        return pd.read_csv(source, **kwargs)
    if fmt == "parquet":
        _require_pyarrow()
        return pd.read_parquet(source, **kwargs)
    if fmt == "json":
        return pd.read_json(source, **{"orient": "records", **kwargs})
    return pd.read_json(source, **{"orient": "records", "lines": True, **kwargs})


def write_dataframe(df: Any, target: IO[bytes], fmt: str, **kwargs: Any) -> None:
    """Write ``df`` to a binary file object in ``fmt``."""
    pandas()
    if fmt == "csv":
        df.to_csv(target, **{"index": False, **kwargs})
    elif fmt == "parquet":
        _require_pyarrow()
        df.to_parquet(target, **kwargs)
    elif fmt == "json":
        target.write(df.to_json(**{"orient": "records", **kwargs}).encode())
    else:
        target.write(df.to_json(**{"orient": "records", "lines": True, **kwargs}).encode())


def _require_pyarrow() -> None:
    try:
        importlib.import_module("pyarrow")
    except ImportError:
        raise MissingDependencyError("parquet support", extra="pandas") from None
