"""The dashboard's HTML without a browser (through ``httpx.ASGITransport``): what a page shows
to whom, escaping, headers, and serving under a prefix. Runs where Chromium is missing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from agentcron import App
from agentcron.api import create_api, mount


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    jobs = App(f"sqlite:///{tmp_path / 'dash.db'}", maintenance=False)

    @jobs.task()
    async def greet(name: str = "world") -> str:
        return f"hello {name}"

    async with jobs:
        yield jobs


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_api(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://agentcron") as c:
        yield c


async def _token(app: App, scope: str = "read", namespaces: tuple[str, ...] = ("default",)) -> str:
    _, secret = await app.create_token(scope=scope, namespaces=namespaces, name="t")
    return secret


async def test_the_page_shows_schedules_and_runs_escaped(
    app: App, client: httpx.AsyncClient
) -> None:
    await app.add_schedule("greet", "every 5m", name="digest", description="<script>x()</script>")
    run = await app.enqueue("greet", {"name": "<img src=x>"})
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert 'data-name="digest"' in html
    assert "&lt;script&gt;x()&lt;/script&gt;" in html
    assert "<script>x()" not in html
    assert f'id="runs-{run.id}"' in html
    assert 'data-post="/v1/runs/1/cancel"' in html
    assert 'data-needs-token="0"' in html


async def test_with_a_token_the_page_shows_only_the_form(
    app: App, client: httpx.AsyncClient
) -> None:
    await app.add_schedule("greet", "every 5m", name="secret-plan")
    secret = await _token(app)
    html = (await client.get("/")).text
    assert 'data-needs-token="1"' in html
    assert "secret-plan" not in html
    assert '<form id="login" class="card login">' in html  # not hidden

    refused = await client.get("/dashboard/panels")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    bad = await client.get("/dashboard/panels", headers={"Authorization": "Bearer ac_nope"})
    assert bad.status_code == 401

    ok = await client.get("/dashboard/panels", headers={"Authorization": f"Bearer {secret}"})
    assert ok.status_code == 200
    assert ok.text.lstrip().startswith('<section id="summary"')
    assert 'data-name="secret-plan"' in ok.text


async def test_a_token_sees_only_its_namespaces(app: App, client: httpx.AsyncClient) -> None:
    await app.add_schedule("greet", "every 5m", name="ours", namespace="team-a")
    await app.add_schedule("greet", "every 5m", name="theirs", namespace="team-b")
    await app.enqueue("greet", namespace="team-b")
    secret = await _token(app, namespaces=("team-a",))
    html = (
        await client.get("/dashboard/panels", headers={"Authorization": f"Bearer {secret}"})
    ).text
    assert 'data-name="ours"' in html
    assert "theirs" not in html
    assert "No runs yet." in html


async def test_static_files(client: httpx.AsyncClient) -> None:
    js = await client.get("/dashboard/static/dashboard.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert (await client.get("/dashboard/static/dashboard.css")).status_code == 200
    assert (await client.get("/dashboard/static/%2e%2e/routes.py")).status_code == 404
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/" not in paths
    assert "/dashboard/panels" not in paths


async def test_under_a_prefix_links_and_api_calls_use_it(app: App) -> None:
    web = FastAPI()
    mount(web, app, prefix="/jobs")
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as c:
        html = (await c.get("/jobs/")).text
        assert 'data-base="/jobs"' in html
        assert 'href="/jobs/dashboard/static/dashboard.css?v=' in html
        assert (await c.get("/jobs/dashboard/static/dashboard.js")).status_code == 200
        assert (await c.get("/jobs/dashboard/panels")).status_code == 200


async def test_the_summary_counts_in_words(app: App, client: httpx.AsyncClient) -> None:
    def counts(html: str) -> list[str]:
        return [" ".join(item.split()) for item in re.findall(r'<span class="n">(.*?)</li>',
                                                              html, re.S)]  # fmt: skip

    assert counts((await client.get("/")).text)[-2:] == [
        "0</span> schedules", "0</span> workers alive"
    ]  # fmt: skip
    await app.add_schedule("greet", "every 5m", name="one")
    assert counts((await client.get("/")).text)[-2] == "1</span> schedule"
