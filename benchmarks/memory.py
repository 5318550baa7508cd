"""Scenario: orchestore.copy's peak RSS at two object sizes (item 5: < 150 MiB for 1 GiB).

The same streamed copy (s3 (SeaweedFS) -> az (Azurite), orchestore's defaults) of an object of
the run's size and of twice that size (1 GiB at the full scale), each in a fresh process: with
bounded memory the two peaks are about equal.
"""

from __future__ import annotations

from benchmarks import harness
from benchmarks.harness import MIB
from benchmarks.report import Section, number, verdict
from benchmarks.settings import Context

RSS_TARGET_MIB = 150.0
#: how much more the twice-as-big copy may peak and still count as "does not grow"
GROWTH_ALLOWANCE_MIB = 10.0


def bounded_memory(context: Context) -> list[Section]:
    endpoints = context.endpoints
    sizes = [context.scale.big_mib * MIB, 2 * context.scale.big_mib * MIB]
    section = Section(
        "Bounded memory: orchestore.copy s3 (SeaweedFS) -> az (Azurite) at two sizes",
        intro="One fresh process per size; peak RSS of the whole process (VmHWM).",
    )
    section.header = ["object", "MB/s", "CPU s/GiB", "peak RSS MiB", "notes"]
    peaks: list[float] = []
    for size in sizes:
        source = context.workdir / f"memory-{size // MIB}.bin"
        harness.write_local_file(source, size)
        src = {"store": "s3", "key": f"memory/src-{size // MIB}.bin"}
        dst = {"store": "az", "key": f"memory/dst-{size // MIB}.bin"}
        context.log(f"  {size // MIB} MiB")
        harness.seed_object(endpoints, src, source)
        source.unlink()
        params = {"endpoints": endpoints, "src": src, "dst": dst}
        result = harness.measure("orchestore.copy", "orchestore.copy", params)
        if result.ok and harness.object_size(endpoints, dst) != size:
            result.error = "the destination does not hold the whole object"
        harness.delete(endpoints, dst)
        harness.delete(endpoints, src)
        ok = result.ok and bool(result.seconds) and result.cpu_seconds is not None
        speed = size / 1e6 / result.seconds if ok and result.seconds else None
        cpu = (result.cpu_seconds or 0.0) * 1024 * MIB / size if ok else None
        section.rows.append(
            [
                f"{size // MIB} MiB",
                number(speed),
                number(cpu, 2),
                number(result.peak_rss_mib if ok else None, 0),
                "; ".join([*result.notes, *([result.error] if result.error else [])]),
            ]
        )
        if ok and result.peak_rss_mib is not None:
            peaks.append(result.peak_rss_mib)
    if len(peaks) == 2:
        growth = peaks[1] - peaks[0]
        detail = f"{peaks[0]:.0f} MiB -> {peaks[1]:.0f} MiB ({growth:+.0f} MiB)"
        section.verdicts.append(
            verdict("peak RSS does not grow with the size", growth <= GROWTH_ALLOWANCE_MIB, detail)
        )
        detail = f"{peaks[1]:.0f} MiB for {sizes[1] // MIB} MiB"
        section.verdicts.append(
            verdict(f"peak RSS < {RSS_TARGET_MIB:.0f} MiB", peaks[1] < RSS_TARGET_MIB, detail)
        )
    return [section]
