"""Copy every object of one folder to another store, credentials from Prefect blocks.

The blocks are created once, in the Prefect UI or in code (see ``run_demo.py``), e.g. an
``Orchestore S3 Credentials`` block named ``prod`` and an ``Orchestore Azure Credentials``
block named ``archive``. Then:

    python copy_between_stores.py s3://bucket/in/ az://container/out/ \
        orchestore-s3-credentials/prod orchestore-azure-credentials/archive

One ``copy`` task per object (``.map``): each is retried and shown on its own. For one task
over the whole folder use ``tasks.copy(source, destination, ..., recursive=True)``.
"""

from __future__ import annotations

import sys
from typing import Any

from prefect import flow

from prefect_orchestore import tasks


@flow(name="orchestore-copy-between-stores", log_prints=True)
def copy_between_stores(
    source_folder: str, destination_folder: str, source_block: str, destination_block: str
) -> list[dict[str, Any]]:
    """Copy the objects directly below ``source_folder`` into ``destination_folder``."""
    entries = tasks.list_objects(source_folder, source_block, detail=True)
    names = [entry["url"].rsplit("/", 1)[-1] for entry in entries if not entry["is_dir"]]
    summaries = tasks.copy.map(
        [source_folder + name for name in names],
        [destination_folder + name for name in names],
        source_block=source_block,
        destination_block=destination_block,
    ).result()
    total = sum(summary["bytes"] for summary in summaries)
    print(f"copied {len(summaries)} objects ({total} bytes) to {destination_folder}")
    return summaries


if __name__ == "__main__":
    copy_between_stores(*sys.argv[1:5])
