"""Every page of the service in Chromium against a real ``agentcron serve``: each request the
page makes goes to the server itself (nothing from a CDN, a font host or an icon host), and
Swagger UI at ``/docs`` really renders the API."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from .served import Served


@pytest.fixture
def requests(page: Any) -> list[str]:
    """Every URL the page requests, and every resource the browser refused to load."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.on(
        "requestfailed",  # blocked or unreachable; not a stream cut short by leaving the page
        lambda request: (
            seen.append(f"FAILED {request.url} {request.failure}")
            if "ERR_ABORTED" not in (request.failure or "")
            else None
        ),
    )
    page.on(
        "console",
        lambda message: (
            seen.append(f"REFUSED {message.text}")
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return seen


def _foreign(seen: list[str], server: Served) -> list[str]:
    """What does not come from ``server`` (data: URLs are part of the page itself)."""
    own = urlsplit(server.url).netloc
    return [
        url
        for url in seen
        if url.startswith(("FAILED", "REFUSED"))
        or (not url.startswith("data:") and urlsplit(url).netloc != own)
    ]


def test_docs_renders_swagger_ui_from_this_server(
    page: Any, served: Served, requests: list[str]
) -> None:
    from playwright.sync_api import expect

    page.goto(served.url + "/docs")
    operation = page.locator(".opblock", has_text="/v1/schedules").first
    expect(operation).to_be_visible()
    expect(page.locator(".info .title")).to_contain_text("agentcron")
    operation.click()  # opens: the operation's parameters and responses render
    expect(page.locator(".opblock-body").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert any(url.endswith("/docs/static/swagger-ui-bundle.js") for url in requests)
    assert any(url.endswith("/openapi.json") for url in requests)
    assert _foreign(requests, served) == []


def test_dashboard_loads_nothing_from_another_host(
    page: Any, served: Served, requests: list[str]
) -> None:
    from playwright.sync_api import expect

    page.goto(served.url + "/")
    expect(page.locator("#conn")).to_have_text(re.compile(r"^(live|polling every 2s)$"))
    page.goto(served.url + "/dashboard/panels")
    page.wait_for_load_state("networkidle")
    assert any("/dashboard/static/dashboard.js" in url for url in requests)
    assert _foreign(requests, served) == []


def test_token_form_page_loads_nothing_from_another_host(
    page: Any, served_with_token: Served, requests: list[str]
) -> None:
    page.goto(served_with_token.url + "/")
    page.wait_for_load_state("networkidle")
    page.goto(served_with_token.url + "/docs")
    page.locator(".opblock").first.wait_for()
    assert _foreign(requests, served_with_token) == []
