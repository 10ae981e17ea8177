"""MCP fixtures: one `Site` (folder, config, tokens) and one ``agentcron serve`` shared by all
the MCP tests, and ``connect``, which runs a test over stdio and over streamable HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from mcp_harness import Connect, Site, http_session, start_serve, stdio_session, stop


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return asyncio.run(Site.make(tmp_path_factory.mktemp("mcp")))


@pytest.fixture(scope="session")
def served(site: Site) -> Iterator[str]:
    """``agentcron serve`` of the site; yields its base URL (MCP at ``/mcp``)."""
    proc, url = start_serve(site)
    try:
        yield url
    finally:
        stop(proc)
    assert "Traceback" not in (site.root / "serve.log").read_text()


@pytest.fixture(params=["stdio", "http"])
def connect(request: pytest.FixtureRequest, site: Site) -> Connect:
    """``async with connect("write") as session``: the SDK's client acting as that token of
    `TOKENS`, over the test's transport. Extra args go to ``agentcron mcp`` (stdio only)."""
    if request.param == "stdio":
        return lambda token, *args: stdio_session(site, token, *args)
    url = request.getfixturevalue("served")
    return lambda token, *args: http_session(f"{url}/mcp", site.secrets[token])
