"""Run StoreKeyTrigger as the triggerer would, in this (child) process; print its events.

``python trigger_child.py CASES_JSON``: each case is ``{"url", "conn_id", "poke_interval",
"create_after": seconds or null, "create": [bucket, key] or null}``. The trigger is rebuilt
from its own ``serialize()`` output after a JSON round trip (what the triggerer stores), then
its first event is awaited. An error event is also passed to ``raise_for_event`` and the
raised exception's type and message are reported. Connections come from AIRFLOW_CONN_*.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import threading
from typing import Any


def _rebuilt(url: str, conn_id: str | None, poke_interval: float) -> Any:
    from orchestore.airflow.triggers.store_key import StoreKeyTrigger

    classpath, kwargs = StoreKeyTrigger(url, conn_id, poke_interval).serialize()
    module, _, name = classpath.rpartition(".")
    stored = json.loads(json.dumps(kwargs))  # what survives the trip to the triggerer
    return getattr(importlib.import_module(module), name)(**stored), classpath, stored


async def _first_event(trigger: Any) -> dict[str, Any]:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("the trigger ended without an event")


def _run(case: dict[str, Any]) -> dict[str, Any]:
    from orchestore.airflow.triggers.store_key import raise_for_event

    trigger, classpath, kwargs = _rebuilt(case["url"], case["conn_id"], case["poke_interval"])
    timer = None
    if case.get("create"):
        import boto3

        bucket, key = case["create"]
        client = boto3.client("s3", **case["client"])
        timer = threading.Timer(
            case["create_after"],
            client.put_object,
            kwargs={"Bucket": bucket, "Key": key, "Body": b"done"},
        )
        timer.start()
    payload = asyncio.run(_first_event(trigger))
    if timer is not None:
        timer.join()
    raised = None
    try:
        raise_for_event(payload)
    except Exception as exc:
        raised = {"type": type(exc).__name__, "message": str(exc)}
    return {"classpath": classpath, "kwargs": kwargs, "event": payload, "raised": raised}


if __name__ == "__main__":
    print(json.dumps([_run(case) for case in json.loads(sys.argv[1])]))
