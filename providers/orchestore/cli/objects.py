"""``cp``, ``ls``, ``cat``, ``stat``, ``rm`` and ``check``: DataItem calls with output.

Store modules (and their SDKs) load only when ``get_dataitem`` meets a URL of theirs, so
``--help`` and usage errors never pay for them.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Any, Final

from orchestore.cli import credentials_options
from orchestore.cli.orchestrator_sources import resolve_ds_url
from orchestore.cli.output import Progress, UsageError, emit, human_size
from orchestore.errors import InvalidURLError, NotFoundError

__all__ = ["add_parsers"]

_CHUNK: Final = 8 * 1024 * 1024


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the object commands."""
    cp = commands.add_parser("cp", parents=[common], help="copy an object (or a folder with -r)")
    cp.add_argument("src", metavar="SRC")
    cp.add_argument("dst", metavar="DST", help="a URL, or a folder ending in / (or a local dir)")
    cp.add_argument(
        "-r", "--recursive", action="store_true", help="copy every object below the folder SRC"
    )
    cp.add_argument(
        "--sync",
        action="store_true",
        help="skip objects DST already holds with the same size and checksum",
    )
    cp.add_argument(
        "--no-checksum",
        action="store_true",
        help="do not verify streamed copies by MD5 (server-side copies are the store's)",
    )
    cp.add_argument(
        "--concurrency",
        type=_positive,
        default=8,
        metavar="N",
        help="objects copied at once with -r (default: 8)",
    )
    cp.set_defaults(handler=run_cp)

    ls = commands.add_parser("ls", parents=[common], help="list a folder")
    ls.add_argument("url", metavar="URL")
    ls.add_argument("-l", "--long", action="store_true", help="size and modification time too")
    ls.add_argument("-r", "--recursive", action="store_true", help="every object below URL")
    ls.set_defaults(handler=run_ls)

    cat = commands.add_parser("cat", parents=[common], help="write an object's bytes to stdout")
    cat.add_argument("url", metavar="URL")
    cat.add_argument("--offset", type=_non_negative, default=0, help="start at this byte")
    cat.add_argument("--size", type=_non_negative, default=None, help="at most this many bytes")
    cat.set_defaults(handler=run_cat)

    stat = commands.add_parser("stat", parents=[common], help="size, time, etag, content type")
    stat.add_argument("url", metavar="URL")
    stat.set_defaults(handler=run_stat)

    rm = commands.add_parser("rm", parents=[common], help="remove an object (a folder with -r)")
    rm.add_argument("url", metavar="URL")
    rm.add_argument("-r", "--recursive", action="store_true", help="remove a folder")
    rm.set_defaults(handler=run_rm)

    check = commands.add_parser(
        "check", parents=[common], help="prove the credentials work for URL (stat or list)"
    )
    check.add_argument("url", metavar="URL")
    check.set_defaults(handler=run_check)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _item(options: credentials_options.CredentialOptions, url: str) -> Any:
    """The DataItem for ``url`` with its resolved credentials."""
    return _item_and_credentials(options, url)[0]


def _item_and_credentials(
    options: credentials_options.CredentialOptions, url: str
) -> tuple[Any, Any]:
    """The DataItem and the credentials it uses (``--catalog`` passed on for store://).

    A ``ds://<conn_id>/<path>`` URL (Airflow) becomes the real URL under the connection's
    root, with that connection as its credential source.
    """
    from orchestore import get_dataitem

    source = None
    if url.startswith("ds://"):
        url, source = resolve_ds_url(url)
    catalog = options.catalog
    extra = {"catalog": catalog} if catalog and url.startswith("store://") else {}
    credentials = options.for_url(url, catalog, source=source)
    return get_dataitem(url, credentials, **extra), credentials


# -- cp -------------------------------------------------------------------------------------------
def run_cp(args: argparse.Namespace) -> int:
    """Copy with the transfer engine (``orchestore.copy``): one object, or a folder with -r.

    Both ends are DataItems carrying the credentials resolved here, so the engine copies
    server-side when they share a store and streams (verified by MD5 unless --no-checksum)
    otherwise; its progress callback drives the bar.
    """
    from orchestore.transfer import copy

    options = credentials_options.resolver_for(args)
    source = _item(options, args.src)
    target = _item(options, _folder_if_local_dir(args.dst))
    progress = Progress.for_args(args)
    try:
        summary = copy(
            source,
            target,
            recursive=args.recursive,
            sync=args.sync,
            checksum=not args.no_checksum,
            concurrency=args.concurrency,
            progress=progress.update,
        )
    except InvalidURLError as exc:
        if "recursive=True" in exc.message:  # the engine's "names a folder", in CLI terms
            raise UsageError(f"{exc.url} is a folder; use cp -r") from None
        raise
    finally:
        progress.finish()
    emit(args, summary.as_dict(), None if args.quiet else _describe_copy(args, source, summary))
    return 0


