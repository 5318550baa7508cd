"""``cp``, ``ls``, ``cat``, ``stat``, ``rm`` and ``check``: DataItem calls with output.

Store modules (and their SDKs) load only when ``get_dataitem`` meets a URL of theirs, so
``--help`` and usage errors never pay for them.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Iterator
from typing import Any, Final

from orchestore.cli import credentials_options
from orchestore.cli.output import Progress, UsageError, emit, human_size
from orchestore.errors import NotFoundError

__all__ = ["add_parsers"]

#: ``cp -r`` and ``ls -r`` stop with an error past this many objects: the sequential loop here
#: is for folders a person copies by hand; the copy engine of a later release does bulk.
MAX_RECURSIVE_OBJECTS: Final = 10_000
_CHUNK: Final = 8 * 1024 * 1024
_NEEDS_ENGINE = "{option} is not available in this release (it needs the bulk copy engine)"


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the object commands."""
    cp = commands.add_parser("cp", parents=[common], help="copy an object (or a folder with -r)")
    cp.add_argument("src", metavar="SRC")
    cp.add_argument("dst", metavar="DST", help="a URL, or a folder ending in / (or a local dir)")
    cp.add_argument("-r", "--recursive", action="store_true", help="copy a folder, one by one")
    cp.add_argument("--sync", action="store_true", help="(not in this release)")
    cp.add_argument("--no-checksum", action="store_true", help="(not in this release)")
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
    """The DataItem and the credentials it uses (``--catalog`` passed on for store://)."""
    from orchestore import get_dataitem

    catalog = options.catalog
    extra = {"catalog": catalog} if catalog and url.startswith("store://") else {}
    credentials = options.for_url(url, catalog)
    return get_dataitem(url, credentials, **extra), credentials


# -- cp -------------------------------------------------------------------------------------------
def run_cp(args: argparse.Namespace) -> int:
    """Copy one object, or a folder's objects one after the other with ``-r``."""
    for option in ("sync", "no_checksum"):
        if getattr(args, option):
            raise UsageError(_NEEDS_ENGINE.format(option="--" + option.replace("_", "-")))
    options = credentials_options.resolver_for(args)
    source = _item(options, args.src)
    pairs = list(_copy_pairs(args, options, source))
    total = sum(size for _, _, size in pairs)
    progress = Progress.for_args(args, total, len(pairs))
    copied = []
    try:
        for src, dst_url, size in pairs:
            target = _copy_one(options, src, dst_url, size, progress)
            progress.done_object(f"copied {src.url} -> {target.url} ({human_size(size)})")
            copied.append({"src": src.url, "dst": target.url, "size": size})
    finally:
        progress.finish()
    emit(args, {"copied": copied, "bytes": total}, None)
    return 0


def _copy_pairs(
    args: argparse.Namespace, options: credentials_options.CredentialOptions, source: Any
) -> Iterator[tuple[Any, str, int]]:
    """(source item, target URL, size) for every object to copy."""
    if not args.recursive:
        info = source.stat()
        if info.is_dir:
            raise UsageError(f"{source.url} is a folder; use cp -r")
        yield source, _target_url(args.dst, source.store_url.name), info.size
        return
    base = args.dst if args.dst.endswith("/") else args.dst + "/"
    for relative, info in _walk(source):
        yield _on_store(source, info.url), base + relative, info.size


def _target_url(dst: str, name: str) -> str:
    """``dst`` itself, or ``dst/name`` when it names a folder (``.../`` or a local directory)."""
    if dst.endswith("/") or ("://" not in dst and os.path.isdir(dst)):
        return dst.rstrip("/") + "/" + name
    return dst


def _copy_one(
    options: credentials_options.CredentialOptions,
    src: Any,
    dst_url: str,
    size: int,
    progress: Progress,
) -> Any:
    """Server-side within one store (``copy_to``); otherwise streamed in bounded chunks."""
    target = _item(options, dst_url)
    if target.store is src.store:
        src.copy_to(target)
        progress.advance(size)
        return target
    with src.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(_CHUNK):
            writer.write(chunk)
            progress.advance(len(chunk))
    return target


def _walk(folder: Any) -> Iterator[tuple[str, Any]]:
    """(path relative to ``folder``, FileStat) of every object below it, sequentially."""
    pending, prefix, seen = [folder], folder.url.rstrip("/") + "/", 0
    while pending:
        current = pending.pop()
        for info in current.ls(detail=True):
            if info.is_dir:
                pending.append(_child(current, info))
                continue
            seen += 1
            if seen > MAX_RECURSIVE_OBJECTS:
                raise UsageError(
                    f"more than {MAX_RECURSIVE_OBJECTS} objects below {folder.url}; "
                    "-r is for small folders in this release"
                )
            yield info.url.removeprefix(prefix), info


def _child(parent: Any, info: Any) -> Any:
    """The DataItem of a sub-folder, on the parent's store (same credentials)."""
    return _on_store(parent, info.url.rstrip("/") + "/")


def _on_store(parent: Any, url: str) -> Any:
    """A DataItem for ``url`` sharing ``parent``'s store: no second credential lookup."""
    from orchestore.items import DataItem
    from orchestore.urls import parse_url

    return DataItem(parse_url(url), parent.store)


# -- ls / stat / cat / rm / check -----------------------------------------------------------------
def run_ls(args: argparse.Namespace) -> int:
    """List a folder's children (or every object below it with ``-r``)."""
    folder = _item(credentials_options.resolver_for(args), args.url)
    entries = [info for _, info in _walk(folder)] if args.recursive else folder.ls(detail=True)
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
