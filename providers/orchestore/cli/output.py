"""What the command prints: results (text or ``--json``), one-line errors, exit codes, progress.

Progress is a single redrawn line (bytes, rate, ETA, objects) when stdout is a terminal, and
an occasional plain status line when it is not, so logs and pipes stay readable. stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Final, TextIO

from orchestore.errors import (
    CredentialsError,
    InvalidURLError,
    OrchestoreError,
    PermissionDeniedError,
    VaultUnavailableError,
)

__all__ = [
    "EXIT_CREDENTIALS",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "Progress",
    "UsageError",
    "add_arguments",
    "emit",
    "error",
    "exit_code_for",
    "human_size",
    "report_failure",
]

EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_CREDENTIALS: Final = 3
#: seconds between redraws of the terminal progress line
_REDRAW_EVERY: Final = 0.2
#: seconds between plain status lines when stdout is not a terminal
_PLAIN_EVERY: Final = 10.0
_BAR_WIDTH: Final = 24
_SOURCES_HINT: Final = (
    "--airflow-conn ID, --prefect-block SLUG/NAME, --credentials-json FILE|-, "
    "--vault ADDR --vault-path MOUNT/PATH (+ --vault-token-file or another --vault-auth), "
    "or --allow-env"
)


class UsageError(Exception):
    """A bad combination of options or arguments: exit 2 with argparse's message format."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Output options shared by every command."""
    group = parser.add_argument_group("output")
    group.add_argument(
        "--json", action="store_true", help="print the result as JSON (for scripts); no progress"
    )
    group.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def emit(args: argparse.Namespace, result: Any, text: str | None) -> None:
    """Print ``result`` as JSON with ``--json``, else ``text`` (if any)."""
    if args.json:
        print(json.dumps(result, default=str, sort_keys=True))
    elif text is not None:
        print(text)


def error(command: str, message: str, *, as_json: bool = False, code: int = EXIT_FAILED) -> None:
    """One line on stderr: text, or with ``--json`` an object scripts can parse."""
    flat = " ".join(message.split())
    if as_json:
        kind, sep, text = flat.partition(": ")
        if not sep or " " in kind:
            kind, text = "error", flat
        line = {"command": command, "error": kind, "message": text, "exit_code": code}
        print(json.dumps(line, sort_keys=True), file=sys.stderr)
    else:
        print(f"orchestore {command}: {flat}", file=sys.stderr)


def exit_code_for(exc: BaseException) -> int:
    """3 for credentials problems (missing, refused, Vault down), 2 for a bad URL, else 1.

    A permission refusal counts as a credentials problem: the credentials in use are not
    allowed to do this. An unreachable Vault is one too: the credential source failed.
    """
    if isinstance(exc, CredentialsError | PermissionDeniedError | VaultUnavailableError):
        return EXIT_CREDENTIALS
    if isinstance(exc, InvalidURLError):
        return EXIT_USAGE
    return EXIT_FAILED


def report_failure(command: str, exc: BaseException, *, as_json: bool = False) -> int:
    """Print ``exc`` as one line (JSON with ``--json``) and return its exit code.

    orchestore's errors are built never to hold a secret; anything else (an SDK error that
    escaped a store's translation) is named by type only, because its text may echo a request.
    """
    if isinstance(exc, OrchestoreError):
        message = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, CredentialsError) and "looked for:" in exc.message:
            message = message.rstrip(".") + f". On the command line: {_SOURCES_HINT}."
    elif isinstance(exc, OSError) and exc.strerror:
        message = f"{type(exc).__name__}: {exc.strerror}" + (
            f": {exc.filename}" if exc.filename else ""
        )
    else:
        message = f"unexpected {type(exc).__name__} (details withheld: they may hold a secret)"
    code = exit_code_for(exc)
    error(command, message, as_json=as_json, code=code)
    return code


def close_broken_stdout() -> None:
    """After a closed pipe (``orchestore cat ... | head``), stop Python's flush from failing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def human_size(size: float) -> str:
    """1536 -> ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover - the loop always returns


