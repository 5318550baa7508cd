"""memory:// helpers, the StoreManager's cache and table, and the error tree."""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys
import threading

import pandas as pd
import pytest

import orchestore
from orchestore import (
    CredentialsError,
    HttpCredentials,
    MissingDependencyError,
    NotFoundError,
    OrchestoreError,
    StoreManager,
    UnsupportedOperationError,
)
from orchestore.manager import STORES


def test_in_memory_items_round_trip() -> None:
    url = orchestore.set_in_memory_item("mem-unit/greeting.txt", "hello")
    assert url == "memory://mem-unit/greeting.txt"
    assert orchestore.get_in_memory_item("mem-unit/greeting.txt") == b"hello"
    assert orchestore.get_dataitem(url).get() == b"hello"
    with pytest.raises(NotFoundError, match="memory://mem-unit/none"):
        orchestore.get_in_memory_item("memory://mem-unit/none")


def test_a_dataframe_item_is_returned_as_is() -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    orchestore.set_in_memory_item("mem-unit/frame", frame)
    assert orchestore.get_dataitem("memory://mem-unit/frame").as_df(format="csv") is frame
    with pytest.raises(UnsupportedOperationError, match="DataFrame"):
        orchestore.get_dataitem("memory://mem-unit/frame").get()


def test_memory_appends_are_thread_safe() -> None:
    item = orchestore.get_dataitem("memory://mem-unit/counter.log")

    def add(n: int) -> None:
        for _ in range(200):
            item.put(f"{n}\n", append=True)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = item.get().splitlines()
    assert len(lines) == 1600
    assert sorted(set(lines)) == [str(n).encode() for n in range(8)]


def test_manager_caches_per_endpoint_and_credentials() -> None:
    manager = StoreManager()
    a = HttpCredentials(token="token-a")
    assert manager.get_store("https://h.example/x", a) is manager.get_store(
        "https://h.example/y", HttpCredentials(token="token-a")
    )
    assert manager.get_store("https://h.example/x", a) is not manager.get_store(
        "https://h.example/x", HttpCredentials(token="token-b")
    )
    assert manager.get_store("https://h.example/x") is not manager.get_store("http://h.example/x")
    assert manager.get_store("https://other.example/x", a) is not manager.get_store(
        "https://h.example/x", a
    )
    assert manager.get_store("/tmp/a") is manager.get_store("file:///tmp/b")
    assert manager.get_store("/tmp/a", root="/tmp") is not manager.get_store("/tmp/a")
    assert len(manager) == 7
    manager.close()
    assert len(manager) == 0


def test_manager_is_thread_safe() -> None:
    manager = StoreManager()
    seen: list[object] = []
    barrier = threading.Barrier(16)

    def grab() -> None:
        barrier.wait()
        seen.append(manager.get_store("https://race.example/x", {"token": "t"}))

    threads = [threading.Thread(target=grab) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(store) for store in seen}) == 1


def test_fingerprint_is_not_the_secret() -> None:
    credentials = HttpCredentials(username="u", password="hunter2-password")
    fingerprint = credentials.fingerprint()
    assert "hunter2" not in fingerprint
    assert fingerprint == HttpCredentials(username="u", password="hunter2-password").fingerprint()
    assert fingerprint != HttpCredentials(username="u", password="other").fingerprint()


def test_wrong_credentials_type_or_field_is_named() -> None:
    with pytest.raises(CredentialsError, match="takes no credentials"):
        orchestore.get_dataitem("memory://x", HttpCredentials())
    with pytest.raises(CredentialsError, match="pasword"):
        orchestore.get_dataitem("https://h.example/x", {"username": "u", "pasword": "hunter2-leak"})
    with pytest.raises(CredentialsError) as raised:
        HttpCredentials(username="u", password=12345)  # type: ignore[arg-type]
    assert "12345" not in str(raised.value)


def test_every_family_has_an_importable_store() -> None:
    for family, (module, name, _extra) in STORES.items():
        store = getattr(importlib.import_module(module), name)
        assert store.family == family


def test_a_missing_sdk_names_the_extra() -> None:
    out = _run(
        "import sys; sys.modules['s3fs'] = None\n"
        "import orchestore\n"
        "try:\n    orchestore.get_dataitem('s3://bucket/key', {'anonymous': True})\n"
        "except orchestore.MissingDependencyError as e:\n    print(e.extra, e)\n"
    )
    assert out.startswith("s3 the s3:// store needs the 's3' extra")


def test_errors_form_one_tree_and_pickle() -> None:
    for name in orchestore.errors.__all__:
        assert issubclass(getattr(orchestore, name), OrchestoreError)
    error = NotFoundError("no such object", url="s3://b/k")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.url, str(copy)) == (
        NotFoundError,
        "s3://b/k",
        "s3://b/k: no such object",
    )
    missing = pickle.loads(pickle.dumps(MissingDependencyError("x", extra="s3")))
    assert missing.extra == "s3" and isinstance(missing, ImportError)


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout


def test_import_is_cheap() -> None:
    heavy = _run(
        "import sys, orchestore\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'pandas', 'boto3', 'botocore', 'azure', 'google', 'pyarrow', 's3fs', 'gcsfs', 'adlfs'}))"
    )
    assert heavy.strip() == "[]"


def test_missing_pandas_is_a_clear_error(tmp_path: object) -> None:
    out = _run(
        "import sys; sys.modules['pandas'] = None\n"
        "import orchestore\n"
        "item = orchestore.get_dataitem('memory://nopandas/x.csv'); item.put('a\\n1\\n')\n"
        "try:\n    item.as_df()\n"
        "except orchestore.MissingDependencyError as e:\n    print(type(e).__name__, e)\n"
    )
    expected = "DataFrame support needs the 'pandas' extra: pip install 'orchestore[pandas]'"
    assert out.strip() == f"MissingDependencyError {expected}"
