"""Whether obstore can run in this process: its runtime does not survive ``fork``.

obstore runs every request on one tokio runtime per process, started by its first call. A fork
copies the runtime's state but not its threads, and the child's first obstore call then hangs
(obstore 0.12.1, reproduced for S3 and Azure, even with a new client; a fork before the first
call is fine). Airflow forks task processes, Prefect and multiprocessing may too. So a child of
a process whose runtime was running moves its bytes through the SDK path of each store:
slower, never hung.
"""

from __future__ import annotations

import contextlib
import glob
import os

__all__ = ["mark_used", "runtime_usable"]

_runtime_in_parent = False
_inherited_dead_runtime = False
_used_here = False


def runtime_usable() -> bool:
    """Whether obstore calls can work in this process (see the module's note)."""
    return not _inherited_dead_runtime


def mark_used() -> None:
    """Record that this process built an obstore client (for systems without /proc)."""
    global _used_here
    _used_here = True


def _runtime_running() -> bool:
    """Whether obstore's runtime threads exist (Linux names them ``tokio-*``); elsewhere:
    whether this process built an obstore client."""
    names = glob.glob("/proc/self/task/*/comm")
    if not names:
        return _used_here
    for name in names:
        with contextlib.suppress(OSError), open(name) as comm:
            if comm.read().startswith("tokio-"):
                return True
    return False


def _before_fork() -> None:
    global _runtime_in_parent
    _runtime_in_parent = _inherited_dead_runtime or _runtime_running()


def _after_fork_in_child() -> None:
    global _inherited_dead_runtime
    _inherited_dead_runtime = _runtime_in_parent


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
