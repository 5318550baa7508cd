"""Run every benchmark scenario and write benchmarks/RESULTS.md: ``make bench``.

    .venv/core/bin/python -m benchmarks.run [--scale quick|full] [--only upload copy ...]
                                            [--output benchmarks/RESULTS.md]

Starts SeaweedFS, ``rclone serve s3``, Azurite and the GCS emulator on 127.0.0.1 (see
benchmarks/servers.py), runs each scenario, prints one markdown table per scenario and writes
them all, with the machine's core count, the date and the versions, to the output file. Every
case runs in its own process (benchmarks/child.py); ratios compare figures of the same run.
``BENCH_SCALE`` sets the default scale (``full``); ``BENCH_SIZE_MIB`` and ``BENCH_OBJECTS``
(or ``--size-mib``, ``--objects``) override its object size and prefix object count.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import environment, imports, memory, prefix_copy, small_ops, transfers
from benchmarks.harness import ROOT
from benchmarks.report import Section
from benchmarks.servers import running_servers
from benchmarks.settings import SCALES, Context

SCENARIOS: dict[str, Callable[[Context], list[Section]]] = {
    "upload": transfers.upload,
    "download": transfers.download,
    "copy": transfers.copy,
    "memory": memory.bounded_memory,
    "small": small_ops.small_ops,
    "prefix": prefix_copy.prefix_copy,
    "imports": imports.import_times,
}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _venv_python(name: str) -> Path | None:
    python = ROOT / ".venv" / name / "bin" / "python"
    return python if python.exists() else None


def _compiled_imports(cache: Path) -> None:
    """Let every child write and reuse bytecode, in a cache of the run (not in the venvs).

    With PYTHONDONTWRITEBYTECODE set (as on the CI machines) and no __pycache__ in the venvs,
    each fresh interpreter recompiles every module it imports: import times would measure the
    compiler, and every case would burn CPU on it.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)


def _targets_at_a_glance(sections: list[Section]) -> str:
    """Every verdict of the run in one list, under its scenario's title."""
    lines = ["## Targets at a glance (issue 10, item 5)", ""]
    for section in sections:
        lines += [f"- {section.title} — {item}" for item in section.verdicts]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", choices=list(SCALES), default=os.environ.get("BENCH_SCALE", "full")
    )
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--size-mib", type=int, help="object size of the big transfers")
    parser.add_argument("--objects", type=int, help="objects in the prefix copy")
    parser.add_argument("--output", type=Path, default=None, help="write the markdown here")
    args = parser.parse_args()
    os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"
    scale = SCALES[args.scale]
    size_mib = args.size_mib or int(os.environ.get("BENCH_SIZE_MIB") or scale.big_mib)
    objects = args.objects or int(os.environ.get("BENCH_OBJECTS") or scale.prefix_objects)
    scale = dataclasses.replace(scale, big_mib=size_mib, prefix_objects=objects)
    started = time.perf_counter()
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="orchestore-bench-") as folder:
        workdir = Path(folder)
        (workdir / "servers").mkdir()
        _compiled_imports(workdir / "pycache")
        _log(f"starting the servers (scale {scale.name})")
        with running_servers(workdir / "servers") as endpoints:
            context = Context(
                endpoints=endpoints.as_dict(),
                workdir=workdir,
                scale=scale,
                log=_log,
                airflow_python=_venv_python("airflow"),
                prefect_python=_venv_python("prefect"),
            )
            for name in args.only:
                _log(f"scenario {name}")
                for section in SCENARIOS[name](context):
                    print(section.markdown(), flush=True)
                    sections.append(section)
    minutes = (time.perf_counter() - started) / 60
    _log(f"done in {minutes:.1f} min")
    if args.output:
        header = environment.header(scale, minutes, args.only)
        body = "\n".join(section.markdown() for section in sections)
        glance = _targets_at_a_glance(sections)
        args.output.write_text(f"{header}\n{glance}\n## Scenarios\n\n{body}\n{environment.FOOTER}")
        _log(f"wrote {args.output}")


if __name__ == "__main__":
    main()
