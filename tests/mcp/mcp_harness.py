"""What the MCP tests share: a folder with a config, a task module and API tokens in its SQLite
store (`Site`), and the SDK's own client, connected over stdio (``python -m agentcron mcp`` as
a subprocess) or over streamable HTTP (``agentcron serve`` on a free loopback port).

(``tests/mcp`` has no ``__init__.py`` on purpose: as a package it would be named ``mcp`` and
hide the SDK; so this module has a name no other test module has.)
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from agentcron import App
from agentcron.config import ENV_VARS
from agentcron.models import Schedule
from agentcron.store import create_store

TASKS = """
import agentcron

@agentcron.task
def digest(channel: str = "email") -> str:
    return channel

@agentcron.task
def nudge() -> None:
    pass
"""

# name -> (scope, namespaces); each test uses its own write token, so quotas do not mix
TOKENS: dict[str, tuple[str, list[str]]] = {
    "write": ("write", ["default"]),
    "read": ("read", ["default"]),
    "admin": ("admin", ["default"]),
    "team_b": ("write", ["team-b"]),
    "quota": ("write", ["default"]),
    "invalid": ("write", ["default"]),
    "isolation": ("write", ["default"]),
    "multi": ("write", ["default", "team-b"]),
}

Connect = Callable[..., contextlib.AbstractAsyncContextManager[ClientSession]]


@dataclass
class Site:
    """A folder with ``agentcron.toml`` (its db, a task module) and the tokens of `TOKENS`."""

    root: Path
    db: str
    secrets: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def make(cls, root: Path) -> Site:
        module = f"mcp_tasks_{root.name.replace('-', '_')}"
        (root / f"{module}.py").write_text(TASKS)
        db = f"sqlite:///{root / 'agentcron.db'}"
        (root / "agentcron.toml").write_text(f'[agentcron]\ndb = "{db}"\ntasks = ["{module}"]\n')
        site = cls(root, db)
        app = App(create_store(db), maintenance=False)
        await app.open(register=False)
        try:
            for name, (scope, namespaces) in TOKENS.items():
                token, secret = await app.create_token(
                    scope=scope, namespaces=namespaces, name=name
                )
                site.secrets[name], site.ids[name] = secret, token.id
        finally:
            await app.close()
        return site

    @property
    def config(self) -> Path:
        return self.root / "agentcron.toml"

    def prefix(self, token: str) -> str:
        """How the names of the schedules ``token`` creates through MCP start."""
        return f"mcp.{self.ids[token]}."

    async def stored(self) -> dict[str, Schedule]:
        """The schedules in the store (straight from it), by name."""
        store = create_store(self.db)
        await store.open()
        try:
            items, _ = await store.list_schedules(limit=10_000)
        finally:
            await store.close()
        return {s.name: s for s in items}


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS and k != "AGENTCRON_TOKEN"}
    return env | {"PYTHONUNBUFFERED": "1"} | extra


@contextlib.asynccontextmanager
async def stdio_session(site: Site, token: str, *args: str) -> AsyncIterator[ClientSession]:
    """``python -m agentcron mcp --config ... [args]``, the token in ``AGENTCRON_TOKEN``."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agentcron", "mcp", "--config", str(site.config), *args],
        env=child_env(AGENTCRON_TOKEN=site.secrets[token]),
        cwd=site.root,
    )
    with (site.root / "stdio.log").open("a") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, read_timeout_seconds=20) as session,
        ):
            await session.initialize()
            yield session


@contextlib.asynccontextmanager
async def http_session(url: str, secret: str) -> AsyncIterator[ClientSession]:
    """The SDK's streamable HTTP client, sending ``Authorization: Bearer <secret>``."""
    headers = {"Authorization": f"Bearer {secret}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=20) as client,
        streamable_http_client(url, http_client=client) as (read, write),
        ClientSession(read, write, read_timeout_seconds=20) as session,
    ):
        await session.initialize()
        yield session


def start_serve(site: Site) -> tuple[subprocess.Popen[bytes], str]:
    """``agentcron serve`` on a free loopback port, once it answers; returns it and its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    log_path = site.root / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentcron", "serve", "--config", str(site.config),
             "--port", str(port)],
            cwd=site.root, env=child_env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {log_path.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{url}/healthz", timeout=1)
            return proc, url
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"serve did not start: {log_path.read_text()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def call(session: ClientSession, tool: str, **arguments: Any) -> tuple[bool, Any]:
    """Call a tool; returns ``(is_error, the JSON of its one text content)``."""
    result = await session.call_tool(tool, arguments)
    (content,) = result.content
    assert content.type == "text"
    return bool(result.is_error), json.loads(content.text)


async def ok(session: ClientSession, tool: str, **arguments: Any) -> Any:
    error, data = await call(session, tool, **arguments)
    assert not error, data
    return data


async def refused(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool that must fail; returns its ``error`` object."""
    error, data = await call(session, tool, **arguments)
    assert error, data
    failure: dict[str, Any] = data["error"]
    return failure
