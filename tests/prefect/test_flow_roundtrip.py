"""orchestore inside a real Prefect flow run against a temporary API server, no mocks.

Checked from three places: the flow's return value, the flow run as the API server recorded it,
and the data itself (the file on disk; the memory item, visible here because the flow ran in
this process).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pandas as pd
import pytest

# Outside CI a missing prefect skips; in CI (ORCHESTORE_REQUIRE_ALL=1) the import below fails.
if importlib.util.find_spec("prefect") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the prefect virtual environment (.venv/prefect)", allow_module_level=True)

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType

import orchestore
from tests.prefect.roundtrip_flow import orchestore_roundtrip

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]

# Written by pandas via orchestore (no index, as the core promises), so exact bytes are known.
EXPECTED_CSV = "city,temp_c\nOslo,4.5\nLima,19.0\nPune,31.25\n"
EXPECTED_DF = pd.DataFrame({"city": ["Oslo", "Lima", "Pune"], "temp_c": [4.5, 19.0, 31.25]})


def test_flow_round_trips_csv_through_file_and_memory_urls(tmp_path: Path) -> None:
    """Both URLs are written by one task and read back by the next within one flow run."""
    data_file = tmp_path / "out" / "cities.csv"
    file_url = data_file.as_uri()
    memory_url = f"memory://{tmp_path.name}/cities.csv"  # unique per test: the store is global

    state = orchestore_roundtrip(file_url=file_url, memory_url=memory_url, return_state=True)

    assert state.is_completed(), state
    assert state.result() == {
        "file": {"url": file_url, "rows": 3},
        "memory": {"url": memory_url, "rows": 3},
    }

    # The API server saw a real, completed flow run.
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
    assert flow_run.state_type == StateType.COMPLETED
    assert flow_run.parameters == {"file_url": file_url, "memory_url": memory_url}

    # The data, read back here: the file independently of orchestore, memory through it.
    assert data_file.read_text() == EXPECTED_CSV
    pd.testing.assert_frame_equal(pd.read_csv(data_file), EXPECTED_DF)
    assert sorted(p.name for p in data_file.parent.iterdir()) == ["cities.csv"]
    assert orchestore.get_dataitem(memory_url).get() == EXPECTED_CSV.encode()
    assert orchestore.get_in_memory_item(f"{tmp_path.name}/cities.csv") == EXPECTED_CSV.encode()
