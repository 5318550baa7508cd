"""Scenario: many 1 KiB puts, then gets, on SeaweedFS, the per-call cost of each client.

What task code does: orchestore builds a DataItem per call (``get_dataitem(url, creds)``, the
store manager hands back the cached client) and the Airflow hook is built per call. Baselines: a
reused boto3 client (the target: orchestore >= 1.0x), a new boto3 client per call (what many
hand-written hooks do), and obstore. Each row: median of ``small_rounds`` processes.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from benchmarks import harness
from benchmarks.harness import Result
from benchmarks.report import Section, number, ratio, verdict
from benchmarks.servers import KEY_ID, REGION, SECRET
from benchmarks.settings import Context

CONN_ID = "bench_s3"
#: a row's puts stop after half of this (its gets take about as long): slow rows keep their rate
BUDGET_S = 40.0

ROWS = [
    ("orchestore get_dataitem per call", "orchestore.small", {}),
    ("Airflow DataStoreHook per call", "airflow.hook.small", {}),
    ("Airflow DataStoreHook reused", "airflow.hook.small", {"reuse_hook": True}),
    ("boto3 client reused", "boto3.small", {}),
    ("boto3 new client per call", "boto3.small", {"new_client": True}),
    ("obstore S3Store reused", "obstore.small", {}),
]


def _airflow_environment(context: Context) -> dict[str, str]:
    """An ``aws`` connection to SeaweedFS as an AIRFLOW_CONN_* variable, a scratch AIRFLOW_HOME."""
    connection = {
        "conn_type": "aws",
        "login": KEY_ID,
        "password": SECRET,
        "extra": {"endpoint_url": context.endpoints["s3"], "region_name": REGION},
    }
    home = context.workdir / "airflow-home"
    home.mkdir(exist_ok=True)
    return {
        f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps(connection),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


def _airflow_hook_missing(context: Context) -> str | None:
    """Why the Airflow rows cannot run, or None when they can."""
    if context.airflow_python is None:
        return "no .venv/airflow"
    probe = [str(context.airflow_python), "-c", "import orchestore.airflow.hooks"]
    done = subprocess.run(probe, capture_output=True, text=True, check=False, cwd=harness.ROOT)
    if done.returncode != 0:
        return "orchestore.airflow.hooks does not import in .venv/airflow (not landed yet?)"
    return None


def _round(context: Context, label: str, case: str, extra: dict[str, Any], index: int) -> Result:
    scale = context.scale
    prefix = f"small/{case}-{index}-{len(label)}/"
    params = {
        "endpoints": context.endpoints,
        "count": scale.small_ops,
        "size": 1024,
        "prefix": prefix,
        "conn_id": CONN_ID,
        "budget_s": BUDGET_S,
        **extra,
    }
    python = env = None
    if case.startswith("airflow"):
        python, env = str(context.airflow_python), _airflow_environment(context)
    result = harness.measure(label, case, params, python=python, env=env)
    harness.delete(context.endpoints, {"store": "s3", "key": prefix})
    return result


def small_ops(context: Context) -> list[Section]:
    scale = context.scale
    missing = _airflow_hook_missing(context)
    results: dict[str, list[Result]] = {}
    for index in range(scale.small_rounds):
        for label, case, extra in ROWS:
            if case.startswith("airflow") and missing:
                continue
            context.log(f"  {label} (round {index + 1})")
            results.setdefault(label, []).append(_round(context, label, case, extra, index))
    medians = [harness.median_result(rounds) for rounds in results.values()]
    return [_section(context, medians, missing)]


def _rates(result: Result | None) -> tuple[float | None, float | None]:
    if result is None or not result.ok:
        return None, None
    count = result.extra["ops"] / 2
    return count / result.extra["put_s"], count / result.extra["get_s"]


def _section(context: Context, results: list[Result], missing: str | None) -> Section:
    scale = context.scale
    section = Section(
        f"{scale.small_ops} x 1 KiB put, then get, on s3 (SeaweedFS)",
        intro=f"Median of {scale.small_rounds} rounds, each a fresh process.",
    )
    section.header = [
        "client",
        "PUT/s",
        "GET/s",
        "orchestore ÷ this (PUT)",
        "orchestore ÷ this (GET)",
        "CPU s",
        "peak RSS MiB",
        "notes",
    ]
    reference = next((r for r in results if r.label.startswith("orchestore")), None)
    ref_put, ref_get = _rates(reference)
    for result in results:
        put, get = _rates(result)
        notes = [*result.notes, *([result.error] if result.error else [])]
        if result.ok and result.extra["ops"] < 2 * scale.small_ops:
            notes.insert(0, f"stopped after {result.extra['ops'] // 2} puts (time budget)")
        section.rows.append(
            [
                f"**{result.label}**" if result is reference else result.label,
                number(put, 0),
                number(get, 0),
                ratio(ref_put, put),
                ratio(ref_get, get),
                number(result.cpu_seconds if result.ok else None, 2),
                number(result.peak_rss_mib if result.ok else None, 0),
                "; ".join(notes),
            ]
        )
    boto3 = next((r for r in results if r.label == "boto3 client reused" and r.ok), None)
    targets = [r for r in results if r.ok and r.label.startswith(("orchestore", "Airflow"))]
    if boto3 is not None:
        base_put, base_get = _rates(boto3)
        for result in targets:
            put, get = _rates(result)
            share = min((put or 0) / (base_put or 1), (get or 0) / (base_get or 1))
            detail = f"PUT {ratio(put, base_put)}, GET {ratio(get, base_get)}"
            section.verdicts.append(
                verdict(f"{result.label} >= 1.0x a reused boto3 client", share >= 1.0, detail)
            )
    if missing:
        section.notes.append(f"Airflow hook rows skipped: {missing}")
    return section
