"""A real browser fills in the Add Connection form for a v3io connection and saves it.

Headless Debian chromium (``/usr/bin/chromium``, installed by ``make system-deps``; never a
Playwright browser download) logs into the api-server's UI as SimpleAuthManager's admin,
opens Add Connection, picks the v3io type and checks what a user sees: the relabelled
standard fields, every extra field the api-server serves, and a password input for the
access key. The form is then saved and the connection read back through the REST API.
Screenshots of the filled form (standard fields, then extra fields) are kept in the test's tmp
dir and in ``.artifacts/airflow-connection-form*.png`` (git-ignored).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.harness import ADMIN_PASSWORD, ADMIN_USER, ApiServer

# Outside CI a missing airflow skips; in CI (ORCHESTORE_REQUIRE_ALL=1) the fixture fails on it.
if importlib.util.find_spec("airflow") is None and os.environ.get("ORCHESTORE_REQUIRE_ALL") != "1":
    pytest.skip("needs the airflow virtual environment (.venv/airflow)", allow_module_level=True)

pytestmark = pytest.mark.airflow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REPO_ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO_ROOT / ".artifacts"
#: Tall enough for the whole Add Connection dialog to fit in one screenshot.
VIEWPORT = {"width": 1400, "height": 1800}
#: Generous per-action timeout: the React bundle loads slowly on 2 busy cores.
ACTION_TIMEOUT_MS = 30_000

CONN_ID = "ui_v3io_browser"
#: What a user types into the form; the access key must never come back from the server.
FORM_VALUES = {
    "host": "https://webapi.default-tenant.app.example.com",
    "schema": "bigdata",
    "password": "browser-typed-v3io-access-key-5b1e",
}
ROOT_URL = "v3io:///bigdata/raw"
#: The v3io form's standard fields as relabelled by the provider (port is hidden).
STANDARD_LABELS = {
    "host": "Web API URL",
    "schema": "Container",
    "login": "Username (basic auth only)",
    "password": "Access key (or basic-auth password)",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian chromium driven by Playwright (skips, visibly, without them)."""
    if not CHROMIUM.is_file():
        pytest.skip(f"no {CHROMIUM}: install Debian's chromium (make system-deps)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright (Python) is not installed in this environment")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, api_server: ApiServer) -> Iterator[Any]:
    """A fresh browser page, logged into the UI through SimpleAuthManager's login form."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(f"{api_server.url}/connections")
        # Not logged in: the UI sends us to the auth manager's login page first.
        page.get_by_label("Username").fill(ADMIN_USER)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{api_server.url}/connections")
        yield page
    finally:
        context.close()


def _v3io_meta(api_server: ApiServer) -> dict[str, Any]:
    entries = api_server.request("GET", "/ui/connections/hook_meta")
    return next(entry for entry in entries if entry["connection_type"] == "v3io")


def _keep_screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    """Screenshot the page into the test's tmp dir and copy it to .artifacts/."""
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / name)
    assert shot.stat().st_size > 10_000  # a real rendering, not a blank page
    return shot


def test_v3io_connection_form_in_the_browser(
    page: Any, api_server: ApiServer, tmp_path: Path
) -> None:
    meta = _v3io_meta(api_server)
    page.get_by_role("button", name="Add Connection").click()
    page.get_by_label("Connection ID").fill(CONN_ID)
    page.get_by_role("combobox", name="Connection Type").fill("V3IO")
    page.get_by_role("option", name=meta["hook_name"]).click()

    # The standard fields, relabelled; the access key is a password input.
    for name, label in STANDARD_LABELS.items():
        assert page.get_by_label(label, exact=True).get_attribute("name") == name, label
    assert page.locator("input[name='port']").count() == 0  # hidden by the provider
    access_key = page.locator("input[name='password']")
    assert access_key.get_attribute("type") == "password"
    for name, value in FORM_VALUES.items():
        page.locator(f"[name='{name}']").fill(value)
    # The typed access key is masked on screen: it is nowhere in the page's visible text.
    assert FORM_VALUES["password"] not in page.locator("body").inner_text()
    _keep_screenshot(page, tmp_path, "airflow-connection-form.png")

    # Every extra field the api-server serves for v3io is on the form, under its label.
    page.get_by_role("button", name="Extra Fields", exact=True).click()
    for name, field in meta["extra_fields"].items():
        label = field["schema"]["title"]
        assert page.get_by_text(label, exact=False).first.is_visible(), (name, label)
    page.locator("[name='element_root']").fill(ROOT_URL)
    _keep_screenshot(page, tmp_path, "airflow-connection-form-extras.png")

    page.get_by_role("button", name="Save").click()
    page.get_by_text(CONN_ID, exact=True).wait_for()  # the connections list shows it

    saved = api_server.request("GET", f"/api/v2/connections/{CONN_ID}")
    assert saved["conn_type"] == "v3io"
    assert saved["host"] == FORM_VALUES["host"]
    assert saved["schema"] == FORM_VALUES["schema"]
    # Custom fields are stored in extra under their plain names (no extra__v3io__ prefix).
    extra = json.loads(saved["extra"] or "{}")
    assert extra.get("root") == ROOT_URL, extra
    assert FORM_VALUES["password"] not in json.dumps(saved)
