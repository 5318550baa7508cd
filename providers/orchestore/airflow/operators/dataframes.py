"""Read a DataFrame from one URL, transform it with a Python callable, write it to another.

pandas is imported by ``as_df`` inside ``execute()``, never when the DAG file is parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from orchestore.airflow.operators._common import store_hook

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["DataFrameTransformOperator"]


class DataFrameTransformOperator(BaseOperator):
    """``python_callable(df, **op_kwargs)`` between ``src.as_df()`` and ``dst.write_df()``.

    ``dst_conn_id`` defaults to ``src_conn_id``. The formats follow the URLs' suffixes (csv,
    parquet, json, ...) unless ``src_format`` / ``dst_format`` say otherwise; ``read_kwargs``
    and ``write_kwargs`` go to pandas. The write is atomic: a callable or a write that fails
    leaves no partial ``dst``. Returns ``dst``'s URL with the row and column counts written.
    """

    template_fields: Sequence[str] = ("src", "dst", "src_conn_id", "dst_conn_id", "op_kwargs")
    template_fields_renderers: ClassVar[dict[str, str]] = {"op_kwargs": "py"}
    ui_color = "#e8daef"

    def __init__(
        self,
        *,
        src: str,
        dst: str,
        python_callable: Callable[..., Any],
        src_conn_id: str | None = None,
        dst_conn_id: str | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        src_format: str | None = None,
        dst_format: str | None = None,
        read_kwargs: Mapping[str, Any] | None = None,
        write_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(python_callable):
            raise TypeError(f"python_callable must be callable, not {type(python_callable)!r}")
        self.src = src
        self.dst = dst
        self.python_callable = python_callable
        self.src_conn_id = src_conn_id
        self.dst_conn_id = dst_conn_id
        self.op_kwargs = dict(op_kwargs or {})
        self.src_format = src_format
        self.dst_format = dst_format
        self.read_kwargs = dict(read_kwargs or {})
        self.write_kwargs = dict(write_kwargs or {})

    def execute(self, context: Context) -> dict[str, Any]:
        import pandas as pd

        with store_hook(self.src_conn_id) as hook:
            source = hook.item(self.src)
            target = hook.item(self.dst, self.dst_conn_id)
            frame = source.as_df(format=self.src_format, **self.read_kwargs)
            self.log.info("Read %d row(s) x %d column(s) from %s", *frame.shape, source.url)
            result = self.python_callable(frame, **self.op_kwargs)
            if not isinstance(result, pd.DataFrame):
                raise TypeError(
                    f"python_callable must return a pandas DataFrame, not {type(result).__name__}"
                )
            target.write_df(result, format=self.dst_format, **self.write_kwargs)
        rows, columns = result.shape
        self.log.info("Wrote %d row(s) x %d column(s) to %s", rows, columns, target.url)
        return {"url": target.url, "rows": rows, "columns": columns}