def _folder_if_local_dir(dst: str) -> str:
    """A local directory named without a trailing ``/`` is still a folder (as in ``cp``)."""
    if "://" not in dst and not dst.endswith("/") and os.path.isdir(dst):
        return dst + "/"
    return dst


def _describe_copy(args: argparse.Namespace, source: Any, summary: Any) -> str:
    """``copied SRC -> DST (5 B)`` for one object; counts, skips and rate for a folder."""
    if not args.recursive and summary.objects + summary.skipped == 1:
        destination = summary.destination
        if destination.endswith("/"):
            destination += source.store_url.name
        if summary.skipped:
            return f"unchanged {source.url} -> {destination} (skipped)"
        return f"copied {source.url} -> {destination} ({human_size(summary.bytes)})"
    verified = f", {summary.checksums_verified} verified ({summary.checksum})"
    objects = f"{summary.objects} object" + ("" if summary.objects == 1 else "s")
    return (
        f"copied {objects} ({human_size(summary.bytes)}) "
        f"{summary.source} -> {summary.destination} in {summary.seconds:.1f}s "
        f"({summary.mb_per_s:.1f} MB/s), {summary.skipped} unchanged skipped"
        + (verified if summary.checksums_verified else "")
    )


# -- ls / stat / cat / rm / check -----------------------------------------------------------------
def run_ls(args: argparse.Namespace) -> int:
    """List a folder's children (or every object below it with ``-r``)."""
    folder = _item(credentials_options.resolver_for(args), args.url)
    if args.recursive:
        entries: Any = folder.store.walk_files(folder.store_url)
    else:
        entries = folder.ls(detail=True)
    if args.json:
        emit(args, [_stat_dict(info) for info in entries], None)
        return 0
    for info in entries:
        if args.long:
            when = info.modified.isoformat(timespec="seconds") if info.modified else "-"
            size = "DIR" if info.is_dir else str(info.size)
            print(f"{size:>12}  {when:25}  {info.url}")
        else:
            print(info.url)
    return 0


def run_stat(args: argparse.Namespace) -> int:
    """Print what the store reports about one object."""
    info = _item(credentials_options.resolver_for(args), args.url).stat()
    data = _stat_dict(info)
    text = "\n".join(f"{key}: {value}" for key, value in data.items() if value is not None)
    emit(args, data, text)
    return 0


def run_cat(args: argparse.Namespace) -> int:
    """Stream an object (or a byte range of it) to stdout in bounded chunks."""
    if args.json:
        raise UsageError("cat writes raw bytes; --json does not apply")
    item = _item(credentials_options.resolver_for(args), args.url)
    left = args.size if args.size else None
    out = sys.stdout.buffer
    with item.open("rb") as reader:
        _skip(reader, args.offset)
        while left is None or left > 0:
            chunk = reader.read(_CHUNK if left is None else min(_CHUNK, left))
            if not chunk:
                break
            out.write(chunk)
            if left is not None:
                left -= len(chunk)
    out.flush()
    return 0


def _skip(reader: Any, offset: int) -> None:
    """Move to ``offset``: a seek where the reader can, else read and drop."""
    if not offset:
        return
    if reader.seekable():
        reader.seek(offset)
        return
    while offset > 0:
        dropped = reader.read(min(_CHUNK, offset))
        if not dropped:
            return
        offset -= len(dropped)


def run_rm(args: argparse.Namespace) -> int:
    """Remove an object, or a folder with ``-r``."""
    item = _item(credentials_options.resolver_for(args), args.url)
    item.delete(recursive=args.recursive)
    emit(args, {"removed": item.url}, None if args.quiet else f"removed {item.url}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Prove the credentials work: stat the URL, or list it when it is a folder or bucket.

    Prints what it reached and which source supplied the credentials, never a secret.
    """
    item, credentials = _item_and_credentials(credentials_options.resolver_for(args), args.url)
    reached = _reach(item)
    source = credentials.source if credentials is not None else "none needed"
    result = {"url": item.url, "reached": reached, "credentials_source": source}
    emit(args, result, f"ok: reached {item.url} ({reached}); credentials: {source}")
    return 0


def _reach(item: Any) -> str:
    try:
        info = item.stat()
    except NotFoundError:
        info = None
    if info is not None and not info.is_dir:
        return f"object, {human_size(info.size)}"
    entries = item.ls()
    return f"folder, {len(entries)} entries listed"


def _stat_dict(info: Any) -> dict[str, Any]:
    data = dataclasses.asdict(info)
    if info.modified is not None:
        data["modified"] = info.modified.isoformat()
    return data
