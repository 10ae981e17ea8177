"""``/docs`` without a browser: the page names only this server's files, they are served, the
policy header forbids every other host, and it works under a prefix (``mount``)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi import FastAPI

from agentcron import App
from agentcron.api import mount

_URL = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*'([^']+)'""")


def _urls(html: str) -> list[str]:
    return [a or b for a, b in _URL.findall(html)]


async def test_docs_page_loads_only_files_of_this_server(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    urls = _urls(page.text)
    assert "/docs/static/swagger-ui-bundle.js" in urls
    assert "/docs/static/swagger-ui.css" in urls
    assert "/openapi.json" in urls
    assert all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "cdn.jsdelivr.net" not in page.text
    assert "tiangolo.com" not in page.text
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url


async def test_docs_policy_allows_only_this_server_and_its_one_inline_script(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/docs")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "http" not in policy  # no other host is named
    assert len(re.findall(r"'sha256-[A-Za-z0-9+/=]+'", policy)) == 1
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


async def test_redoc_is_not_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/redoc")).status_code == 404


async def test_docs_under_a_prefix_point_into_the_prefix(tmp_path: Path) -> None:
    jobs = App(f"sqlite:///{tmp_path / 'p.db'}", maintenance=False)
    web = FastAPI()
    mount(web, jobs, prefix="/jobs")
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as c:
        page = await c.get("/jobs/docs")
        assert page.status_code == 200
        urls = _urls(page.text)
        assert "/jobs/docs/static/swagger-ui-bundle.js" in urls
        assert "/jobs/openapi.json" in urls
        assert (await c.get("/jobs/docs/static/swagger-ui.css")).status_code == 200
