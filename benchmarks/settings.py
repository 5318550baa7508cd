"""How big a run is (``BENCH_SCALE`` / ``--scale``) and what every scenario gets handed.

``quick`` checks the harness end to end in a few minutes while developing; ``full`` is what
``make bench`` runs and RESULTS.md reports: the issue's sizes, 1 GiB objects and 10,000 objects
in the prefix copy (about 20 minutes on 2 cores), and one round of the 1 KiB operations.
``BENCH_SIZE_MIB`` and ``BENCH_OBJECTS`` override the sizes (512 and 2000 halve the run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Scale:
    """Sizes and repetitions of one run."""

    name: str
    big_mib: int  # one object for upload, download and store-to-store copy
    small_ops: int  # 1 KiB puts, then as many gets
    small_rounds: int
    prefix_objects: int  # objects of the s3 -> az prefix copy
    prefix_object_size: int
    import_rounds: int


SCALES = {
    "quick": Scale("quick", 16, 50, 1, 100, 1024, 2),
    "full": Scale("full", 1024, 500, 1, 10_000, 1024, 3),
}


@dataclass
class Context:
    """The run's servers, scratch folder, scale and the other venvs' interpreters."""

    endpoints: dict[str, str]
    workdir: Path
    scale: Scale
    log: Callable[[str], None]
    airflow_python: Path | None
    prefect_python: Path | None
