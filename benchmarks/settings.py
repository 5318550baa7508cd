"""How big a run is (``BENCH_SCALE`` / ``--scale``) and what every scenario gets handed.

``quick`` checks the harness end to end in a few minutes while developing; ``full`` is what
``make bench`` runs and RESULTS.md reports. The issue asks for 1 GiB objects and 10,000 objects
in the prefix copy; on these 2 cores (shared with other work) that run takes about 20 minutes,
so ``full`` moves 512 MiB objects (about 10 minutes) and copies 2,000 objects, and the 1 KiB
operations run one round. ``BENCH_SIZE_MIB=1024 BENCH_OBJECTS=10000`` gives the issue's sizes.
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
    "full": Scale("full", 512, 500, 1, 2000, 1024, 3),
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
