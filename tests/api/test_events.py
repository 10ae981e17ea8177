"""``/v1/events``: publish, and the SSE stream resuming after ``Last-Event-ID``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agentcron import App
from agentcron.api import ApiServer, create_api

from .conftest import make_app


@pytest.fixture
async def served(db_url: str) -> AsyncIterator[tuple[str, App]]:
    app = make_app(db_url)
    async with app, ApiServer(create_api(app), "127.0.0.1", 0) as server:
        yield server.url, app


async def read_events(response: httpx.Response, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields:
                out.append({"id": fields.get("id"), "event": fields.get("event"),
                            "data": json.loads(fields["data"])})  # fmt: skip
                if len(out) == count:
                    return out
            fields = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            fields[key] = value
    return out


async def test_publish_and_stream_resume(served: tuple[str, App]) -> None:
    url, _ = served
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        first = await http.post("/v1/events", json={"type": "user.signup", "data": {"n": 1},
                                                    "subject": "user:1"})  # fmt: skip
        assert first.status_code == 202, first.text
        event = first.json()
        assert (event["type"], event["data"], event["subject"]) == (
            "user.signup",
            {"n": 1},
            "user:1",
        )
        for n in (2, 3):
            await http.post("/v1/events", json={"type": "user.signup", "data": {"n": n}})
        await http.post("/v1/events", json={"type": "order.paid", "data": {}})
        headers = {"Last-Event-ID": str(event["id"])}
        params = {"pattern": "user.*"}
        async with http.stream("GET", "/v1/events/stream", headers=headers, params=params) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            got = await asyncio.wait_for(read_events(r, 2), 10)
        assert [e["data"]["data"]["n"] for e in got] == [2, 3]
        assert [e["event"] for e in got] == ["user.signup", "user.signup"]
        assert got[0]["id"] == str(event["id"] + 1)


async def test_live_events_reach_a_stream(served: tuple[str, App]) -> None:
    url, _ = served
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        async with http.stream("GET", "/v1/events/stream") as r:
            await asyncio.sleep(0.2)  # the stream has fixed its starting point
            await http.post("/v1/events", json={"type": "ping", "data": {"x": 1}})
            got = await asyncio.wait_for(read_events(r, 1), 10)
        assert got[0]["data"]["data"] == {"x": 1}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"type": "Not A Type"}, "type"), ({"type": "a.b", "data": [1]}, "data"),
     ({"type": "a.b", "subject": ""}, "subject"), ({}, "type")],
)  # fmt: skip
async def test_bad_events_are_422(
    served: tuple[str, App], body: dict[str, Any], field: str
) -> None:
    url, _ = served
    async with httpx.AsyncClient(base_url=url) as http:
        r = await http.post("/v1/events", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field
        bad = await http.get("/v1/events/stream", headers={"Last-Event-ID": "x"})
        assert bad.status_code == 422


async def test_stream_sees_only_the_tokens_namespace(db_url: str) -> None:
    app = make_app(db_url)
    async with app, ApiServer(create_api(app), "127.0.0.1", 0) as server:
        _, alpha = await app.create_token(scope="write", namespaces=["alpha"])
        headers = {"Authorization": f"Bearer {alpha}", "Last-Event-ID": "0"}
        await app.publish("x.y", {"ns": "default"})
        await app.publish("x.y", {"ns": "alpha"}, namespace="alpha")
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=10) as http,
            http.stream("GET", "/v1/events/stream", headers=headers) as r,
        ):
            got = await asyncio.wait_for(read_events(r, 1), 10)
        assert got[0]["data"]["data"] == {"ns": "alpha"}
