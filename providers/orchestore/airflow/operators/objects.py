"""Copy, list and delete objects at any store URL, with credentials from Airflow connections.

Every URL and connection id is a templated field. What goes to XCom is URLs and figures, never
a credential: the URLs are the display form (no userinfo, no signed query values).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from orchestore.airflow.operators._common import ProgressLog, store_hook
from orchestore.urls import redact_url

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["StoreCopyOperator", "StoreDeleteOperator", "StoreListOperator"]


class StoreCopyOperator(BaseOperator):
    """Copy ``src`` to ``dst``, any scheme to any scheme, streamed (server-side when possible).

    ``dst_conn_id`` defaults to ``src_conn_id`` (one connection for a copy within one store,
    which then copies server-side). A ``dst`` ending in ``/`` is a folder: a single object
    lands in it under its own name, which is what
    ``StoreCopyOperator.partial(dst="az://c/in/").expand(src=listed_urls)`` needs. With
    ``recursive=True`` ``src`` is a folder whose keys keep their relative paths below ``dst``;
    ``sync=True`` skips objects already there with the same size and checksum. Progress goes
    to the task log every few seconds; the summary (objects, bytes, seconds, MB/s, checksums)
    is the return value.
    """

    template_fields: Sequence[str] = ("src", "dst", "src_conn_id", "dst_conn_id")
    ui_color = "#d6eaf8"

    def __init__(
        self,
        *,
        src: str,
        dst: str,
        src_conn_id: str | None = None,
        dst_conn_id: str | None = None,
        recursive: bool = False,
        sync: bool = False,
        overwrite: bool = True,
        checksum: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.src = src
        self.dst = dst
        self.src_conn_id = src_conn_id
        self.dst_conn_id = dst_conn_id
        self.recursive = recursive
        self.sync = sync
        self.overwrite = overwrite
        self.checksum = checksum

    def execute(self, context: Context) -> dict[str, Any]:
        mode = " (recursive)" if self.recursive else ""
        self.log.info("Copying %s to %s%s", redact_url(self.src), redact_url(self.dst), mode)
        # One hook for both ends: one endpoint with one set of credentials is one store
        # instance, which the transfer engine copies within server-side.
        with store_hook(self.src_conn_id) as hook:
            summary = hook.copy(
                self.src,
                self.dst,
                dst_conn_id=self.dst_conn_id,
                recursive=self.recursive,
                sync=self.sync,
                overwrite=self.overwrite,
                checksum=self.checksum,
                progress=ProgressLog(self.log),
            )
        self.log.info(
            "Copied %d object(s), skipped %d, %d bytes in %.2f s (%.2f MB/s); "
            "checksums verified: %s (%s)",
            summary.objects,
            summary.skipped,
            summary.bytes,
            summary.seconds,
            summary.mb_per_s,
            summary.checksums_verified,
            summary.checksum or "none",
        )
        return summary.as_dict()


class StoreListOperator(BaseOperator):
    """The URLs of the objects directly below the folder ``url`` (sorted; folders left out).

    ``pattern`` is a glob on the object's name (``*.csv``). The URLs keep the form ``url`` was
    given in, so a ``ds://<conn_id>/...`` folder lists ``ds://`` URLs that carry their
    connection into a mapped ``StoreCopyOperator``.
    """

    template_fields: Sequence[str] = ("url", "conn_id", "pattern")
    ui_color = "#d6eaf8"

    def __init__(
        self,
        *,
        url: str,
        conn_id: str | None = None,
        pattern: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.conn_id = conn_id
        self.pattern = pattern

    def execute(self, context: Context) -> list[str]:
        with store_hook(self.conn_id) as hook:
            folder = hook.item(self.url)
            entries = folder.ls(detail=True)
        base = self.url if self.url.endswith("/") else self.url + "/"
        listed = sorted(
            # A folder URL with a query (a SAS, a signature) must not pass it on to XCom: the
            # store's own URL of each entry is the display form, without it.
            (entry.name, entry.url if "?" in self.url else base + entry.name)
            for entry in entries
            if not entry.is_dir
            and (self.pattern is None or fnmatch.fnmatchcase(entry.name, self.pattern))
        )
        self.log.info(
            "Found %d object(s) in %s%s",
            len(listed),
            folder.url,
            f" matching {self.pattern!r}" if self.pattern else "",
        )
        return [url for _, url in listed]


class StoreDeleteOperator(BaseOperator):
    """Delete the object at ``url`` (a whole folder with ``recursive=True``); returns the URL.

    A missing object fails the task unless ``missing_ok=True``, so a typo is not a silent
    success.
    """

    template_fields: Sequence[str] = ("url", "conn_id")
    ui_color = "#fadbd8"

    def __init__(
        self,
        *,
        url: str,
        conn_id: str | None = None,
        recursive: bool = False,
        missing_ok: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.conn_id = conn_id
        self.recursive = recursive
        self.missing_ok = missing_ok

    def execute(self, context: Context) -> str:
        with store_hook(self.conn_id) as hook:
            item = hook.item(self.url)
            below = " and everything below it" if self.recursive else ""
            self.log.info("Deleting %s%s", item.url, below)
            item.delete(recursive=self.recursive, missing_ok=self.missing_ok)
        return item.url
