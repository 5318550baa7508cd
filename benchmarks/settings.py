"""How big a run is (``BENCH_SCALE`` / ``--scale``) and what every scenario gets handed.

``quick`` checks the harness end to end in about two minutes while developing; ``full`` is what
``make bench`` runs and RESULTS.md reports (about 15 minutes on 2 cores).
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
    "full": Scale("full", 1024, 500, 3, 2000, 1024, 5),
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
