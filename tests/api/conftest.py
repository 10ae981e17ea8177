"""API test fixtures: an App on a real SQLite file, its API through `httpx.ASGITransport`
(unit level) or served by uvicorn on a free loopback port (real sockets), and tokens."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentcron import App
from agentcron.api import ApiServer, create_api
from agentcron.auth import AuthMode
from agentcron.clock import ManualClock

START = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)  # a Monday


def make_app(db_url: str, clock: ManualClock | None = None) -> App:
    app = App(db_url, clock=clock, maintenance=False)

    @app.task()
    async def hello(name: str = "world") -> str:
        return f"hello {name}"

    @app.task(retries=0)
    async def boom() -> None:
        raise RuntimeError("boom")

    @app.task()
    def report(day: str = "") -> str:
        return day

    return app


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'api.db'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def ac(db_url: str, clock: ManualClock) -> AsyncIterator[App]:
    """An open App (no scheduler or worker running) with tasks hello, boom and report."""
    app = make_app(db_url, clock)
    async with app:
        yield app


@pytest.fixture
def auth_mode() -> AuthMode:
    return "auto"


@pytest.fixture
async def client(ac: App, auth_mode: AuthMode) -> AsyncIterator[httpx.AsyncClient]:
    api = create_api(ac, auth=auth_mode)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://agentcron") as c:
        yield c


Mint = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def mint(ac: App) -> Mint:
    """``await mint("write", ["default"])``: a new token's Authorization header."""

    async def make(
        scope: str, namespaces: list[str] | None = None, name: str = ""
    ) -> dict[str, str]:
        _, secret = await ac.create_token(
            scope=scope, namespaces=namespaces or ["default"], name=name
        )
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
async def live(ac: App) -> AsyncIterator[str]:
    """The API served by uvicorn on a free loopback port, in this test's event loop."""
    async with ApiServer(create_api(ac), "127.0.0.1", 0) as server:
        yield server.url


@dataclass
class ThreadedServer:
    """An App and its API served on a free port by a thread with its own event loop (for
    synchronous clients such as schemathesis)."""

    url: str
    app: App
    loop: asyncio.AbstractEventLoop

    def call(self, work: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(30)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def threaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    db = tmp_path_factory.mktemp("threaded") / "api.db"
    loop = asyncio.new_event_loop()
    ready: dict[str, Any] = {}
    started = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        app = make_app(f"sqlite:///{db}")
        async with app, ApiServer(create_api(app), "127.0.0.1", 0) as server:
            ready.update(url=server.url, app=app)
            started.set()
            await stop.wait()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(serve())
        except BaseException as exc:  # surface start-up errors to the waiting test
            ready["error"] = exc
            started.set()

    thread = threading.Thread(target=main, name="api-server", daemon=True)
    thread.start()
    assert started.wait(30), "the API server did not start"
    if "error" in ready:
        raise ready["error"]
    try:
        yield ThreadedServer(ready["url"], ready["app"], loop)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
