"""``orchestore``: the command line for people outside DAGs and flows.

argparse (stdlib) rather than Typer/Click: the core depends only on fsspec and pydantic, and
``orchestore --help`` must start fast, so nothing from orchestore (let alone a cloud SDK or
pandas) is imported until a command runs, and a store's SDK only when a URL of its scheme is
used.

Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 credentials problem. Errors go to
stderr as one line (a JSON object with ``--json``), built from orchestore's typed errors,
which never carry a secret.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from orchestore.cli import artifacts, credentials_options, objects, output
from orchestore.cli.output import EXIT_USAGE, UsageError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The parser with every command; each command module adds its own subparsers."""
    parser = argparse.ArgumentParser(
        prog="orchestore",
        description="Copy, list, read and check data at any orchestore URL "
        "(s3://, az://, gs://, v3io://, http(s)://, store://, ds://, local paths), "
        "with credentials from an Airflow connection, a Prefect block, Vault, a JSON file "
        "or (opt-in) MLRun-style env vars.",
        epilog="Exit codes: 0 ok, 1 operation failed, 2 usage error, 3 credentials problem.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    common = argparse.ArgumentParser(add_help=False)
    credentials_options.add_arguments(common)
    output.add_arguments(common)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    objects.add_parsers(commands, common)
    artifacts.add_parsers(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns (and, as a console script, exits with) its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from orchestore._version import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args) or 0)
    except UsageError as exc:
        if args.json:
            output.error(args.command, f"UsageError: {exc}", as_json=True, code=EXIT_USAGE)
            return EXIT_USAGE
        parser.exit(EXIT_USAGE, f"orchestore {args.command}: error: {exc}\n")
    except KeyboardInterrupt:
        output.error(args.command, "interrupted", as_json=args.json, code=130)
        return 130
    except BrokenPipeError:
        output.close_broken_stdout()
        return 0
    except Exception as exc:  # every failure becomes one line and an exit code
        return output.report_failure(args.command, exc, as_json=args.json)
    return 0  # pragma: no cover - parser.exit raises
