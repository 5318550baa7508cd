"""Issue 11, item 12: nothing is ever unpickled implicitly.

Two proofs: the source tree neither imports a pickle-family module nor calls a loader that
unpickles (pandas.read_pickle, numpy.load(allow_pickle=True), torch.load, yaml.load ...); and a
booby-trapped pickle (it creates a marker file when loaded) stored under pickle-ish names in
the file and memory stores and the store:// catalog is read back through every read path
(get, open, as_df with and without a format, copy, download) without the marker appearing.
"""

from __future__ import annotations

import ast
import contextlib
import pickle
from collections import Counter
from pathlib import Path

import pytest

import orchestore

SOURCES = [Path("providers"), Path("prefect_blocks")]
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "marshal"}
FORBIDDEN_MODULES |= {"shelve", "jsonpickle", "pickletools"}
FORBIDDEN_CALLS = {"read_pickle", "unsafe_load", "full_load", "load_pickle"}


def _python_files() -> list[Path]:
    root = Path(__file__).resolve().parents[2]
    return sorted(p for base in SOURCES for p in (root / base).rglob("*.py"))


def test_no_source_file_imports_or_calls_an_unpickler() -> None:
    files = _python_files()
    assert len(files) > 50  # the scan really covers the package
    found = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            if FORBIDDEN_MODULES.intersection(names):
                found.append(f"{path}:{node.lineno} imports {names}")
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                keywords = {k.arg: k.value for k in node.keywords}
                allow = keywords.get("allow_pickle")
                if name in FORBIDDEN_CALLS or (
                    isinstance(allow, ast.Constant) and allow.value is True
                ):
                    found.append(f"{path}:{node.lineno} calls {name}")
                if name == "load" and isinstance(func, ast.Attribute):
                    owner = getattr(func.value, "id", "")
                    if owner in {"yaml", "torch", "np", "numpy"}:
                        found.append(f"{path}:{node.lineno} calls {owner}.load")
    assert found == []


class _Trap:
    """Unpickling this creates the marker file: proof that someone unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (open, (str(self.marker), "w"))


@pytest.fixture
def trap(tmp_path: Path) -> tuple[bytes, Path]:
    marker = tmp_path / "UNPICKLED"
    payload = pickle.dumps(_Trap(marker))
    pickle.loads(payload).close()  # the control: loading it does create the marker
    assert marker.exists()
    marker.unlink()
    return payload, marker


def _try_every_read(item: orchestore.DataItem, scratch: Path, tally: Counter) -> None:
    reads = [
        item.get,
        lambda: item.open("rb").close(),
        item.as_df,
        lambda: item.as_df(format="pickle"),
        lambda: item.as_df(format="parquet"),
        lambda: item.as_df(format="csv"),
        lambda: item.download(scratch / "downloaded"),
        lambda: orchestore.copy(item, f"memory://no-pickle-{scratch.name}/copied"),
    ]
    for read in reads:
        tally["bad inputs tried"] += 1
        with contextlib.suppress(Exception):  # garbage may fail to parse; only unpickling counts
            read()
        tally["bad inputs refused"] += 1  # read as bytes or refused: never unpickled


@pytest.mark.parametrize("name", ["data.pkl", "data.pickle", "data.joblib", "data.csv", "data"])
def test_a_pickle_on_file_and_memory_stores_is_never_loaded(
    trap: tuple[bytes, Path], tmp_path: Path, name: str, tally: Counter
) -> None:
    payload, marker = trap
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / name).write_bytes(payload)
    orchestore.set_in_memory_item(f"memory://no-pickle/{name}", payload)
    for url in (str(tmp_path / "files" / name), f"memory://no-pickle/{name}"):
        item = orchestore.get_dataitem(url)
        assert item.get() == payload  # bytes stay bytes
        _try_every_read(item, tmp_path, tally)
    assert not marker.exists()


def test_a_pickle_logged_as_an_artifact_is_never_loaded(
    trap: tuple[bytes, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally: Counter
) -> None:
    from orchestore.catalog import db

    payload, marker = trap
    monkeypatch.setenv(db.CATALOG_ENV, f"sqlite:///{tmp_path / 'catalog.db'}")
    monkeypatch.setenv("ORCHESTORE_ARTIFACT_ROOT", str(tmp_path / "root"))
    for key in ("model.pkl", "model"):
        url = orchestore.log_artifact("no-pickle", key, payload)
        item = orchestore.get_dataitem(url)
        assert item.get() == payload
        _try_every_read(item, tmp_path, tally)
    assert not marker.exists()