class Progress:
    """Bytes, rate, ETA and objects for ``cp`` and ``log-artifact``.

    ``update`` takes the transfer engine's ``TransferProgress`` snapshots (its callback; the
    engine never calls it from two threads at once). ``bar`` redraws one line in place (a
    terminal); ``lines`` prints a plain status line at most every ``_PLAIN_EVERY`` seconds, so a
    long copy in a CI log shows it is alive and a short one prints nothing extra. Silent with
    ``--json`` or ``--quiet``. The command prints its result line itself.
    """

    def __init__(self, *, bar: bool, lines: bool, stream: TextIO | None = None) -> None:
        self.bar = bar
        self.lines = lines
        self.stream = stream or sys.stdout
        self.bytes_done = 0
        self.bytes_total: int | None = None
        self.objects_done = 0
        self.objects_total: int | None = None
        self.elapsed = 0.0
        self._started = time.monotonic()
        self._drawn = 0.0
        self._printed = self._started

    @classmethod
    def for_args(cls, args: argparse.Namespace) -> Progress:
        """A bar on a terminal, plain lines elsewhere, nothing for --json/--quiet."""
        quiet = args.json or args.quiet
        tty = sys.stdout.isatty()
        return cls(bar=tty and not quiet, lines=not tty and not quiet)

    def update(self, snapshot: Any) -> None:
        """A ``TransferProgress`` (bytes_done, bytes_total, objects_done, objects_total,
        elapsed): redraw the bar or print a line when it is time."""
        self.set(
            snapshot.bytes_done,
            snapshot.bytes_total,
            snapshot.objects_done,
            snapshot.objects_total,
            snapshot.elapsed,
        )

    def set(
        self,
        bytes_done: int,
        bytes_total: int | None,
        objects_done: int,
        objects_total: int | None,
        elapsed: float | None = None,
    ) -> None:
        """The current counts (for callers without a TransferProgress)."""
        self.bytes_done, self.bytes_total = bytes_done, bytes_total
        self.objects_done, self.objects_total = objects_done, objects_total
        now = time.monotonic()
        self.elapsed = elapsed if elapsed is not None else now - self._started
        if self.bar and now - self._drawn >= _REDRAW_EVERY:
            self._drawn = now
            self._draw()
        elif self.lines and now - self._printed >= _PLAIN_EVERY:
            self._printed = now
            print(self.render(), file=self.stream, flush=True)

    def finish(self) -> None:
        """Draw the final state and end the bar's line so later output starts on a fresh one."""
        if self.bar:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        self.stream.write("\r" + self.render() + "\x1b[K")
        self.stream.flush()

    def render(self) -> str:
        """``[#####-----]  40%  12.0 MiB/30.0 MiB  8.1 MiB/s  ETA 2s  0/1 objects``.

        Once every object is done the bar is full even when ``--sync`` skipped some bytes.
        """
        elapsed = max(self.elapsed, 1e-6)
        rate = self.bytes_done / elapsed
        finished = self.objects_total is not None and self.objects_done >= self.objects_total
        parts = []
        if self.bytes_total:
            fraction = 1.0 if finished else min(self.bytes_done / self.bytes_total, 1.0)
            filled = int(fraction * _BAR_WIDTH)
            parts.append("[" + "#" * filled + "-" * (_BAR_WIDTH - filled) + f"] {fraction:4.0%}")
            parts.append(f"{human_size(self.bytes_done)}/{human_size(self.bytes_total)}")
            left = 0.0 if finished else (self.bytes_total - self.bytes_done) / max(rate, 1e-9)
            eta = f"ETA {left:.0f}s" if rate > 0 or finished else "ETA -"
        else:
            parts.append(human_size(self.bytes_done))
            eta = f"{elapsed:.0f}s"
        total = "?" if self.objects_total is None else str(self.objects_total)
        parts += [f"{human_size(rate)}/s", eta, f"{self.objects_done}/{total} objects"]
        return "  ".join(parts)
