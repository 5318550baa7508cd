"""``log-artifact``: record a file or an object as a store:// artifact version.

A local SRC is copied (content-addressed) below the artifact root, as ``log_artifact(
local_path=...)`` does in a DAG; a URL SRC is registered where it is (``target_url=``), so
nothing large moves twice. The catalog (SQLAlchemy) is imported only when this command runs.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from orchestore.cli import credentials_options
from orchestore.cli.output import Progress, emit, human_size

__all__ = ["add_parsers"]


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register ``log-artifact``."""
    log = commands.add_parser(
        "log-artifact",
        parents=[common],
        help="record SRC as a store:// artifact version (a local file is copied to the root)",
    )
    log.add_argument("src", metavar="SRC", help="a local file (copied) or a URL (registered)")
    log.add_argument("--project", required=True, metavar="P")
    log.add_argument("--key", required=True, metavar="K")
    log.add_argument("--tag", default="latest", metavar="T", help="default: latest")
    log.add_argument("--kind", default="artifacts", choices=("artifacts", "datasets", "models"))
    log.add_argument(
        "--artifact-root",
        metavar="URL",
        help="where a local file's bytes go; default: ORCHESTORE_ARTIFACT_ROOT, "
        "else ~/.orchestore/artifacts",
    )
    log.set_defaults(handler=run_log_artifact)


def run_log_artifact(args: argparse.Namespace) -> int:
    """Log SRC and print the new version's store:// URL."""
    from orchestore.catalog import api, content

    options = credentials_options.resolver_for(args)
    common: dict[str, Any] = {"tag": args.tag, "kind": args.kind, "catalog": args.catalog}
    if "://" in args.src:
        credentials = options.for_url(args.src)
        url = api.log_artifact(
            args.project, args.key, target_url=args.src, credentials=credentials, **common
        )
        emit(args, {"url": url, "registered": args.src}, url)
        return 0
    size = os.stat(args.src).st_size
    root = content.artifact_root(args.artifact_root)
    # The bytes move inside the catalog's log_artifact, which has no progress hook yet: the
    # bar shows the size up front and completes when the upload does.
    progress = Progress.for_args(args)
    progress.set(0, size, 0, 1)
    try:
        url = api.log_artifact(
            args.project,
            args.key,
            local_path=args.src,
            artifact_root=root,
            credentials=options.for_url(root),
            **common,
        )
        progress.set(size, size, 1, 1)
    finally:
        progress.finish()
    text = url if args.quiet else f"logged {args.src} ({human_size(size)}) -> {url}"
    emit(args, {"url": url, "size": size}, text)
    return 0
