"""``metadata`` and ``thread_id`` of a schedule through REST: created, shown, changed, reset,
validated (nothing stored on a bad value), and handed to the runs (``trigger`` info); and
``result_callback`` is not a REST field (the API never names code)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agentcron import App, ValidationError


async def create(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    body.setdefault("task", "hello")
    body.setdefault("trigger", "manual")
    return await client.post("/v1/schedules", json=body)


async def test_created_shown_changed_and_reset(client: httpx.AsyncClient) -> None:
    made = await create(client, name="m", metadata={"team": "growth", "n": [1, 2]},
                        thread_id="growth-room")  # fmt: skip
    assert made.status_code == 201, made.text
    assert (made.json()["metadata"], made.json()["thread_id"]) == (
        {"team": "growth", "n": [1, 2]}, "growth-room"
    )  # fmt: skip
    plain = await create(client, name="plain")
    assert (plain.json()["metadata"], plain.json()["thread_id"]) == ({}, None)

    patched = await client.patch("/v1/schedules/m", json={"metadata": {"team": "ops"}})
    assert (patched.json()["metadata"], patched.json()["thread_id"]) == ({"team": "ops"},
                                                                         "growth-room")  # fmt: skip
    reset = await client.patch("/v1/schedules/m", json={"metadata": None, "thread_id": None})
    assert (reset.json()["metadata"], reset.json()["thread_id"]) == ({}, None)
    assert (await client.get("/v1/schedules/m")).json() == reset.json()


async def test_runs_carry_them(client: httpx.AsyncClient) -> None:
    await create(client, name="m", metadata={"team": "growth"}, thread_id="room")
    run = (await client.post("/v1/schedules/m/trigger")).json()
    assert run["trigger"] == {"schedule": "m", "metadata": {"team": "growth"},
                              "thread_id": "room", "kind": "manual"}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"metadata": "text"}, "metadata"),
        ({"metadata": {"big": "x" * 20_000}}, "metadata"),
        ({"thread_id": ""}, "thread_id"),
        ({"thread_id": "t" * 201}, "thread_id"),
        ({"thread_id": 42}, "thread_id"),
        ({"result_callback": "os:system"}, "result_callback"),
    ],
)
async def test_bad_values_are_422_and_store_nothing(
    client: httpx.AsyncClient, ac: App, body: dict[str, Any], field: str
) -> None:
    r = await create(client, name="bad", **body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert (await client.get("/v1/schedules/bad")).status_code == 404
    assert ac.result_callbacks == {}


def test_python_schedule_takes_them(tmp_path: Any) -> None:
    app = App(f"sqlite:///{tmp_path / 'py.db'}", maintenance=False)
    spec = app.schedule("work", "manual", metadata={"a": 1}, thread_id="t")
    assert (spec.metadata, spec.thread_id) == ({"a": 1}, "t")
    with pytest.raises(ValidationError, match="must be a JSON object") as info:
        app.schedule("work", "manual", metadata=[1])
    assert info.value.field == "metadata"
