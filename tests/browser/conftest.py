"""Browser tests: Playwright driving Debian's Chromium (``/usr/bin/chromium``; Playwright's own
browsers are never downloaded) against a real ``agentcron serve`` process.

Skipped, loudly, when Playwright or Chromium is missing; a failure instead under
``AGENTCRON_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .served import Served

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def _unavailable(reason: str) -> None:
    if os.environ.get("AGENTCRON_REQUIRE_BROWSER") == "1":
        pytest.fail(f"AGENTCRON_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(f"BROWSER TESTS SKIPPED: {reason} (set AGENTCRON_REQUIRE_BROWSER=1 to fail)")


@pytest.fixture(scope="module")  # not session: while it runs, async tests cannot (its loop)
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (its own context: empty local storage) that fails the test on JS errors."""
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``agentcron serve`` without tokens (the API and dashboard are open, on loopback)."""
    server = Served(tmp_path_factory.mktemp("serve"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def served_with_token(tmp_path: Path) -> Iterator[Served]:
    """``agentcron serve`` on a database that has a write token (``.token``)."""
    server = Served(tmp_path)
    server.create_token("write")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
