"""orchestore's Airflow operators: copy, list, delete, transform DataFrames, log artifacts.

Importing this package (at DAG parse time) loads no cloud SDK, pandas or pyarrow: each
operator imports what it needs inside ``execute()``.
"""

from orchestore.airflow.operators.artifacts import LogArtifactOperator
from orchestore.airflow.operators.dataframes import DataFrameTransformOperator
from orchestore.airflow.operators.objects import (
    StoreCopyOperator,
    StoreDeleteOperator,
    StoreListOperator,
)

__all__ = [
    "DataFrameTransformOperator",
    "LogArtifactOperator",
    "StoreCopyOperator",
    "StoreDeleteOperator",
    "StoreListOperator",
]
