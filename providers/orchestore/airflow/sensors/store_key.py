"""StoreKeySensor: wait until an object exists at a store URL, in a worker or in the triggerer.

Poking checks ``exists()`` with the hook's one client. ``deferrable=True`` checks once in the
worker and, if the object is not there yet, hands the wait to ``StoreKeyTrigger``, freeing the
worker slot; the URL, the connection id and the interval travel in the trigger's kwargs, and
the trigger fetches the connection itself with ``aget_connection``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from orchestore.airflow.hooks import DataStoreHook

__all__ = ["StoreKeySensor"]


class StoreKeySensor(BaseSensorOperator):
    """Succeeds when ``url`` (any scheme; ``ds://<conn_id>/...`` too) names an existing object.

    Returns the URL (display form). Errors other than "not there yet" fail the task at once:
    bad credentials or a malformed URL never turn into a silent wait until the timeout.
    """

    template_fields: Sequence[str] = ("url", "conn_id")
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        url: str,
        conn_id: str | None = None,
        deferrable: bool = False,
        poke_interval: timedelta | float = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.url = url
        self.conn_id = conn_id
        self.deferrable = deferrable
        self._checked_url = url

    @cached_property
    def hook(self) -> DataStoreHook:
        """One hook (one client) for every poke of this task."""
        from orchestore.airflow.hooks import DataStoreHook

        return DataStoreHook(self.conn_id)

    def poke(self, context: Context) -> bool:
        item = self.hook.item(self.url)
        found = item.exists()
        self._checked_url = item.url
        self.log.info("%s %s", item.url, "exists" if found else "does not exist yet")
        return found

    def execute(self, context: Context) -> str:
        try:
            return self._wait(context)
        finally:
            if "hook" in self.__dict__:
                self.hook.close()

    def _wait(self, context: Context) -> str:
        if not self.deferrable:
            super().execute(context)
            return self._checked_url
        if self.poke(context):
            return self._checked_url
        from orchestore.airflow.triggers.store_key import StoreKeyTrigger

        self.log.info("Deferring: the triggerer checks every %.0f s", self.poke_interval)
        self.defer(
            trigger=StoreKeyTrigger(
                url=self.url, conn_id=self.conn_id, poke_interval=float(self.poke_interval)
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) if self.timeout else None,
        )
        raise AssertionError("defer() always raises")  # pragma: no cover

    def execute_complete(self, context: Context, event: dict[str, Any]) -> str:
        """Resume after the trigger fired: success, or fail with the trigger's message."""
        from orchestore.airflow.triggers.store_key import raise_for_event

        raise_for_event(event)
        self.log.info(
            "%s exists (found by the triggerer after %d check(s))", event["url"], event["checks"]
        )
        return str(event["url"])
