"""A DataStoreHook per call reuses the credentials its connection resolved to, and sees a
changed connection at once (connections come from Airflow's own lookup)."""

from __future__ import annotations

import json
import os

import pytest

from orchestore.airflow.connections import ConnectionSource
from orchestore.airflow.hooks import DataStoreHook
from orchestore.airflow.hooks.base import _connection_digest

CONN_ID = "orchestore_cache_test"


def _set_connection(monkeypatch: pytest.MonkeyPatch, secret: str, **extra: object) -> None:
    connection = {
        "conn_type": "aws",
        "login": "AKIACACHETEST",
        "password": secret,
        "extra": {"endpoint_url": "http://127.0.0.1:9", "region_name": "us-east-1", **extra},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))


def test_hooks_per_call_share_the_resolved_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_connection(monkeypatch, "first-" + os.urandom(4).hex())
    first = DataStoreHook(CONN_ID).credentials_for("s3://bucket/a.bin")
    again = DataStoreHook(CONN_ID).credentials_for("s3://bucket/b.bin")
    assert first is not None and again is first
    assert DataStoreHook(CONN_ID).item("s3://bucket/a.bin").store is (
        DataStoreHook(CONN_ID).item("s3://bucket/c.bin").store
    )


def test_a_changed_connection_is_seen_by_the_next_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_connection(monkeypatch, "before-" + os.urandom(4).hex())
    before = DataStoreHook(CONN_ID).credentials_for("s3://bucket/a.bin")
    _set_connection(monkeypatch, "after-" + os.urandom(4).hex())
    after = DataStoreHook(CONN_ID).credentials_for("s3://bucket/a.bin")
    assert before is not None and after is not None
    assert before.fingerprint() != after.fingerprint()  # compared by digest: nothing printed
    assert (
        DataStoreHook(CONN_ID).item("s3://bucket/a.bin").store.credentials.fingerprint()
        == after.fingerprint()
    )


def test_connections_reading_vault_are_resolved_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _set_connection(monkeypatch, "x", vault_path="secret/s3", vault_conn_id="vault_default")
    source = ConnectionSource(DataStoreHook.get_connection(CONN_ID), DataStoreHook.get_connection)
    assert _connection_digest(source, "s3") is None  # a rotated secret must be seen
    _set_connection(monkeypatch, "x")
    source = ConnectionSource(DataStoreHook.get_connection(CONN_ID), DataStoreHook.get_connection)
    assert _connection_digest(source, "s3") is not None
