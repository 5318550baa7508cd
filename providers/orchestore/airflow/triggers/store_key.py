"""StoreKeyTrigger: the triggerer's half of ``StoreKeySensor(deferrable=True)``.

Everything the check needs is in ``serialize()``: the URL, the connection id and the interval
(losing the connection on the way to the triggerer is the cloud providers' most reported
deferrable bug). The connection, and those it names (its Vault connection, a catalog's
artifact connection), are read with ``aget_connection`` before anything else, never with the
sync call that can deadlock the triggerer's loop; the DataStoreHook then resolves credentials
from those prefetched connections exactly as in a worker (ds:// roots, Vault sections).

The stores' clients are synchronous, so resolving credentials (a Vault read) and each
``exists()`` check run in a worker thread (``asyncio.to_thread``): the event loop, shared with
every other trigger, never blocks on I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from orchestore import errors
from orchestore.airflow.connections import ConnectionSource, aget_connection
from orchestore.airflow.connections.base import extras_of
from orchestore.airflow.hooks import DS_SCHEME, DataStoreHook
from orchestore.errors import CredentialsError, OrchestoreError, StoreUnavailableError
from orchestore.items import DataItem

__all__ = ["PrefetchedConnectionsHook", "StoreKeyTrigger", "fetch_connections", "raise_for_event"]

#: extras naming another connection that resolving this one may need
_POINTERS = ("vault_conn_id", "artifact_conn_id")


class StoreKeyTrigger(BaseTrigger):
    """Fires once ``url`` exists; an error event when the check cannot be made at all.

    A store that is briefly unreachable (StoreUnavailableError) is checked again at the next
    interval; the sensor's timeout bounds the wait. Bad credentials, a malformed URL or a
    refused access end the wait at once with the typed error's class name and message.
    """

    def __init__(self, url: str, conn_id: str | None = None, poke_interval: float = 60.0) -> None:
        super().__init__()
        self.url = url
        self.conn_id = conn_id
        self.poke_interval = float(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"url": self.url, "conn_id": self.conn_id, "poke_interval": self.poke_interval},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            hook, item = await self._open()
        except OrchestoreError as exc:
            yield TriggerEvent(_error_event(self.url, exc, checks=0))
            return
        try:
            yield await self._wait_for(item)
        finally:
            hook.close()

    async def _wait_for(self, item: DataItem) -> TriggerEvent:
        """Check every ``poke_interval`` seconds until the object exists or a check fails."""
        checks = 0
        while True:
            checks += 1
            try:
                found = await asyncio.to_thread(item.exists)
            except StoreUnavailableError as exc:
                self.log.warning("Check %d of %s failed, trying again: %s", checks, item.url, exc)
                found = False
            except OrchestoreError as exc:
                return TriggerEvent(_error_event(item.url, exc, checks=checks))
            if found:
                self.log.info("%s exists (check %d)", item.url, checks)
                return TriggerEvent({"status": "success", "url": item.url, "checks": checks})
            self.log.info("%s does not exist yet (check %d)", item.url, checks)
            await asyncio.sleep(self.poke_interval)

    async def _open(self) -> tuple[DataStoreHook, DataItem]:
        """A hook and the DataItem; every connection is fetched first with ``aget_connection``.

        Resolving the credentials (which may read Vault with blocking I/O) runs in a thread.
        """
        first = self.url.removeprefix(DS_SCHEME).partition("/")[0] if _is_ds(self.url) else None
        connections = await fetch_connections([self.conn_id, first])
        hook = PrefetchedConnectionsHook(self.conn_id, connections)
        try:
            return hook, await asyncio.to_thread(hook.item, self.url)
        except BaseException:
            hook.close()
            raise


class PrefetchedConnectionsHook(DataStoreHook):
    """A DataStoreHook that looks connections up in a dict fetched beforehand (asynchronously),
    never with the sync ``get_connection`` a trigger must not call."""

    def __init__(self, conn_id: str | None, connections: dict[str, Any]) -> None:
        super().__init__(conn_id)
        self._fetched = connections

    def source(self, conn_id: str | None = None) -> ConnectionSource:
        conn_id = conn_id or self.conn_id
        if not conn_id:
            raise CredentialsError(f"{type(self).__name__} has no conn_id")
        return ConnectionSource(self._connection(conn_id), self._connection)

    def _connection(self, conn_id: str) -> Any:
        try:
            return self._fetched[conn_id]
        except KeyError:
            raise CredentialsError(
                f"connection '{conn_id}' was not fetched for the trigger: only the sensor's "
                "connection and those it names (vault_conn_id, artifact_conn_id) are"
            ) from None


async def fetch_connections(conn_ids: list[str | None]) -> dict[str, Any]:
    """``conn_ids`` and every connection they point at (Vault, artifact store), by id."""
    fetched: dict[str, Any] = {}
    pending = [conn_id for conn_id in conn_ids if conn_id]
    while pending:
        conn_id = pending.pop()
        if conn_id in fetched:
            continue
        conn = fetched[conn_id] = await aget_connection(conn_id)
        extra = extras_of(conn)
        pending += [extra[key] for key in _POINTERS if extra.get(key)]
    return fetched


def _is_ds(url: str) -> bool:
    return url.startswith(DS_SCHEME)


def _error_event(url: str, exc: OrchestoreError, *, checks: int) -> dict[str, Any]:
    # OrchestoreError messages never carry a secret's value (errors.py's contract).
    return {
        "status": "error",
        "url": url,
        "checks": checks,
        "error": type(exc).__name__,
        "message": exc.message,
    }


def raise_for_event(event: dict[str, Any]) -> None:
    """Raise the typed orchestore error an error event describes; return on success."""
    if event.get("status") == "success":
        return
    message = str(event.get("message") or "the trigger reported an error without a message")
    url = event.get("url")
    error_class = getattr(errors, str(event.get("error")), None)
    if not (isinstance(error_class, type) and issubclass(error_class, OrchestoreError)):
        error_class = OrchestoreError
    try:
        error = error_class(message, url=url)
    except TypeError:  # a subclass with its own signature (MissingDependencyError)
        error = OrchestoreError(f"{event.get('error')}: {message}", url=url)
    raise error
