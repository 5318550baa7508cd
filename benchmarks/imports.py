"""Scenario: import times, each in a fresh interpreter of the venv the module lives in.

DAG files are parsed often, so ``import orchestore.airflow.operators`` must stay cheap: the
target (item 5) is < 50 ms on top of ``import airflow.sdk``. Each figure is the median of
``import_rounds`` fresh interpreters, timed inside the interpreter (start-up excluded); the
heavy SDKs that the module added to ``sys.modules`` are listed.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import ROOT
from benchmarks.report import Section, number, verdict
from benchmarks.settings import Context

OWN = ("orchestore", "prefect_orchestore")
HEAVY = ["boto3", "botocore", "azure", "google", "pandas", "pyarrow", "s3fs", "adlfs", "gcsfs"]
_PROBE = """
import json, sys, time
base, module = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if base:
    __import__(base)
middle = time.perf_counter()
before = {name for name in {HEAVY} if name in sys.modules}
try:
    __import__(module)
except ImportError as error:
    print(json.dumps({"missing": str(error)}))
    raise SystemExit(0)
end = time.perf_counter()
heavy = sorted(name for name in {HEAVY} if name in sys.modules and name not in before)
print(json.dumps({"base_ms": (middle - start) * 1e3, "module_ms": (end - middle) * 1e3,
                  "heavy": heavy}))
""".replace("{HEAVY}", repr(HEAVY))


@dataclass(frozen=True)
class Probe:
    venv: str
    module: str
    base: str = ""  # imported first, untimed in module_ms: "what does the module add"


PROBES = [
    Probe("core", "orchestore"),
    Probe("core", "boto3"),
    Probe("core", "obstore"),
    Probe("core", "s3fs"),
    Probe("core", "adlfs"),
    Probe("core", "gcsfs"),
    Probe("airflow", "airflow.sdk"),
    Probe("airflow", "orchestore.airflow.operators", base="airflow.sdk"),
    Probe("airflow", "orchestore.airflow.operators"),
    Probe("bench-airflow", "airflow.providers.amazon.aws.hooks.s3", base="airflow.sdk"),
    Probe("prefect", "prefect"),
    Probe("prefect", "prefect_orchestore", base="prefect"),
    Probe("prefect", "prefect_orchestore"),
]


def _python(context: Context, venv: str) -> Path | None:
    if venv == "airflow":
        return context.airflow_python
    if venv == "prefect":
        return context.prefect_python
    python = ROOT / ".venv" / venv / "bin" / "python"  # core, or a peer venv (make bench)
    return python if python.exists() else None


def _measure(python: Path, probe: Probe, rounds: int) -> dict[str, object]:
    runs = []
    for index in range(rounds + 1):  # the first run compiles the bytecode cache: not counted
        command = [str(python), "-c", _PROBE, probe.base, probe.module]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
        if done.returncode != 0:
            return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:200]}
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        if "missing" in answer:
            return answer
        if index:
            runs.append(answer)
    return {
        "module_ms": statistics.median(run["module_ms"] for run in runs),
        "base_ms": statistics.median(run["base_ms"] for run in runs),
        "heavy": runs[-1]["heavy"],
        "own_ms": statistics.median(_own_ms(python, probe) for _ in range(min(rounds, 3))),
    }


def _own_ms(python: Path, probe: Probe) -> float:
    """The self time of orchestore's own modules over base + module (``-X importtime``).

    airflow.sdk's provider discovery already imports orchestore (our provider's entry point),
    so "on top of airflow.sdk" misses that part; this sum does not.
    """
    command = [str(python), "-X", "importtime", "-c", _PROBE, probe.base, probe.module]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    total_us = 0
    for line in done.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[2].strip().startswith(OWN) and fields[0].strip().isdigit():
            total_us += int(fields[0])
    return total_us / 1e3


def import_times(context: Context) -> list[Section]:
    rounds = context.scale.import_rounds
    section = Section(
        "Import times",
        intro=f"Median of {rounds} fresh interpreters each (after one that compiles the "
        "bytecode); interpreter start-up excluded.",
    )
    section.header = [
        "import",
        "venv",
        "ms",
        "on top of",
        "orchestore's own modules (ms, self)",
        "heavy modules it added",
        "notes",
    ]
    figures: dict[tuple[str, str], dict[str, object]] = {}
    for probe in PROBES:
        python = _python(context, probe.venv)
        context.log(f"  import {probe.module} ({probe.venv})")
        if python is None:
            figure: dict[str, object] = {"error": f".venv/{probe.venv} is not there"}
        else:
            figure = _measure(python, probe, rounds)
        figures[(probe.module, probe.base)] = figure
        note = str(figure.get("error") or "")
        if "missing" in figure:
            note = f"not installed in .venv/{probe.venv} ({figure['missing']})"
        heavy = figure.get("heavy")
        section.rows.append(
            [
                f"`{probe.module}`",
                probe.venv,
                number(figure.get("module_ms"), 0),  # type: ignore[arg-type]
                f"`{probe.base}` ({number(figure.get('base_ms'), 0)} ms)" if probe.base else "-",  # type: ignore[arg-type]
                number(figure.get("own_ms"), 0),  # type: ignore[arg-type]
                ", ".join(heavy)
                if isinstance(heavy, list) and heavy
                else ("none" if heavy == [] else "-"),
                note,
            ]
        )
    operators = figures.get(("orchestore.airflow.operators", "airflow.sdk"), {})
    added = operators.get("module_ms")
    if isinstance(added, float):
        detail = f"{added:.0f} ms"
        section.verdicts.append(
            verdict(
                "`import orchestore.airflow.operators` adds < 50 ms to airflow.sdk",
                added < 50,
                detail,
            )
        )
    own = operators.get("own_ms")
    if isinstance(own, float):
        detail = f"{own:.0f} ms, part of it inside `import airflow.sdk` (provider discovery)"
        label = "orchestore's own modules in `airflow.sdk` + operators < 50 ms"
        section.verdicts.append(verdict(label, own < 50, detail))
    for module, base in (("orchestore", ""), ("orchestore.airflow.operators", "airflow.sdk")):
        heavy = figures.get((module, base), {}).get("heavy")
        if isinstance(heavy, list):
            detail = ", ".join(heavy) or "none of " + ", ".join(HEAVY)
            section.verdicts.append(
                verdict(f"`import {module}` loads no cloud SDK", not heavy, detail)
            )
    return [section]
