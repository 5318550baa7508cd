"""Fixtures of the transfer engine's tests: any store of the contract suite, by id."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.contract.conftest import SPECS, StoreCase

_BY_ID = {spec.id: spec for spec in SPECS}


@pytest.fixture
def store_case(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], StoreCase]:
    """Builds a fresh case (a folder, its credentials, a seeder) of the store named by id."""
    made = 0

    def make(store_id: str) -> StoreCase:
        nonlocal made
        made += 1
        folder = tmp_path / f"case-{made}"
        folder.mkdir()
        return _BY_ID[store_id].make(request, folder)

    return make


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
