"""Scenario: one big object uploaded, downloaded and copied between stores (issue 10, item 4).

Each job (say "upload to s3") runs every client once, each in its own process, against the
same server with the same object; the destination is checked (its size) and removed after each
row, so no client inherits another's work. orchestore's reference row is ``orchestore.copy``
(the transfer engine); on s3 ``DataItem.upload``/``download`` run beside it, being what users
call (``DataItem.copy_to`` is ``orchestore.copy``: no row of its own). The rclone S3 server
appears in the download job only: a second fast server, so the s3 ratios are not one server's.

Targets (item 5): throughput >= 0.9x the best peer; client CPU per GiB <= boto3's (or the
best SDK row where boto3 is not in the job); peak RSS < 150 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks import clients, harness, peers
from benchmarks.harness import MIB, Result
from benchmarks.report import Section, number, ratio, verdict
from benchmarks.settings import Context

GIB = 1024 * MIB
SERVER_NAMES = {
    "s3": "s3 (SeaweedFS)",
    "s3_rclone": "s3 (rclone serve s3)",
    "az": "az (Azurite)",
    "gs": "gs (gcp-storage-emulator)",
    "file": "local file",
}
RSS_TARGET_MIB = 150.0
#: why the uploads to gs have no rclone row
GCS_RCLONE_NOTE = (
    "no rclone row: rclone's gcs backend fails against gcp-storage-emulator "
    "(`unexpected 308 response status code` on its resumable upload)"
)


@dataclass(frozen=True)
class Row:
    label: str
    case: str
    options: tuple[tuple[str, object], ...] = ()


#: what the checksums cost: the engine without them, beside its default
NO_CHECKSUM = Row("orchestore.copy(checksum=False)", "orchestore.copy", (("checksum", False),))


ORCHESTORE = [Row("orchestore.copy", "orchestore.copy")]
#: the orchestrators' own S3 clients, each in its peer venv (benchmarks/peers.py)
ORCHESTRATOR_PEERS = [
    Row("Airflow S3Hook (amazon provider)", "airflow.s3hook"),
    Row("Airflow ObjectStoragePath.copy", "airflow.objectstoragepath"),
    Row("prefect-aws S3Bucket", "prefect.s3bucket"),
]
UPLOAD = {
    "s3": [
        *ORCHESTORE,
        NO_CHECKSUM,
        Row("DataItem.upload", "orchestore.item"),
        Row("boto3 TransferManager", "boto3"),
        Row("s3fs put_file", "fsspec"),
        Row("obstore put", "obstore"),
        Row("rclone copyto", "rclone"),
        *ORCHESTRATOR_PEERS,
    ],
    "az": [
        *ORCHESTORE,
        Row("azure-storage-blob (max_concurrency=4)", "azure-sdk"),
        Row("adlfs put_file", "fsspec"),
        Row("obstore put", "obstore"),
        Row("rclone copyto", "rclone"),
    ],
    "gs": [
        *ORCHESTORE,
        Row("google-cloud-storage", "gcs-sdk"),
        Row("gcsfs put_file", "fsspec"),
    ],
}
DOWNLOAD = {
    "s3": [
        *ORCHESTORE,
        NO_CHECKSUM,
        Row("DataItem.download", "orchestore.item"),
        Row("boto3 TransferManager", "boto3"),
        Row("s3fs get_file", "fsspec"),
        Row("obstore get (stream)", "obstore"),
        Row("rclone copyto", "rclone"),
        *ORCHESTRATOR_PEERS,
    ],
    "s3_rclone": [
        *ORCHESTORE,
        Row("boto3 TransferManager", "boto3"),
        Row("obstore get (stream)", "obstore"),
    ],
    "az": [
        *ORCHESTORE,
        Row("azure-storage-blob (max_concurrency=4)", "azure-sdk"),
        Row("adlfs get_file", "fsspec"),
        Row("obstore get (stream)", "obstore"),
        Row("rclone copyto", "rclone"),
    ],
    "gs": [
        *ORCHESTORE,
        Row("google-cloud-storage", "gcs-sdk"),
        Row("gcsfs get_file", "fsspec"),
        Row("rclone copyto", "rclone"),
    ],
}
COPY = {
    ("s3", "az"): [
        *ORCHESTORE,
        NO_CHECKSUM,
        Row("boto3 get_object -> upload_blob(max_concurrency=4)", "azure-sdk"),
        Row("s3fs open -> adlfs open", "fsspec"),
        Row("obstore get -> put (stream)", "obstore"),
        Row("rclone copyto", "rclone"),
    ],
    ("az", "gs"): [
        *ORCHESTORE,
        Row("adlfs open -> gcsfs open", "fsspec"),
    ],
    ("s3", "s3"): [
        *ORCHESTORE,
        Row("boto3 managed copy", "boto3"),
        Row("s3fs copy", "fsspec"),
        Row("obstore copy", "obstore"),
        Row("rclone copyto", "rclone"),
        *ORCHESTRATOR_PEERS,
    ],
}


#: the row whose client CPU orchestore must not exceed (item 5: boto3's; the SDK where no boto3)
SDK_ROW = {
    "s3": "boto3 TransferManager",
    "s3_rclone": "boto3 TransferManager",
    "az": "azure-storage-blob (max_concurrency=4)",
    "gs": "google-cloud-storage",
    "s3->az": "boto3 get_object -> upload_blob(max_concurrency=4)",
    "az->gs": None,
    "s3->s3": "boto3 managed copy",
}


def _slug(label: str) -> str:
    return "".join(char if char.isalnum() else "-" for char in label.lower()).strip("-")


def _run_rows(
    context: Context, rows: list[Row], src: dict[str, str], dst_for: Any, size: int
) -> list[Result]:
    """Each row once, in its own process; the destination checked, then removed."""
    endpoints = context.endpoints
    results = []
    for row in rows:
        dst = dst_for(row)
        context.log(f"  {row.label}: {src['store']} -> {dst['store']}")
        params = {"endpoints": endpoints, "src": src, "dst": dst, **dict(row.options)}
        if row.case in peers.CASES:
            result = _measure_peer(context, row, params)
            if result is None:
                continue
        else:
            result = harness.measure(row.label, row.case, params)
        if result.ok:
            stored = harness.object_size(endpoints, dst)
            if stored != size:
                result.error = f"destination holds {stored} bytes, expected {size}"
        harness.delete(endpoints, dst)
        results.append(result)
    return results


def _measure_peer(context: Context, row: Row, params: dict[str, Any]) -> Result | None:
    """A row of benchmarks/peers.py in its own venv; None (no row) when that venv is absent."""
    python = peers.venv_python(row.case)
    if python is None:
        context.log(f"  {row.label}: skipped, no .venv/{peers.VENV_OF[row.case]} (make bench)")
        return None
    s3 = next(loc["store"] for loc in (params["src"], params["dst"]) if loc["store"] != "file")
    endpoint = clients.s3_endpoint(context.endpoints, s3)
    env = peers.airflow_environment(endpoint, context.workdir / "airflow-peer-home")
    params = {**params, "endpoint_url": endpoint}
    return harness.measure(row.label, row.case, params, python=str(python), env=env)


def _section(title: str, results: list[Result], size: int, sdk_label: str | None) -> Section:
    """The table: MB/s, CPU s/GiB, peak RSS, each against orchestore.copy, plus the verdicts."""
    # orchestore.copy with its defaults; when it failed, the next orchestore row that finished
    ours = [r for r in results if r.ok and r.label.startswith(("orchestore", "DataItem"))]
    reference = next((r for r in ours if r.label == ORCHESTORE[0].label), None)
    reference = reference or next(iter(ours), None)
    section = Section(title)
    section.header = [
        "client",
        "MB/s",
        "orchestore ÷ this (speed)",
        "CPU s/GiB",
        "CPU: this ÷ orchestore",
        "peak RSS MiB",
        "notes",
    ]

    def speed(result: Result | None) -> float | None:
        return size / 1e6 / result.seconds if result and result.ok and result.seconds else None

    def cpu(result: Result | None) -> float | None:
        return (
            result.cpu_seconds * GIB / size if result and result.ok and result.cpu_seconds else None
        )

    for result in results:
        notes = "; ".join([*result.notes, *([result.error] if result.error else [])])
        section.rows.append(
            [
                f"**{result.label}**" if result is reference else result.label,
                number(speed(result)),
                ratio(speed(reference), speed(result)),
                number(cpu(result), 2),
                ratio(cpu(result), cpu(reference)),
                number(result.peak_rss_mib if result.ok else None, 0),
                notes,
            ]
        )
    peers = [r for r in results if r.ok and not r.label.startswith(("orchestore", "DataItem"))]
    if reference is None:
        section.verdicts.append("no orchestore row finished: no verdicts")
        return section
    if peers:
        best = max(peers, key=lambda r: speed(r) or 0.0)
        share = (speed(reference) or 0.0) / (speed(best) or 1.0)
        detail = f"{reference.label} {number(speed(reference))} MB/s, best peer {best.label} "
        detail += f"{number(speed(best))} MB/s: {share:.2f}x"
        section.verdicts.append(verdict("throughput >= 0.9x best peer", share >= 0.9, detail))
    baseline = next((r for r in peers if r.label == sdk_label), None)
    if baseline is not None:
        detail = (
            f"{number(cpu(reference), 2)} vs {number(cpu(baseline), 2)} s/GiB ({baseline.label})"
        )
        met = (cpu(reference) or 0.0) <= (cpu(baseline) or 0.0)
        name = "boto3's" if baseline.label.startswith("boto3") else "the SDK's"
        section.verdicts.append(verdict(f"client CPU <= {name}", met, detail))
    rss = reference.peak_rss_mib or 0.0
    detail = f"{rss:.0f} MiB for {size // MIB} MiB"
    section.verdicts.append(
        verdict(f"peak RSS < {RSS_TARGET_MIB:.0f} MiB", rss < RSS_TARGET_MIB, detail)
    )
    return section


def _seed_sources(context: Context, stores: list[str], size: int) -> dict[str, dict[str, str]]:
    source = context.workdir / "source.bin"
    if not source.exists():
        harness.write_local_file(source, size)
    locations = {}
    for store in stores:
        location = {"store": store, "key": "src/big.bin"}
        if harness.object_size(context.endpoints, location) != size:
            context.log(f"  seeding {size // MIB} MiB into {store}")
            harness.seed_object(context.endpoints, location, source)
        locations[store] = location
    return locations


def upload(context: Context) -> list[Section]:
    size = context.scale.big_mib * MIB
    source = context.workdir / "source.bin"
    if not source.exists():
        harness.write_local_file(source, size)
    src = {"store": "file", "key": str(source)}
    sections = []
    for store, rows in UPLOAD.items():
        context.log(f"upload -> {store}")

        def dst_for(row: Row, store: str = store) -> dict[str, str]:
            return {"store": store, "key": f"up/{_slug(row.label)}.bin"}

        results = _run_rows(context, rows, src, dst_for, size)
        title = f"Upload {size // MIB} MiB: local file -> {SERVER_NAMES[store]}"
        sections.append(_section(title, results, size, SDK_ROW[store]))
        if store == "gs":
            sections[-1].notes.append(GCS_RCLONE_NOTE)
    return sections


def download(context: Context) -> list[Section]:
    size = context.scale.big_mib * MIB
    sources = _seed_sources(context, list(DOWNLOAD), size)
    sections = []
    for store, rows in DOWNLOAD.items():
        context.log(f"download <- {store}")

        def dst_for(row: Row) -> dict[str, str]:
            return {"store": "file", "key": str(context.workdir / f"down-{_slug(row.label)}.bin")}

        results = _run_rows(context, rows, sources[store], dst_for, size)
        title = f"Download {size // MIB} MiB: {SERVER_NAMES[store]} -> local file"
        sections.append(_section(title, results, size, SDK_ROW[store]))
    return sections


def copy(context: Context) -> list[Section]:
    size = context.scale.big_mib * MIB
    sources = _seed_sources(context, sorted({src for src, _ in COPY}), size)
    sections = []
    for (src, dst), rows in COPY.items():
        context.log(f"copy {src} -> {dst}")

        def dst_for(row: Row, dst: str = dst) -> dict[str, str]:
            return {"store": dst, "key": f"copy/{_slug(row.label)}.bin"}

        results = _run_rows(context, rows, sources[src], dst_for, size)
        same = " (same endpoint: server-side)" if src == dst else ""
        title = f"Copy {size // MIB} MiB: {SERVER_NAMES[src]} -> {SERVER_NAMES[dst]}{same}"
        sections.append(_section(title, results, size, SDK_ROW[f"{src}->{dst}"]))
        if dst == "gs":
            sections[-1].notes.append(GCS_RCLONE_NOTE)
    return sections
