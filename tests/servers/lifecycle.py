"""The context-manager half every test server shares: ``with Server(...) as server:``."""

from __future__ import annotations

from typing import Any, TypeVar

_Server = TypeVar("_Server", bound="ManagedServer")


class ManagedServer:
    """A server with ``start()`` (returning itself) and ``stop()``, usable in a ``with``."""

    def start(self: _Server) -> _Server:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
