"""Scenario: a prefix of many small objects copied from s3 (SeaweedFS) to az (Azurite).

orchestore's ``copy(..., recursive=True)`` (its bounded worker pool, default concurrency)
against a plain sequential SDK loop (boto3 list/get, azure-storage-blob upload) and against
``rclone copy --transfers 8``. Targets (item 5): >= rclone and >= 3x the sequential loop. Each
row copies into its own destination prefix, whose object count is checked afterwards.
"""

from __future__ import annotations

from benchmarks import harness
from benchmarks.harness import Result
from benchmarks.report import Section, number, ratio, verdict
from benchmarks.settings import Context

SOURCE = "prefix/src/"
ROWS = [
    ("orchestore.copy(recursive=True)", "orchestore.copy", {"recursive": True}),
    ("plain sequential SDK loop (boto3 -> azure-storage-blob)", "sdk.loop", {}),
    ("rclone copy --transfers 8", "rclone", {"recursive": True, "transfers": 8}),
]


def prefix_copy(context: Context) -> list[Section]:
    scale = context.scale
    endpoints = context.endpoints
    count = scale.prefix_objects
    source = {"store": "s3", "key": SOURCE}
    if len(harness.list_keys(endpoints, source)) != count:
        context.log(f"  seeding {count} objects of {scale.prefix_object_size} B")
        harness.delete(endpoints, source)
        harness.seed_prefix(endpoints, SOURCE, count, scale.prefix_object_size)
    results = []
    for index, (label, case, extra) in enumerate(ROWS):
        context.log(f"  {label}")
        target = {"store": "az", "key": f"prefix/dst-{index}/"}
        params = {"endpoints": endpoints, "src": source, "dst": target, **extra}
        result = harness.measure(label, case, params)
        if result.ok:
            copied = len(harness.list_keys(endpoints, target))
            if copied != count:
                result.error = f"destination holds {copied} objects, expected {count}"
        results.append(result)
    return [_section(context, results)]


def _rate(result: Result | None, count: int) -> float | None:
    return count / result.seconds if result and result.ok and result.seconds else None


def _section(context: Context, results: list[Result]) -> Section:
    scale = context.scale
    count = scale.prefix_objects
    section = Section(
        f"Prefix copy: {count:,} objects of {scale.prefix_object_size} B, "
        "s3 (SeaweedFS) -> az (Azurite)"
    )
    section.header = [
        "client",
        "seconds",
        "objects/s",
        "orchestore ÷ this",
        "CPU s",
        "peak RSS MiB",
        "notes",
    ]
    reference = results[0]
    for result in results:
        notes = "; ".join([*result.notes, *([result.error] if result.error else [])])
        section.rows.append(
            [
                f"**{result.label}**" if result is reference else result.label,
                number(result.seconds if result.ok else None, 2),
                number(_rate(result, count), 0),
                ratio(_rate(reference, count), _rate(result, count)),
                number(result.cpu_seconds if result.ok else None, 2),
                number(result.peak_rss_mib if result.ok else None, 0),
                notes,
            ]
        )
    mine = _rate(reference, count)
    loop, rclone = (_rate(result, count) for result in results[1:3])
    if mine and loop:
        section.verdicts.append(
            verdict(">= 3x the sequential loop", mine >= 3 * loop, ratio(mine, loop))
        )
    if mine and rclone:
        section.verdicts.append(
            verdict(">= rclone --transfers 8", mine >= rclone, ratio(mine, rclone))
        )
    return section
